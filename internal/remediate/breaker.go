package remediate

import (
	"context"
	"fmt"
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

// breaker caps suspensions per sliding window. A decision that would go
// over a cap trips its scope: it and every later decision in that scope get
// breaker_open (dead-lettered, so they can be replayed after review) until
// an operator re-arms the scope. Within one instance the cap is exact: a
// slot is reserved before the call and released after it, under one lock.
// In a dry run it only checks whether a scope is open.
func (s *Service) breaker(next handler) handler {
	return func(ctx context.Context, c *call) error {
		if c.d.Action != ActionSuspend {
			return next(ctx, c)
		}
		scopes := s.scopesOf(c.d)
		if len(scopes) == 0 {
			return next(ctx, c)
		}
		s.syncNearCap(ctx, scopes)
		src := fmt.Sprintf("%s/%d", c.d.Source.Topic, c.d.Source.Partition)
		release, denied, trip := s.ledger.reserve(scopes, src, s.cfg.SourcePartitions, s.now, s.cfg.DryRun)
		if denied != "" {
			if trip != nil {
				if err := s.trip(ctx, *trip); err != nil {
					return err
				}
			}
			c.out.Result, c.out.Detail = ResultBreakerOpen, denied
			return &Failure{Class: ClassBreakerOpen, Err: fmt.Errorf("breaker %s is open: held for review (re-arm with consumer breaker reset)", denied)}
		}
		defer release()
		err := next(ctx, c)
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

// syncTimeout bounds the wait for the other instances' records.
const syncTimeout = 2 * time.Second

// syncNearCap catches the ledger up with the other instances' records
// before a suspension in a scope whose room is within one per source
// partition of its cap: far from the cap it costs nothing, near it the
// count is current, so all instances together overshoot by at most one
// suspension in flight per partition. When the state topic cannot be read
// in time the decision goes on with the count it has (the per-partition
// share still bounds it), and says so.
func (s *Service) syncNearCap(ctx context.Context, scopes []capped) {
	syncer, ok := s.ledger.store.(Syncer)
	if !ok || s.cfg.DryRun {
		return
	}
	near := false
	now := s.now()
	for _, sc := range scopes {
		if sc.limit.Count-s.ledger.Suspensions(sc.scope, sc.limit.Window, now) <= max(s.cfg.SourcePartitions, 1) {
			near = true
		}
	}
	if !near {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	if err := syncer.Sync(ctx); err != nil {
		s.log.WarnContext(ctx, "breaker: cannot read the other instances' latest suspensions; counting what is known", "error", err.Error())
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

// reserve checks every scope and, when none is open or full, reserves one
// suspension in each; release gives the reservations back. denied names
// the first scope that refused; trip is set when that scope must trip now.
// When only suspensions still in flight could fill a scope, reserve waits
// for them to finish: whether they succeed decides whether this one may go.
// The window is counted at the time of each look, so suspensions that
// started after this decision are counted too. With partitions known, the
// source partition src may hold at most max(1, room/partitions)
// reservations of a scope at once, room being what is left of its cap:
// the instances, which do not see each other's reservations, together
// overshoot a cap by at most one per partition.
func (l *Ledger) reserve(scopes []capped, src string, partitions int, clock func() time.Time, checkOnly bool) (release func(), denied string, trip *BreakerEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		now := clock()
		for _, sc := range scopes {
			if b, ok := l.breakers[sc.scope]; ok && b.Open {
				return nil, sc.scope, nil
			}
		}
		if checkOnly {
			return func() {}, "", nil
		}
		wait := false
		for _, sc := range scopes {
			done := l.countLocked(sc.scope, sc.limit.Window, now)
			if done >= sc.limit.Count {
				b := BreakerEntry{Scope: sc.scope, Open: true, At: now, Reason: "cap reached", Count: done, Cap: sc.limit.Count, Window: sc.limit.Window}
				l.breakers[sc.scope] = b // open at once here; the write makes it durable and shared
				l.changed.Broadcast()
				return nil, sc.scope, &b
			}
			if done+l.reserved[sc.scope] >= sc.limit.Count {
				wait = true
			}
			if partitions > 0 && l.bySource[sc.scope][src] >= max(1, (sc.limit.Count-done)/partitions) {
				wait = true // this partition's share of the room is in flight
			}
		}
		if !wait {
			break
		}
		l.waiting++
		l.changed.Wait()
		l.waiting--
	}
	for _, sc := range scopes {
		l.reserved[sc.scope]++
		if l.bySource[sc.scope] == nil {
			l.bySource[sc.scope] = map[string]int{}
		}
		l.bySource[sc.scope][src]++
	}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, sc := range scopes {
			l.reserved[sc.scope]--
			if l.bySource[sc.scope][src]--; l.bySource[sc.scope][src] == 0 {
				delete(l.bySource[sc.scope], src)
			}
		}
		l.changed.Broadcast()
	}, "", nil
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
		if n := l.countLocked(sc.scope, sc.limit.Window, now); n >= sc.limit.Count {
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
