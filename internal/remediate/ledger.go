package remediate

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tripline-dev/tripline/internal/signing"
)

// Keys of the ledger's records. Records are keyed per user and per breaker
// scope, so compaction keeps one record per user and per scope and the
// state topic stays bounded by the number of users tripline ever acted on.
const (
	userKeyPrefix     = "user/"
	breakerKeyPrefix  = "breaker/"
	holdKeyPrefix     = "hold/"
	approvalKeyPrefix = "approval/"
	messageKeyPrefix  = "approval-message/"
)

// Ledger bounds.
const (
	// recentEvents is how many event ids a user's record remembers.
	recentEvents = 16
	// maxEventIDLen bounds a remembered event id.
	maxEventIDLen = 256
	// suspensionHistory is how long suspensions are kept for the breakers'
	// sliding windows: a breaker window longer than this is refused.
	suspensionHistory = 7 * 24 * time.Hour
	// cooldownHistory is how long a rule's last action on a user is kept.
	cooldownHistory = 30 * 24 * time.Hour
)

// MaxBreakerWindow is the longest window a breaker cap may have.
const MaxBreakerWindow = suspensionHistory

// Stamp says which rule did what, for which event, when, and by which
// instance.
type Stamp struct {
	Rule     string    `json:"rule"`
	Event    string    `json:"event,omitempty"`
	Action   string    `json:"action"`
	Result   string    `json:"result"`
	Before   string    `json:"before,omitempty"`
	At       time.Time `json:"at"`
	Instance string    `json:"instance,omitempty"`
	// Hold is the time of the breaker hold a suspension was made under
	// (zero when no breaker capped it): the suspension and its hold count
	// once.
	Hold time.Time `json:"hold,omitzero"`
}

// Hold is a breaker slot, written to the ledger before a suspension in a
// capped scope is carried out, so that every instance counts the
// suspensions the others have in flight, not only those they finished. The
// user's record (SuspendedBy.Hold) confirms it; a hold whose suspension did
// not happen is released; one neither confirmed nor released within
// holdTimeout (its instance died mid-call) counts as a suspension.
type Hold struct {
	UserID   string    `json:"user_id"`
	Rule     string    `json:"rule"`
	At       time.Time `json:"at"`
	Instance string    `json:"instance,omitempty"`
	Released bool      `json:"released,omitempty"`
}

// Refusal is the API's refusal to suspend a user.
type Refusal struct {
	Rule   string    `json:"rule"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// UserEntry is the ledger's record of one user.
type UserEntry struct {
	UserID string `json:"user_id"`
	// Last is the last action tripline carried out on the user.
	Last *Stamp `json:"last,omitempty"`
	// Events are the ids of the last events that led to an action on the
	// user, oldest first.
	Events []string `json:"events,omitempty"`
	// Cooldowns maps a rule id to the time of its last action on the user
	// that succeeded.
	Cooldowns map[string]time.Time `json:"cooldowns,omitempty"`
	// SuspendedBy is set when tripline suspended the user from ACTIVE and
	// has not reactivated them since: the provenance a reactivation needs.
	SuspendedBy *Stamp `json:"suspended_by,omitempty"`
	// ReactivatedSeen is when tripline first saw the user ACTIVE again
	// after SuspendedBy: a person reactivated them.
	ReactivatedSeen time.Time `json:"reactivated_seen,omitzero"`
	// Refused is the API's last refusal to suspend the user.
	Refused *Refusal `json:"refused,omitempty"`
	// Containment is tripline's timed suspension of the user in force.
	Containment *Containment `json:"containment,omitempty"`
	// Contained are the times each rule contained the user within 30
	// days, for suspend_for's escalation.
	Contained map[string][]time.Time `json:"contained,omitempty"`
	// cooldownOfLast says, in an entry the ledger holds, that its only
	// cooldown is its last action's rule and time (see compactLocked).
	cooldownOfLast bool
}

// BreakerEntry is the ledger's record of one breaker scope.
type BreakerEntry struct {
	Scope string `json:"scope"`
	Open  bool   `json:"open"`
	// At is when it tripped (Open) or was re-armed.
	At       time.Time `json:"at"`
	By       string    `json:"by,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Instance string    `json:"instance,omitempty"`
	// Count and Limit are the figures that tripped it.
	Count  int           `json:"count,omitempty"`
	Cap    int           `json:"cap,omitempty"`
	Window time.Duration `json:"window,omitempty"`
}

// suspension is one suspension tripline made or holds a slot for, for the
// breakers' windows; at is its hold's time when it had one.
type suspension struct {
	at   time.Time
	rule string
	user string
}

// Ledger is the table of what tripline did, shared by every instance
// through its Store: per user, the last action, its rule and event and the
// state before it, the refusals of the API; per breaker scope, its trips
// and re-arms. Apply feeds it every record of the store (at load, from
// other instances, and this instance's own writes), and judges each one
// first (see MaxStateRecordBytes): a record it refuses counts for nothing.
// It is safe for concurrent use.
type Ledger struct {
	store    Store
	log      *slog.Logger
	instance string
	keys     *signing.Keyring
	skew     time.Duration
	now      func() time.Time
	// retention is how long a user's record nothing needs is kept after
	// its last activity.
	retention time.Duration

	mu          sync.Mutex
	users       map[string]*UserEntry
	interned    map[string]string // texts shared between user entries (see intern)
	breakers    map[string]BreakerEntry
	approvals   map[string]*Approval
	messages    map[string]ApprovalMessage
	exceptions  map[string]Exception
	suspensions *windowIndex // the suspensions the breakers count, holds not yet confirmed included
	seen        map[suspension]struct{}
	pending     map[suspension]time.Time // holds neither confirmed nor released, and when this instance applied them
	holdOf      map[string]suspension    // the latest pending hold of each user
	changed     *sync.Cond               // signalled when a record is applied
	gen         uint64                   // records applied so far
	waiting     map[*waiter]struct{}     // decisions waiting for holds in flight
	refusals    map[string]int64         // refused records by reason
	recent      []RefusedRecord          // the latest refused records, oldest first
	previous    map[string]struct{}      // keys whose record is signed under the previous key
	reassert    map[string]struct{}      // keys whose valid entry a refused record tried to replace
	signedSeen  int                      // records applied with a signature the ledger did not check (no key)
	kick        chan struct{}            // wakes Run when reassert is not empty
}

// LedgerConfig configures a Ledger.
type LedgerConfig struct {
	// Instance names this process in the records it writes.
	Instance string
	// Keys sign every record the ledger writes and verify every record it
	// reads: with a current key, a record that is unsigned or signed under
	// another key is refused. Without one, records are neither signed nor
	// checked (the state topic is not authenticated).
	Keys *signing.Keyring
	// MaxClockSkew: a record carrying a time further ahead of Now is
	// refused (0: DefaultMaxClockSkew).
	MaxClockSkew time.Duration
	// Now is this instance's clock (default time.Now).
	Now func() time.Time
	// Retention is how long a user's record that nothing needs any more
	// is kept after its last activity (0: DefaultLedgerRetention); see
	// ForgetUsers.
	Retention time.Duration
	Logger    *slog.Logger
}

// NewLedger returns an empty ledger that writes through store (nil: it
// cannot write until SetStore).
func NewLedger(store Store, cfg LedgerConfig) *Ledger {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxClockSkew <= 0 {
		cfg.MaxClockSkew = DefaultMaxClockSkew
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultLedgerRetention
	}
	l := &Ledger{
		store: store, instance: cfg.Instance, log: cfg.Logger, keys: cfg.Keys, skew: cfg.MaxClockSkew, now: cfg.Now,
		retention:  cfg.Retention,
		users:      map[string]*UserEntry{},
		breakers:   map[string]BreakerEntry{},
		approvals:  map[string]*Approval{},
		interned:   map[string]string{},
		messages:   map[string]ApprovalMessage{},
		exceptions: map[string]Exception{},
		seen:       map[suspension]struct{}{},
		pending:    map[suspension]time.Time{},
		holdOf:     map[string]suspension{},
		waiting:    map[*waiter]struct{}{},
		refusals:   map[string]int64{},
		previous:   map[string]struct{}{},
		reassert:   map[string]struct{}{},
		kick:       make(chan struct{}, 1),
	}
	l.changed = sync.NewCond(&l.mu)
	l.suspensions = newWindowIndex()
	return l
}

// SetStore sets the store the ledger writes through, for stores that are
// built after the ledger because they feed it (see ledger.Table).
func (l *Ledger) SetStore(s Store) { l.store = s }

// Authenticated reports whether the ledger signs its records and refuses
// those that are not signed under its keys.
func (l *Ledger) Authenticated() bool { return l.keys.Signs() }

// Apply takes one record of the store, signed with signature ("" for
// none). It judges the record first (see MaxStateRecordBytes); a record it
// refuses is ignored, counted and logged, never fatal, and the entry it
// would have replaced stays in force.
func (l *Ledger) Apply(key string, value []byte, signature string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	defer l.changed.Broadcast()
	l.gen++
	previous, err := l.verify(key, value, signature)
	if err == nil {
		err = l.applyLocked(key, value)
	}
	if err != nil {
		l.refuseLocked(key, err)
		return
	}
	if signature != "" && !l.keys.Signs() {
		l.signedSeen++
	}
	if previous {
		l.previous[key] = struct{}{}
	} else {
		delete(l.previous, key)
	}
}

// SignedSeen counts the records applied with a signature while the ledger
// has no key to check it: instances that sign write this topic, and would
// refuse what this ledger writes unsigned.
func (l *Ledger) SignedSeen() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.signedSeen
}

// applyLocked decodes one verified record and applies it; l.mu is held.
func (l *Ledger) applyLocked(key string, value []byte) *refusal {
	now := l.now()
	prefix, id := splitKey(key)
	if value == nil {
		return l.forget(prefix, id, now)
	}
	switch prefix {
	case userKeyPrefix:
		var e UserEntry
		if err := decodeUser(value, &e); err != nil {
			return err
		}
		if e.UserID != id {
			return refuse(RefusedUndecodable, "record does not match its key")
		}
		if err := l.notAhead(now, e.times()...); err != nil {
			return err
		}
		l.compactLocked(id, &e)
		l.users[id] = &e
		if st := e.SuspendedBy; st != nil {
			s := suspension{at: st.At, rule: st.Rule, user: id}
			if !st.Hold.IsZero() {
				s.at = st.Hold
			}
			l.addSuspension(s)
			l.settleHold(s)
		}
	case holdKeyPrefix:
		var h Hold
		if err := decodeInto(value, &h, func() bool { return h.UserID == id }); err != nil {
			return err
		}
		if err := l.notAhead(now, namedTime{"hold time", h.At}); err != nil {
			return err
		}
		l.applyHold(h, now)
	case breakerKeyPrefix:
		var b BreakerEntry
		if err := decodeInto(value, &b, func() bool { return b.Scope == id }); err != nil {
			return err
		}
		if err := l.notAhead(now, namedTime{"breaker time", b.At}); err != nil {
			return err
		}
		if !b.Open && b.At.After(now) {
			// A re-arm counts from this instance's clock, never from a
			// writer's clock that runs ahead.
			b.At = now
		}
		l.breakers[id] = b
	case exceptionKeyPrefix:
		var x Exception
		if err := decodeInto(value, &x, func() bool { return x.ID == id }); err != nil {
			return err
		}
		if err := l.notAhead(now, x.times()...); err != nil {
			return err
		}
		l.exceptions[id] = x
	case messageKeyPrefix:
		var msg ApprovalMessage
		if err := decodeInto(value, &msg, func() bool { return msg.ID == id }); err != nil {
			return err
		}
		l.messages[id] = msg
	case approvalKeyPrefix:
		var a Approval
		if err := decodeInto(value, &a, func() bool { return a.ID == id }); err != nil {
			return err
		}
		if err := l.notAhead(now, a.times()...); err != nil {
			return err
		}
		l.approvals[id] = &a
	default:
		return refuse(RefusedUndecodable, "unknown key prefix")
	}
	return nil
}

// decodeInto decodes value into v and checks that it matches its key.
func decodeInto(value []byte, v any, matches func() bool) *refusal {
	if err := decodeStrict(value, v); err != nil {
		return err
	}
	if !matches() {
		return refuse(RefusedUndecodable, "record does not match its key")
	}
	return nil
}

// forget applies a verified tombstone; l.mu is held. A user's record is
// forgotten only when nothing needs it any more and its last activity is
// older than the retention (see keepReason): anyone who can write the
// state topic can write a tombstone, and a signed one can be replayed, so
// a tombstone of a record still needed is refused, and Run writes the
// record again. A hold's tombstone ends only its in-flight state: a hold
// still pending then counts as a suspension made (the breaker errs on the
// side of caution), and a confirmed suspension keeps counting in its
// window, which the user's record feeds, not the hold's.
func (l *Ledger) forget(prefix, id string, now time.Time) *refusal {
	switch prefix {
	case userKeyPrefix:
		if e, ok := l.users[id]; ok {
			if why := l.keepReason(e, now.Add(l.skew), nil); why != "" {
				return refuse(RefusedStillNeeded, "tombstone of a user record still needed: %s", why)
			}
		}
		delete(l.users, id)
	case holdKeyPrefix:
		if s, ok := l.holdOf[id]; ok {
			l.settleHold(s)
		}
	case breakerKeyPrefix:
		delete(l.breakers, id)
	case messageKeyPrefix:
		delete(l.messages, id)
	case approvalKeyPrefix:
		delete(l.approvals, id)
	case exceptionKeyPrefix:
		delete(l.exceptions, id)
	}
	return nil
}

// splitKey splits a record key into its prefix and id ("" prefix when it
// has none the ledger knows).
func splitKey(key string) (prefix, id string) {
	for _, p := range []string{userKeyPrefix, holdKeyPrefix, breakerKeyPrefix, messageKeyPrefix, approvalKeyPrefix, exceptionKeyPrefix} {
		if rest, ok := strings.CutPrefix(key, p); ok {
			return p, rest
		}
	}
	return "", key
}

// refuseLocked counts, logs and lists a refused record, and asks Run to
// write again the entry it tried to replace when it was refused for what
// it is (its signature, its size, its contents) rather than for the clock
// of its writer; l.mu is held.
func (l *Ledger) refuseLocked(key string, r *refusal) {
	l.refusals[r.reason]++
	l.recent = append(l.recent, RefusedRecord{Key: clipName(key), Reason: r.reason, Detail: r.detail, At: l.now()})
	if over := len(l.recent) - recentRefusals; over > 0 {
		l.recent = slices.Delete(l.recent, 0, over)
	}
	l.log.Error("state topic: refusing a record; it counts for nothing", "key", clipName(key), "reason", r.reason, "error", r.detail)
	if r.reason != RefusedFutureTime && l.hasEntry(key) {
		l.reassert[key] = struct{}{}
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// hasEntry reports whether the ledger holds an entry under key that Run
// can write again; l.mu is held.
func (l *Ledger) hasEntry(key string) bool {
	return l.entryWriter(context.Background(), key) != nil
}

// entryWriter returns what writes the entry held under key again (nil
// when the ledger holds none that it writes again: holds are not); l.mu is
// held, and the returned function must run without it.
func (l *Ledger) entryWriter(ctx context.Context, key string) func() error {
	prefix, id := splitKey(key)
	switch prefix {
	case userKeyPrefix:
		if e, ok := l.users[id]; ok {
			c := e.clone()
			return func() error { return l.PutUser(ctx, c) }
		}
	case breakerKeyPrefix:
		if b, ok := l.breakers[id]; ok {
			return func() error { return l.PutBreaker(ctx, b) }
		}
	case approvalKeyPrefix:
		if a, ok := l.approvals[id]; ok {
			c := *a
			return func() error { return l.PutApproval(ctx, c) }
		}
	case messageKeyPrefix:
		if m, ok := l.messages[id]; ok {
			return func() error { return l.PutApprovalMessage(ctx, m) }
		}
	case exceptionKeyPrefix:
		if x, ok := l.exceptions[id]; ok {
			return func() error { return l.putException(ctx, x) }
		}
	}
	return nil
}

// RefusedCounts returns the refused records by reason, every reason
// included.
func (l *Ledger) RefusedCounts() map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int64, len(RefusedRecords))
	for _, r := range RefusedRecords {
		out[r] = l.refusals[r]
	}
	return out
}

// Refused returns the latest refused records, oldest first.
func (l *Ledger) Refused() []RefusedRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.recent)
}

// UnderPreviousKey counts the records in force that are signed under the
// previous key: once it is 0, the previous key can be dropped.
func (l *Ledger) UnderPreviousKey() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.previous)
}

// Run writes again, signed under the current key, each entry that a
// refused record tried to replace, so that what compaction keeps of its key
// is the valid entry, not the refused record. It returns when ctx is done.
func (l *Ledger) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-l.kick:
		}
		for _, key := range l.takeReasserts() {
			if err := l.rewrite(ctx, key); err != nil && ctx.Err() == nil {
				l.log.Warn("state topic: cannot write back the entry a refused record tried to replace", "key", clipName(key), "error", err.Error())
			}
		}
	}
}

func (l *Ledger) takeReasserts() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := slices.Sorted(maps.Keys(l.reassert))
	clear(l.reassert)
	return keys
}

// rewrite writes the entry held under key again.
func (l *Ledger) rewrite(ctx context.Context, key string) error {
	l.mu.Lock()
	write := l.entryWriter(ctx, key)
	l.mu.Unlock()
	if write == nil {
		return nil
	}
	l.log.Warn("state topic: writing back the entry a refused record tried to replace", "key", clipName(key))
	return write()
}

// applyHold counts a hold as a suspension until its user's record
// confirms it or it is released. A new hold of a user replaces the user's
// hold still pending: that one's decision was interrupted (its instance
// stopped or died mid-call) and is being decided again, and whether its
// call went through, the new one's GET will tell. A hold's timeout runs
// from its time or from when this instance applied it (now), whichever is
// earlier: a writer's clock running ahead cannot keep it in flight longer.
// l.mu is held.
func (l *Ledger) applyHold(h Hold, now time.Time) {
	s := suspension{at: h.At, rule: h.Rule, user: h.UserID}
	_, pending := l.pending[s]
	switch _, seen := l.seen[s]; {
	case h.Released && pending:
		l.dropSuspension(s)
	case !h.Released && !seen:
		if old, ok := l.holdOf[h.UserID]; ok {
			l.dropSuspension(old)
		}
		l.addSuspension(s)
		l.pending[s] = minTime(h.At, now)
		l.suspensions.hold(s)
		l.holdOf[h.UserID] = s
	}
}

// settleHold marks a confirmed hold as no longer pending; l.mu is held.
func (l *Ledger) settleHold(s suspension) {
	delete(l.pending, s)
	l.suspensions.settle(s)
	if l.holdOf[s.user] == s {
		delete(l.holdOf, s.user)
	}
}

// dropSuspension forgets a hold that was released or replaced; l.mu is
// held.
func (l *Ledger) dropSuspension(s suspension) {
	delete(l.seen, s)
	l.settleHold(s)
	l.suspensions.remove(s)
}

// addSuspension records a suspension once; l.mu is held.
func (l *Ledger) addSuspension(s suspension) {
	if _, ok := l.seen[s]; ok {
		return
	}
	l.seen[s] = struct{}{}
	l.suspensions.add(s)
	// Forget what no window can reach any more.
	l.suspensions.cut(s.at.Add(-suspensionHistory), func(old suspension) {
		delete(l.seen, old)
		l.settleHold(old)
	})
}

// User returns a copy of the user's entry (false when there is none).
func (l *Ledger) User(id string) (UserEntry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.users[id]
	if !ok {
		return UserEntry{UserID: id}, false
	}
	return e.clone(), true
}

func (e *UserEntry) clone() UserEntry {
	c := *e
	c.Last, c.SuspendedBy, c.Refused, c.Containment = clonePtr(e.Last), clonePtr(e.SuspendedBy), clonePtr(e.Refused), clonePtr(e.Containment)
	if e.Contained != nil {
		c.Contained = make(map[string][]time.Time, len(e.Contained))
		for k, v := range e.Contained {
			c.Contained[k] = slices.Clone(v)
		}
	}
	c.Events = slices.Clone(e.Events)
	c.Cooldowns, c.cooldownOfLast = e.cooldowns(), false
	return c
}

// Users returns the number of users the ledger holds.
func (l *Ledger) Users() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.users)
}

// PutUser writes a user's entry, durably, clipped to fit
// MaxStateRecordBytes (the oldest events and cooldowns go first).
func (l *Ledger) PutUser(ctx context.Context, e UserEntry) error {
	e = e.clone()
	value, err := encode(&e, e.shrink)
	if err != nil {
		return fmt.Errorf("ledger: encode user %s: %w", e.UserID, err)
	}
	return l.put(ctx, userKeyPrefix+e.UserID, value)
}

// PutHold writes a breaker hold (or its release), durably.
func (l *Ledger) PutHold(ctx context.Context, h Hold) error {
	value, err := encode(h, nil)
	if err != nil {
		return fmt.Errorf("ledger: encode hold of %s: %w", h.UserID, err)
	}
	return l.put(ctx, holdKeyPrefix+h.UserID, value)
}

// removeHold tombstones the user's hold once it is settled (confirmed by
// the user's record, or released); it leaves a hold still pending alone:
// a newer decision's on the user, or one whose release was not written.
func (l *Ledger) removeHold(ctx context.Context, user string) error {
	l.mu.Lock()
	_, pending := l.holdOf[user]
	l.mu.Unlock()
	if pending {
		return nil
	}
	return l.put(ctx, holdKeyPrefix+user, nil)
}

// PutBreaker writes a breaker scope's entry, durably, its texts clipped to
// fit MaxStateRecordBytes.
func (l *Ledger) PutBreaker(ctx context.Context, b BreakerEntry) error {
	value, err := encode(&b, b.shrink)
	if err != nil {
		return fmt.Errorf("ledger: encode breaker %s: %w", b.Scope, err)
	}
	return l.put(ctx, breakerKeyPrefix+b.Scope, value)
}

// put writes one record (nil value: a tombstone), signed under the current
// key when there is one.
func (l *Ledger) put(ctx context.Context, key string, value []byte) error {
	if l.store == nil {
		return errNoStore
	}
	if err := l.store.Put(ctx, key, value, l.keys.Sign(stateFields(key, value)...)); err != nil {
		return fmt.Errorf("ledger: write %s: %w", key, err)
	}
	return nil
}

// hasEvent reports whether the entry remembers the event id.
func (e *UserEntry) hasEvent(id string) bool {
	return id != "" && slices.Contains(e.Events, clip(id))
}

// noteAction records an action that succeeded: its stamp, its event and the
// start of the rule's cooldown.
func (e *UserEntry) noteAction(s Stamp) {
	e.Last = &s
	if s.Event != "" && !e.hasEvent(s.Event) {
		e.Events = append(e.Events, clip(s.Event))
		if over := len(e.Events) - recentEvents; over > 0 {
			e.Events = slices.Delete(e.Events, 0, over)
		}
	}
	if e.Cooldowns == nil {
		e.Cooldowns = map[string]time.Time{}
	}
	e.Cooldowns[s.Rule] = s.At
	for rule, at := range e.Cooldowns {
		if s.At.Sub(at) > cooldownHistory {
			delete(e.Cooldowns, rule)
		}
	}
}

func clip(id string) string {
	if len(id) > maxEventIDLen {
		return id[:maxEventIDLen]
	}
	return id
}

// Breakers returns the breaker scopes the ledger knows, sorted.
func (l *Ledger) Breakers() []BreakerEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]BreakerEntry, 0, len(l.breakers))
	for _, b := range l.breakers {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Scope < out[j].Scope })
	return out
}

// Breaker returns a scope's entry (false when it never tripped).
func (l *Ledger) Breaker(scope string) (BreakerEntry, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.breakers[scope]
	return b, ok
}

// Suspensions counts the suspensions tripline made in scope in the window
// ending at now, since the scope was last re-armed, those still in flight
// on any instance (holds) included.
func (l *Ledger) Suspensions(scope string, window time.Duration, now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	settled, inFlight := l.countLocked(scope, window, now, "")
	return settled + inFlight
}

// countLocked is Suspensions with l.mu held, in two parts: settled counts
// the suspensions made, and the holds older than holdTimeout (their
// instance may have died mid-call: they may have happened); inFlight counts
// the younger holds not yet confirmed. The pending hold of user (when not
// "") is left out: a new decision on the user replaces it. It costs
// O(log n) in the suspensions kept plus the pending holds (see
// windowIndex), not a scan of the window.
func (l *Ledger) countLocked(scope string, window time.Duration, now time.Time, user string) (settled, inFlight int) {
	since := now.Add(-window)
	if b, ok := l.breakers[scope]; ok && !b.Open && b.At.After(since) {
		since = b.At
	}
	rule, perRule := strings.CutPrefix(scope, ScopeRulePrefix)
	// Suspensions dated after now count too: another instance's clock may
	// run a little ahead.
	all := l.suspensions.count(rule, perRule, since)
	l.suspensions.pendingHolds(rule, perRule, since, func(s suspension) bool {
		switch applied := l.pending[s]; {
		case user != "" && s.user == user && l.holdOf[user] == s:
			all--
		case now.Sub(applied) < holdTimeout:
			inFlight++
		}
		return true
	})
	return all - inFlight, inFlight
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// Wait blocks until cond holds, checking it at the call and each time the
// ledger applies a record (its own writes and what the store delivers from
// other instances), or until ctx is done; it returns ctx's error then. cond
// runs without the ledger's lock held, so it may read the ledger.
func (l *Ledger) Wait(ctx context.Context, cond func() bool) error {
	for {
		l.mu.Lock()
		gen := l.gen
		l.mu.Unlock()
		if cond() {
			return nil
		}
		if err := l.waitApplied(ctx, gen); err != nil {
			return err
		}
	}
}

// waitApplied waits until a record is applied after generation gen, or ctx
// is done.
func (l *Ledger) waitApplied(ctx context.Context, gen uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.changed.Broadcast()
		l.mu.Unlock()
	})
	defer stop()
	for l.gen == gen && ctx.Err() == nil {
		l.changed.Wait()
	}
	return ctx.Err()
}
