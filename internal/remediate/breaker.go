package remediate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Breaker scopes: ScopeGlobal caps every suspension, "rule:<id>" caps the
// suspensions of one rule (its max_actions).
const (
	ScopeGlobal     = "global"
	ScopeRulePrefix = "rule:"
)

// RuleScope is the breaker scope of a rule.
func RuleScope(ruleID string) string { return ScopeRulePrefix + ruleID }

// ValidScope reports whether scope names a breaker scope.
func ValidScope(scope string) bool {
	rule, ok := strings.CutPrefix(scope, ScopeRulePrefix)
	return scope == ScopeGlobal || (ok && rule != "")
}

// capped is one scope and its cap, for one decision.
type capped struct {
	scope string
	limit Limit
}

// scopesOf lists the breaker scopes a suspension decision counts in.
func (s *Service) scopesOf(d Decision) []capped {
	var out []capped
	if s.cfg.Breaker.Count > 0 {
		out = append(out, capped{ScopeGlobal, s.cfg.Breaker})
	}
	if d.MaxActions.Count > 0 {
		out = append(out, capped{RuleScope(d.RuleID), d.MaxActions})
	}
	return out
}

// holdTimeout is how long a hold counts as in flight: past it, a hold
// neither confirmed nor released counts as a suspension made (its instance
// may have died mid-call, after the API acted). It outlasts a suspension's
// calls and their retries.
const holdTimeout = 5 * time.Minute

// syncTimeout bounds the wait for the other instances' records.
const syncTimeout = 2 * time.Second

// recheckEvery bounds a wait for holds in flight: the decision counts again
// at least this often (a hold of a dead instance times out).
const recheckEvery = time.Second

// breaker caps suspensions per sliding window. A decision that would go
// over a cap trips its scope: it and every later decision in that scope get
// breaker_open (dead-lettered, so they can be replayed after review) until
// an operator re-arms the scope.
//
// Before the call, the decision takes a hold: under one lock per instance,
// it syncs the ledger with the state topic (every record any instance wrote
// until then applied), counts the suspensions made and the holds in flight
// on every instance, and writes its own hold. So within one instance the
// cap is exact, and across instances a decision misses only the holds that
// other instances wrote while it was counting, at most one per other
// instance: all together make at most cap + instances - 1 suspensions.
// When only holds still in flight could fill a scope, the decision waits
// for them: whether they succeed decides whether it may go. A hold whose
// suspension did not happen is released. In a dry run the breaker only
// checks whether a scope is open.
func (s *Service) breaker(next handler) handler {
	return func(ctx context.Context, c *call) error {
		if c.d.Action != ActionSuspend {
			return next(ctx, c)
		}
		scopes := s.scopesOf(c.d)
		if len(scopes) == 0 {
			return next(ctx, c)
		}
		var denied string
		var err error
		if s.cfg.DryRun {
			denied, _, _ = s.ledger.admit(scopes, c.out.User.ID, s.now(), true)
		} else if denied, err = s.hold(ctx, c, scopes); err != nil {
			return err
		}
		if denied != "" {
			c.out.Result, c.out.Detail = ResultBreakerOpen, denied
			return &Failure{Class: ClassBreakerOpen, Err: fmt.Errorf("breaker %s is open: held for review (re-arm with consumer breaker reset)", denied)}
		}
		if s.cfg.DryRun {
			return next(ctx, c)
		}
		err = next(ctx, c)
		s.settle(ctx, c)
		if c.out.Result == ResultSuspended {
			for _, b := range s.ledger.reached(scopes, s.now()) {
				if terr := s.trip(ctx, b); terr != nil && err == nil {
					err = terr
				}
			}
		}
		return err
	}
}

// hold takes a breaker hold for the call (c.hold), or returns the scope
// that denies it, tripping it when the decision would go over its cap. A
// shutdown while it waits for holds in flight returns ErrInterrupted. A
// wait longer than slowWait is logged once, at warn, with what it waits
// for.
func (s *Service) hold(ctx context.Context, c *call, scopes []capped) (denied string, err error) {
	w := &waiter{user: c.out.User.ID, rule: c.d.RuleID, since: s.now()}
	for {
		s.grants.Lock()
		s.syncLedger(ctx)
		now := s.now()
		denied, trip, waitFor := s.ledger.admit(scopes, c.out.User.ID, now, false)
		if denied == "" && waitFor == "" {
			err := s.putHold(ctx, c, now)
			s.grants.Unlock()
			return "", err
		}
		s.grants.Unlock()
		switch {
		case trip != nil:
			return denied, s.trip(ctx, *trip)
		case denied != "":
			return denied, nil
		}
		s.ledger.noteWait(w, waitFor, now)
		if !w.warned && now.Sub(w.since) >= slowWait {
			w.warned = true
			s.log.WarnContext(ctx, "breaker: a suspension decision has waited for holds in flight for a long time",
				"rule_id", w.rule, "op_user_id", w.user, "waited", now.Sub(w.since).Round(time.Second).String(), "waits_for", waitFor)
		}
		if err := s.ledger.awaitChange(ctx, recheckEvery, w); err != nil {
			if isInterrupted(err) {
				return "", err
			}
			return "", errors.Join(ErrInterrupted, err)
		}
	}
}

// putHold writes the call's hold, taken at now.
func (s *Service) putHold(ctx context.Context, c *call, now time.Time) error {
	h := Hold{UserID: c.out.User.ID, Rule: c.d.RuleID, At: now, Instance: s.cfg.Instance}
	if err := s.ledger.PutHold(ctx, h); err != nil {
		return fmt.Errorf("breaker hold for user %s: %w", h.UserID, err)
	}
	c.hold = now
	return nil
}

// syncLedger catches the ledger up with the other instances' records. When
// the state topic cannot be read in time the decision goes on with the
// count it has, and says so.
func (s *Service) syncLedger(ctx context.Context) {
	syncer, ok := s.ledger.store.(Syncer)
	if !ok || s.cfg.DryRun {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	if err := syncer.Sync(ctx); err != nil {
		s.log.WarnContext(ctx, "breaker: cannot read the other instances' latest suspensions; counting what is known", "error", err.Error())
	}
}

// settle releases the call's hold unless the user's record confirms it
// (the user was suspended from ACTIVE under it), then removes the settled
// hold from the state topic (a tombstone): the suspension counts in its
// window through the user's record, and a release through the instances
// that applied it. A release that cannot be written leaves the hold
// counted, and on the topic: the breaker errs on the side of caution.
func (s *Service) settle(ctx context.Context, c *call) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncTimeout)
	defer cancel()
	if e, _ := s.ledger.User(c.out.User.ID); e.SuspendedBy == nil || !e.SuspendedBy.Hold.Equal(c.hold) {
		h := Hold{UserID: c.out.User.ID, Rule: c.d.RuleID, At: c.hold, Instance: s.cfg.Instance, Released: true}
		if err := s.ledger.PutHold(ctx, h); err != nil {
			s.log.WarnContext(ctx, "breaker: cannot release the hold of a suspension that did not happen; it counts until it times out",
				"user_id", h.UserID, "rule_id", h.Rule, "error", err.Error())
			return
		}
	}
	if err := s.ledger.removeHold(ctx, c.out.User.ID); err != nil {
		s.log.WarnContext(ctx, "breaker: cannot remove a settled hold from the state topic; the next decision on the user replaces it",
			"user_id", c.out.User.ID, "rule_id", c.d.RuleID, "error", err.Error())
	}
}

// trip writes a scope's trip to the ledger and logs it.
func (s *Service) trip(ctx context.Context, b BreakerEntry) error {
	b.Instance = s.cfg.Instance
	s.log.ErrorContext(ctx, "breaker tripped: suspensions in this scope are held until an operator re-arms it",
		"scope", b.Scope, "count", b.Count, "cap", b.Cap, "window", b.Window.String())
	if err := s.ledger.PutBreaker(ctx, b); err != nil {
		return err
	}
	s.notify(ctx, Notice{Type: NoticeBreakerOpen, Breaker: &b})
	return nil
}

// admit checks every scope for a decision on user at now: denied names the
// first scope that is open or full (trip is set when that scope must trip
// now); waitFor says what the decision waits for when only holds still in
// flight fill a scope (the user's own pending hold left out: this decision
// replaces it), "" when it need not wait. checkOnly (a dry run) looks only
// for open scopes.
func (l *Ledger) admit(scopes []capped, user string, now time.Time, checkOnly bool) (denied string, trip *BreakerEntry, waitFor string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, sc := range scopes {
		if b, ok := l.breakers[sc.scope]; ok && b.Open {
			return sc.scope, nil, ""
		}
	}
	if checkOnly {
		return "", nil, ""
	}
	var waits []string
	for _, sc := range scopes {
		settled, inFlight := l.countLocked(sc.scope, sc.limit.Window, now, user)
		if settled >= sc.limit.Count {
			b := BreakerEntry{Scope: sc.scope, Open: true, At: now, Reason: "cap reached", Count: settled, Cap: sc.limit.Count, Window: sc.limit.Window}
			l.breakers[sc.scope] = b // open at once here; the write makes it durable and shared
			return sc.scope, &b, ""
		}
		if settled+inFlight >= sc.limit.Count {
			waits = append(waits, fmt.Sprintf("%s: %d holds in flight, %d suspensions made, cap %d per %s",
				sc.scope, inFlight, settled, sc.limit.Count, sc.limit.Window))
		}
	}
	return "", nil, strings.Join(waits, "; ")
}

// slowWait is how long a decision waits for holds in flight before it is
// logged; /readyz lists the waits longer than longWait.
const (
	slowWait = 30 * time.Second
	longWait = time.Minute
)

// waiter is one suspension decision waiting for breaker holds in flight.
type waiter struct {
	user, rule string
	since      time.Time
	waitsFor   string
	warned     bool
}

// noteWait records what w waits for, at now.
func (l *Ledger) noteWait(w *waiter, waitsFor string, _ time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w.waitsFor = waitsFor
}

// Waiting counts the decisions waiting for holds in flight (theirs or
// other instances') to be confirmed or released before they count again.
func (l *Ledger) Waiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.waiting)
}

// LongWaits describes the decisions that have waited for holds in flight
// longer than a minute at now, longest first, for /readyz.
func (l *Ledger) LongWaits(now time.Time) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ws []*waiter
	for w := range l.waiting {
		if now.Sub(w.since) >= longWait {
			ws = append(ws, w)
		}
	}
	slices.SortFunc(ws, func(a, b *waiter) int { return a.since.Compare(b.since) })
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		out = append(out, fmt.Sprintf("rule %s, user %s, waiting %s for %s", w.rule, w.user, now.Sub(w.since).Round(time.Second), w.waitsFor))
	}
	return out
}

// awaitChange waits until a record is applied, ctx ends, the consumer
// shuts down (WithStop) or d passes, counting w among the waiting
// decisions meanwhile. It returns ctx's error, or ErrInterrupted on
// shutdown.
func (l *Ledger) awaitChange(ctx context.Context, d time.Duration, w *waiter) error {
	stopped := false
	l.mu.Lock()
	defer l.mu.Unlock()
	gen, fired := l.gen, false
	wake := func() {
		l.mu.Lock()
		fired = true
		l.changed.Broadcast()
		l.mu.Unlock()
	}
	stopCtx := context.AfterFunc(ctx, wake)
	defer stopCtx()
	timer := time.AfterFunc(d, wake)
	defer timer.Stop()
	if stop, ok := ctx.Value(stopKey{}).(context.Context); ok {
		stopWait := context.AfterFunc(stop, func() {
			l.mu.Lock()
			stopped, fired = true, true
			l.changed.Broadcast()
			l.mu.Unlock()
		})
		defer stopWait()
	}
	l.waiting[w] = struct{}{}
	for l.gen == gen && !fired {
		l.changed.Wait()
	}
	delete(l.waiting, w)
	if stopped {
		return ErrInterrupted
	}
	return ctx.Err()
}

// reached returns the scopes whose cap the suspensions now reach and that
// are not open yet, opening them.
func (l *Ledger) reached(scopes []capped, now time.Time) []BreakerEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []BreakerEntry
	for _, sc := range scopes {
		if b, ok := l.breakers[sc.scope]; ok && b.Open {
			continue
		}
		if n, _ := l.countLocked(sc.scope, sc.limit.Window, now, ""); n >= sc.limit.Count {
			b := BreakerEntry{Scope: sc.scope, Open: true, At: now, Reason: "cap reached", Count: n, Cap: sc.limit.Count, Window: sc.limit.Window}
			l.breakers[sc.scope] = b
			out = append(out, b)
		}
	}
	return out
}

// Rearm re-arms a breaker scope: decisions in it act again, and its window
// counts only suspensions after now. by and reason are recorded.
func (l *Ledger) Rearm(ctx context.Context, scope, by, reason string, now time.Time) error {
	if !ValidScope(scope) {
		return fmt.Errorf("breaker scope %q: want %s or %s<rule id>", scope, ScopeGlobal, ScopeRulePrefix)
	}
	if strings.TrimSpace(by) == "" || strings.TrimSpace(reason) == "" {
		return fmt.Errorf("breaker reset: who (--by) and why (--reason) are required")
	}
	return l.PutBreaker(ctx, BreakerEntry{Scope: scope, Open: false, At: now, By: by, Reason: reason, Instance: l.instance})
}

// OpenScopes lists the breaker scopes that are open, sorted.
func (l *Ledger) OpenScopes() []string {
	var out []string
	for _, b := range l.Breakers() {
		if b.Open {
			out = append(out, b.Scope)
		}
	}
	return out
}
