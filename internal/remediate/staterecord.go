package remediate

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tripline-dev/tripline/internal/signing"
)

// State records: what the ledger accepts from the state topic.
//
// Anyone who can write to the state topic can write any record, so every
// record is judged before it counts for anything: its signature (when a
// signing key is configured), its size, whether it decodes and matches its
// key, and the times it carries against this instance's own clock. A
// record that fails is refused: ignored for every decision, counted,
// logged with its key and the reason, and listed for /readyz. The entry it
// would have replaced stays in force.
const (
	// MaxStateRecordBytes caps a state record's value: larger records are
	// refused when read, and the ledger clips what it writes to fit.
	MaxStateRecordBytes = 64 << 10
	// DefaultMaxClockSkew is how far ahead of this instance's clock a
	// state record's times may be, when LedgerConfig sets none.
	DefaultMaxClockSkew = 5 * time.Minute
	// MaxApprovalTimeout is the longest an approval may wait for an answer.
	MaxApprovalTimeout = 7 * 24 * time.Hour
	// recentRefusals is how many refused records the ledger lists.
	recentRefusals = 20
)

// Reasons a state record is refused, as counted in
// tripline_state_records_refused_total{reason}.
const (
	RefusedUnsigned     = "unsigned"
	RefusedOtherKey     = "other_key"
	RefusedBadSignature = "bad_signature"
	RefusedOversized    = "oversized"
	RefusedUndecodable  = "undecodable"
	RefusedFutureTime   = "future_time"
	// RefusedStillNeeded is a tombstone of a user's record the ledger
	// still needs (see Ledger.ForgetUsers): a replayed or forged one, or
	// one from an instance with a shorter ledger retention.
	RefusedStillNeeded = "still_needed"
)

// RefusedRecords lists every refusal reason, in a fixed order.
var RefusedRecords = []string{RefusedUnsigned, RefusedOtherKey, RefusedBadSignature, RefusedOversized, RefusedUndecodable, RefusedFutureTime, RefusedStillNeeded}

// RefusedRecord is a state record the ledger refused.
type RefusedRecord struct {
	Key    string
	Reason string
	Detail string
	At     time.Time
}

// stateDomain and tombstoneDomain separate a state record's signature from
// every other record's: a dead-letter or answer signature covers an even
// number of fields (key, value, then header pairs), a state signature an
// odd one, so neither can pass for the other.
const (
	stateDomain     = "tripline.state.v1"
	tombstoneDomain = "tripline.state.v1.tombstone"
)

// stateFields are the fields a state record's signature covers.
func stateFields(key string, value []byte) [][]byte {
	if value == nil {
		return [][]byte{[]byte(tombstoneDomain), []byte(key), nil}
	}
	return [][]byte{[]byte(stateDomain), []byte(key), value}
}

// refusal is why the ledger refuses a record: a reason code and a detail.
type refusal struct {
	reason string
	detail string
}

func (r *refusal) Error() string { return r.reason + ": " + r.detail }

func refuse(reason, format string, args ...any) *refusal {
	return &refusal{reason: reason, detail: fmt.Sprintf(format, args...)}
}

// verify checks a record's signature and size. It reports whether the
// record is signed under the previous key.
func (l *Ledger) verify(key string, value []byte, sig string) (previous bool, err *refusal) {
	if len(value) > MaxStateRecordBytes {
		return false, refuse(RefusedOversized, "value of %d bytes, over %d", len(value), MaxStateRecordBytes)
	}
	if value != nil && len(value) == 0 {
		return false, refuse(RefusedOversized, "empty value (cut off while decompressing, past the size bound, or written empty)")
	}
	if !l.keys.Signs() {
		return false, nil
	}
	previous, verr := l.keys.Verify(sig, stateFields(key, value)...)
	if verr != nil {
		return false, refuse(signing.Reason(verr), "%v", verr)
	}
	return previous, nil
}

// decodeStrict decodes value into v, refusing what does not decode.
func decodeStrict(value []byte, v any) *refusal {
	if err := json.Unmarshal(value, v); err != nil {
		return refuse(RefusedUndecodable, "%v", err)
	}
	return nil
}

// notAhead refuses the first of times that is more than the skew ahead of
// now.
func (l *Ledger) notAhead(now time.Time, times ...namedTime) *refusal {
	limit := now.Add(l.skew)
	for _, t := range times {
		if t.at.After(limit) {
			return refuse(RefusedFutureTime, "%s %s is more than %s ahead of this instance's clock (%s)",
				t.name, t.at.UTC().Format(time.RFC3339), l.skew, now.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// namedTime is one time a record carries, for the future-time check.
type namedTime struct {
	name string
	at   time.Time
}

// times lists the times a user entry carries.
func (e *UserEntry) times() []namedTime {
	var out []namedTime
	for _, s := range []*Stamp{e.Last, e.SuspendedBy} {
		if s != nil {
			out = append(out, namedTime{"action time", s.At}, namedTime{"hold time", s.Hold})
		}
	}
	if e.Refused != nil {
		out = append(out, namedTime{"refusal time", e.Refused.At})
	}
	out = append(out, namedTime{"reactivation time", e.ReactivatedSeen})
	for rule, at := range e.Cooldowns {
		out = append(out, namedTime{"cooldown of rule " + clipName(rule), at})
	}
	if ct := e.Containment; ct != nil {
		out = append(out, namedTime{"timed suspension start", ct.Since}, namedTime{"timed suspension end time", ct.EndingSince},
			namedTime{"timed suspension end (start + the longest timed suspension)", ct.Ends.Add(-MaxContainment)})
	}
	for rule, times := range e.Contained {
		for _, at := range times {
			out = append(out, namedTime{"containment by rule " + clipName(rule), at})
		}
	}
	return out
}

// times lists the times an approval carries; an approval that would wait
// longer than MaxApprovalTimeout is refused as dated ahead too.
func (a *Approval) times() []namedTime {
	return []namedTime{{"creation time", a.Created}, {"decision time", a.DecidedAt},
		{"expiry (creation time + the longest approval timeout)", a.Expires.Add(-MaxApprovalTimeout)}}
}

func clipName(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// encode turns v into a state record's value of at most
// MaxStateRecordBytes, calling shrink (which must make v smaller each time
// it reports true) until it fits.
func encode(v any, shrink func() bool) ([]byte, error) {
	for {
		value, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		if len(value) <= MaxStateRecordBytes {
			return value, nil
		}
		if shrink == nil || !shrink() {
			return nil, fmt.Errorf("record of %d bytes does not fit in %d", len(value), MaxStateRecordBytes)
		}
	}
}

// clipText cuts s to at most n bytes.
func clipText(s *string, n int) bool {
	if len(*s) <= n {
		return false
	}
	*s = (*s)[:n]
	return true
}

// shrink makes a user entry smaller: the refusal's text first, then the
// oldest remembered events, then the oldest cooldowns.
func (e *UserEntry) shrink() bool {
	clipped := false
	for _, st := range []*Stamp{e.Last, e.SuspendedBy} {
		if st != nil {
			clipped = clipText(&st.Event, maxEventIDLen) || clipText(&st.Rule, maxEventIDLen) || clipped
		}
	}
	if e.Refused != nil {
		clipped = clipText(&e.Refused.Reason, 512) || clipText(&e.Refused.Rule, maxEventIDLen) || clipped
	}
	if clipped {
		return true
	}
	if len(e.Events) > 0 {
		e.Events = e.Events[1:]
		return true
	}
	if len(e.Cooldowns) == 0 {
		return false
	}
	// The oldest tenth (at least one) at a time, so a huge entry fits in a
	// few rounds.
	rules := slices.SortedFunc(maps.Keys(e.Cooldowns), func(a, b string) int {
		if c := e.Cooldowns[a].Compare(e.Cooldowns[b]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	for _, rule := range rules[:max(1, len(rules)/10)] {
		delete(e.Cooldowns, rule)
	}
	return true
}

// shrink makes an approval smaller by clipping its free texts.
func (a *Approval) shrink() bool {
	changed := false
	for _, s := range []*string{&a.Reason, &a.Failure, &a.DenyReason, &a.UserEmail, &a.Severity} {
		changed = clipText(s, 1024) || changed
	}
	if !changed {
		for _, s := range []*string{&a.Reason, &a.Failure, &a.DenyReason} {
			changed = clipText(s, len(*s)/2) || changed
		}
	}
	return changed
}

// shrink makes a breaker entry smaller by clipping its free texts.
func (b *BreakerEntry) shrink() bool {
	return clipText(&b.Reason, 1024) || clipText(&b.By, 256)
}

var errNoStore = errors.New("ledger: no store")
