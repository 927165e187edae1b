package remediate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
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
// other instances, and this instance's own writes). It is safe for
// concurrent use.
type Ledger struct {
	store    Store
	log      *slog.Logger
	instance string

	mu          sync.Mutex
	users       map[string]*UserEntry
	breakers    map[string]BreakerEntry
	approvals   map[string]*Approval
	messages    map[string]ApprovalMessage
	suspensions []suspension // sorted by time, holds not yet confirmed included
	seen        map[suspension]struct{}
	pending     map[suspension]struct{} // holds neither confirmed nor released
	holdOf      map[string]suspension   // the latest pending hold of each user
	changed     *sync.Cond              // signalled when a record is applied
	gen         uint64                  // records applied so far
	waiting     int                     // decisions waiting for holds in flight
	bad         int                     // records that could not be decoded
}

// NewLedger returns an empty ledger that writes through store (nil: it
// cannot write until SetStore). instance names this process in the records
// it writes.
func NewLedger(store Store, instance string, log *slog.Logger) *Ledger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Ledger{
		store: store, instance: instance, log: log,
		users:     map[string]*UserEntry{},
		breakers:  map[string]BreakerEntry{},
		approvals: map[string]*Approval{},
		messages:  map[string]ApprovalMessage{},
		seen:      map[suspension]struct{}{},
		pending:   map[suspension]struct{}{},
		holdOf:    map[string]suspension{},
	}
	l.changed = sync.NewCond(&l.mu)
	return l
}

// SetStore sets the store the ledger writes through, for stores that are
// built after the ledger because they feed it (see ledger.Table).
func (l *Ledger) SetStore(s Store) { l.store = s }

// Apply takes one record of the store. A record it cannot decode is
// counted and logged, never fatal: the store may hold records of a newer
// version.
func (l *Ledger) Apply(key string, value []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	defer l.changed.Broadcast()
	l.gen++
	switch {
	case strings.HasPrefix(key, userKeyPrefix):
		id := strings.TrimPrefix(key, userKeyPrefix)
		if value == nil {
			delete(l.users, id)
			return
		}
		var e UserEntry
		if err := json.Unmarshal(value, &e); err != nil || e.UserID != id {
			l.badRecord(key, err)
			return
		}
		l.users[id] = &e
		if st := e.SuspendedBy; st != nil {
			s := suspension{at: st.At, rule: st.Rule, user: id}
			if !st.Hold.IsZero() {
				s.at = st.Hold
			}
			l.addSuspension(s)
			l.settleHold(s)
		}
	case strings.HasPrefix(key, holdKeyPrefix):
		id := strings.TrimPrefix(key, holdKeyPrefix)
		if value == nil {
			return
		}
		var h Hold
		if err := json.Unmarshal(value, &h); err != nil || h.UserID != id {
			l.badRecord(key, err)
			return
		}
		l.applyHold(h)
	case strings.HasPrefix(key, breakerKeyPrefix):
		scope := strings.TrimPrefix(key, breakerKeyPrefix)
		if value == nil {
			delete(l.breakers, scope)
			return
		}
		var b BreakerEntry
		if err := json.Unmarshal(value, &b); err != nil || b.Scope != scope {
			l.badRecord(key, err)
			return
		}
		l.breakers[scope] = b
	case strings.HasPrefix(key, messageKeyPrefix):
		id := strings.TrimPrefix(key, messageKeyPrefix)
		if value == nil {
			delete(l.messages, id)
			return
		}
		var msg ApprovalMessage
		if err := json.Unmarshal(value, &msg); err != nil || msg.ID != id {
			l.badRecord(key, err)
			return
		}
		l.messages[id] = msg
	case strings.HasPrefix(key, approvalKeyPrefix):
		id := strings.TrimPrefix(key, approvalKeyPrefix)
		if value == nil {
			delete(l.approvals, id)
			return
		}
		var a Approval
		if err := json.Unmarshal(value, &a); err != nil || a.ID != id {
			l.badRecord(key, err)
			return
		}
		l.approvals[id] = &a
	default:
		l.badRecord(key, errors.New("unknown key"))
	}
}

func (l *Ledger) badRecord(key string, err error) {
	l.bad++
	msg := "record does not match its key"
	if err != nil {
		msg = err.Error()
	}
	l.log.Warn("ledger: ignoring a record it cannot read", "key", key, "error", msg)
}

// applyHold counts a hold as a suspension until its user's record
// confirms it or it is released. A new hold of a user replaces the user's
// hold still pending: that one's decision was interrupted (its instance
// stopped or died mid-call) and is being decided again, and whether its
// call went through, the new one's GET will tell. l.mu is held.
func (l *Ledger) applyHold(h Hold) {
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
		l.pending[s] = struct{}{}
		l.holdOf[h.UserID] = s
	}
}

// settleHold marks a confirmed hold as no longer pending; l.mu is held.
func (l *Ledger) settleHold(s suspension) {
	delete(l.pending, s)
	if l.holdOf[s.user] == s {
		delete(l.holdOf, s.user)
	}
}

// dropSuspension forgets a hold that was released or replaced; l.mu is
// held.
func (l *Ledger) dropSuspension(s suspension) {
	delete(l.seen, s)
	l.settleHold(s)
	i := sort.Search(len(l.suspensions), func(i int) bool { return !l.suspensions[i].at.Before(s.at) })
	for ; i < len(l.suspensions) && l.suspensions[i].at.Equal(s.at); i++ {
		if l.suspensions[i] == s {
			l.suspensions = slices.Delete(l.suspensions, i, i+1)
			return
		}
	}
}

// addSuspension records a suspension once; l.mu is held.
func (l *Ledger) addSuspension(s suspension) {
	if _, ok := l.seen[s]; ok {
		return
	}
	l.seen[s] = struct{}{}
	i := sort.Search(len(l.suspensions), func(i int) bool { return l.suspensions[i].at.After(s.at) })
	l.suspensions = slices.Insert(l.suspensions, i, s)
	// Forget what no window can reach any more.
	cut := s.at.Add(-suspensionHistory)
	n := 0
	for n < len(l.suspensions) && l.suspensions[n].at.Before(cut) {
		delete(l.seen, l.suspensions[n])
		l.settleHold(l.suspensions[n])
		n++
	}
	l.suspensions = l.suspensions[n:]
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
	c.Events = slices.Clone(e.Events)
	if e.Cooldowns != nil {
		c.Cooldowns = make(map[string]time.Time, len(e.Cooldowns))
		for k, v := range e.Cooldowns {
			c.Cooldowns[k] = v
		}
	}
	return c
}

// Users returns the number of users the ledger holds.
func (l *Ledger) Users() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.users)
}

// PutUser writes a user's entry, durably.
func (l *Ledger) PutUser(ctx context.Context, e UserEntry) error {
	value, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("ledger: encode user %s: %w", e.UserID, err)
	}
	return l.put(ctx, userKeyPrefix+e.UserID, value)
}

// PutHold writes a breaker hold (or its release), durably.
func (l *Ledger) PutHold(ctx context.Context, h Hold) error {
	value, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("ledger: encode hold of %s: %w", h.UserID, err)
	}
	return l.put(ctx, holdKeyPrefix+h.UserID, value)
}

// PutBreaker writes a breaker scope's entry, durably.
func (l *Ledger) PutBreaker(ctx context.Context, b BreakerEntry) error {
	value, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("ledger: encode breaker %s: %w", b.Scope, err)
	}
	return l.put(ctx, breakerKeyPrefix+b.Scope, value)
}

func (l *Ledger) put(ctx context.Context, key string, value []byte) error {
	if l.store == nil {
		return errors.New("ledger: no store")
	}
	if err := l.store.Put(ctx, key, value); err != nil {
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
// "") is left out: a new decision on the user replaces it.
func (l *Ledger) countLocked(scope string, window time.Duration, now time.Time, user string) (settled, inFlight int) {
	since := now.Add(-window)
	if b, ok := l.breakers[scope]; ok && !b.Open && b.At.After(since) {
		since = b.At
	}
	rule, perRule := strings.CutPrefix(scope, ScopeRulePrefix)
	// Suspensions dated after now count too: another instance's clock may
	// run a little ahead.
	for i := len(l.suspensions) - 1; i >= 0; i-- {
		s := l.suspensions[i]
		if !s.at.After(since) {
			break
		}
		if perRule && s.rule != rule {
			continue
		}
		if user != "" && s.user == user && l.holdOf[user] == s {
			continue
		}
		if _, ok := l.pending[s]; ok && now.Sub(s.at) < holdTimeout {
			inFlight++
		} else {
			settled++
		}
	}
	return settled, inFlight
}
