package remediate

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// windowModel is the breakers' count as the ledger kept it before the
// window index: every suspension in one set, scanned whole for each count.
// TestWindowCountMatchesScan feeds it the records it feeds the ledger.
type windowModel struct {
	now      time.Time
	set      map[suspension]struct{}
	pending  map[suspension]time.Time
	holdOf   map[string]suspension
	breakers map[string]BreakerEntry
}

func newWindowModel(now time.Time) *windowModel {
	return &windowModel{now: now, set: map[suspension]struct{}{}, pending: map[suspension]time.Time{},
		holdOf: map[string]suspension{}, breakers: map[string]BreakerEntry{}}
}

func (m *windowModel) settle(s suspension) {
	delete(m.pending, s)
	if m.holdOf[s.user] == s {
		delete(m.holdOf, s.user)
	}
}

func (m *windowModel) drop(s suspension) {
	delete(m.set, s)
	m.settle(s)
}

func (m *windowModel) add(s suspension) {
	if _, ok := m.set[s]; ok {
		return
	}
	m.set[s] = struct{}{}
	cut := s.at.Add(-suspensionHistory)
	for o := range m.set {
		if o.at.Before(cut) {
			m.drop(o)
		}
	}
}

func (m *windowModel) hold(h Hold) {
	s := suspension{at: h.At, rule: h.Rule, user: h.UserID}
	_, pending := m.pending[s]
	_, seen := m.set[s]
	switch {
	case h.Released && pending:
		m.drop(s)
	case !h.Released && !seen:
		if old, ok := m.holdOf[h.UserID]; ok {
			m.drop(old)
		}
		m.add(s)
		m.pending[s] = minTime(h.At, m.now)
		m.holdOf[h.UserID] = s
	}
}

func (m *windowModel) suspended(user string, st Stamp) {
	s := suspension{at: st.At, rule: st.Rule, user: user}
	if !st.Hold.IsZero() {
		s.at = st.Hold
	}
	m.add(s)
	m.settle(s)
}

func (m *windowModel) breaker(b BreakerEntry) {
	if !b.Open && b.At.After(m.now) {
		b.At = m.now
	}
	m.breakers[b.Scope] = b
}

// count scans every suspension, as countLocked did.
func (m *windowModel) count(scope string, window time.Duration, user string) (settled, inFlight int) {
	since := m.now.Add(-window)
	if b, ok := m.breakers[scope]; ok && !b.Open && b.At.After(since) {
		since = b.At
	}
	rule, perRule := strings.CutPrefix(scope, ScopeRulePrefix)
	for s := range m.set {
		if !s.at.After(since) || (perRule && s.rule != rule) {
			continue
		}
		if user != "" && s.user == user && m.holdOf[user] == s {
			continue
		}
		if at, ok := m.pending[s]; ok && m.now.Sub(at) < holdTimeout {
			inFlight++
		} else {
			settled++
		}
	}
	return settled, inFlight
}

// TestWindowCountMatchesScan: on random histories, times in whole seconds
// so that suspensions fall on the windows' edges, (holds taken, confirmed
// by the user's record, released, replaced by a new hold of the same user,
// left pending until they time out; suspensions without a hold; re-arms and
// trips of the global and per-rule scopes; times out of order, ahead of
// the clock within the allowed skew, and days apart so that history is
// cut after suspensionHistory), every count of every scope, over windows
// from a minute to suspensionHistory, with and without a user's own
// pending hold left out, equals the scan of every suspension that the
// ledger counted by before the window index; and the index lists exactly
// the ledger's pending holds (a count reads them one by one).
func TestWindowCountMatchesScan(t *testing.T) {
	t.Parallel()
	users := []string{"u0", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9", "u10", "u11"}
	rules := []string{"r1", "r2", "r3"}
	scopes := []string{ScopeGlobal, RuleScope("r1"), RuleScope("r2"), RuleScope("r3"), RuleScope("none")}
	windows := []time.Duration{time.Minute, 10 * time.Minute, time.Hour, 24 * time.Hour, suspensionHistory}
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(seed, 19))
			m := newWindowModel(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
			l := NewLedger(nil, LedgerConfig{Now: func() time.Time { return m.now }})
			apply := func(key string, v any) {
				t.Helper()
				raw, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				l.Apply(key, raw, "")
			}
			// at is a time near now: mostly behind it, sometimes ahead
			// (another instance's clock), within the allowed skew.
			at := func() time.Time {
				return m.now.Add(time.Duration(rng.Int64N(20*60))*time.Second - 15*time.Minute)
			}
			for step := range 1500 {
				u, r := users[rng.IntN(len(users))], rules[rng.IntN(len(rules))]
				what := ""
				switch k := rng.IntN(100); {
				case k < 30:
					h := Hold{UserID: u, Rule: r, At: at()}
					what = fmt.Sprintf("hold %+v", h)
					m.hold(h)
					apply(holdKeyPrefix+u, h)
				case k < 45: // the user's pending hold confirmed
					s, ok := m.holdOf[u]
					if !ok {
						continue
					}
					st := Stamp{Rule: s.rule, Action: string(ActionSuspend), Result: string(ResultSuspended), At: s.at.Add(time.Second), Hold: s.at}
					what = fmt.Sprintf("confirm %s %+v", u, st)
					m.suspended(u, st)
					apply(userKeyPrefix+u, UserEntry{UserID: u, SuspendedBy: &st})
				case k < 58: // the user's pending hold released, or another hold's release
					h := Hold{UserID: u, Rule: r, At: at(), Released: true}
					if s, ok := m.holdOf[u]; ok && rng.IntN(4) > 0 {
						h.Rule, h.At = s.rule, s.at
					}
					what = fmt.Sprintf("release %+v", h)
					m.hold(h)
					apply(holdKeyPrefix+u, h)
				case k < 68: // a suspension without a hold
					st := Stamp{Rule: r, Action: string(ActionSuspend), Result: string(ResultSuspended), At: at()}
					what = fmt.Sprintf("suspended without a hold %s %+v", u, st)
					m.suspended(u, st)
					apply(userKeyPrefix+u, UserEntry{UserID: u, SuspendedBy: &st})
				case k < 74: // a re-arm or a trip
					b := BreakerEntry{Scope: scopes[rng.IntN(len(scopes))], Open: rng.IntN(3) == 0, At: at()}
					what = fmt.Sprintf("breaker %+v", b)
					m.breaker(b)
					apply(breakerKeyPrefix+b.Scope, b)
				case k < 97:
					d := time.Duration(rng.Int64N(3*60)) * time.Second
					what = fmt.Sprint("clock +", d)
					m.now = m.now.Add(d)
				default:
					d := time.Duration(rng.Int64N(3*24*3600)) * time.Second
					what = fmt.Sprint("clock +", d)
					m.now = m.now.Add(d)
				}
				l.mu.Lock()
				holds, pending := len(l.suspensions.holds), len(l.pending)
				l.mu.Unlock()
				if holds != pending {
					t.Fatalf("step %d (%s): the index lists %d pending holds, the ledger has %d", step, what, holds, pending)
				}
				for _, scope := range scopes {
					for _, w := range windows {
						for _, user := range []string{"", u} {
							l.mu.Lock()
							settled, inFlight := l.countLocked(scope, w, m.now, user)
							l.mu.Unlock()
							ws, wf := m.count(scope, w, user)
							if settled != ws || inFlight != wf {
								t.Fatalf("step %d (%s): count of %s over %s, user %q = %d settled, %d in flight; the scan says %d and %d",
									step, what, scope, w, user, settled, inFlight, ws, wf)
							}
						}
					}
				}
			}
		})
	}
}

// TestWindowIndexForgetsWhatIsCut: the index keeps no suspension, rule or
// hold that history cut, so its size follows what the windows can reach,
// not what tripline ever did.
func TestWindowIndexForgetsWhatIsCut(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	l := NewLedger(nil, LedgerConfig{Now: func() time.Time { return now }})
	for i := range 1000 {
		now = t0.Add(time.Duration(i) * time.Minute)
		h := Hold{UserID: fmt.Sprint("u", i), Rule: fmt.Sprint("rule", i%50), At: now}
		raw, _ := json.Marshal(h)
		l.Apply(holdKeyPrefix+h.UserID, raw, "")
	}
	now = t0.Add(1000*time.Minute + suspensionHistory)
	h := Hold{UserID: "last", Rule: "last-rule", At: now}
	raw, _ := json.Marshal(h)
	l.Apply(holdKeyPrefix+h.UserID, raw, "")
	w := l.suspensions
	if len(w.all) != 1 || len(w.byRule) != 1 || len(w.holds) != 1 || len(l.pending) != 1 || len(l.seen) != 1 {
		t.Errorf("after the history was cut: %d suspensions, %d rules, %d holds in the index, %d pending, %d seen; want 1 each (the last hold)",
			len(w.all), len(w.byRule), len(w.holds), len(l.pending), len(l.seen))
	}
}

// BenchmarkBreakerCount measures a decision's count of its scopes (global
// and its rule, its own pending hold left out) with history suspensions
// in the window, spread over 20 rules, and 8 holds in flight: the cost
// must not grow with history.
func BenchmarkBreakerCount(b *testing.B) {
	for _, history := range []int{1_000, 100_000} {
		b.Run(fmt.Sprint("history=", history), func(b *testing.B) {
			t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
			now := t0
			l := NewLedger(nil, LedgerConfig{Now: func() time.Time { return now }})
			for i := range history {
				now = t0.Add(time.Duration(i) * time.Millisecond)
				st := Stamp{Rule: fmt.Sprint("rule", i%20), Action: string(ActionSuspend), At: now}
				raw, _ := json.Marshal(UserEntry{UserID: fmt.Sprint("u", i), SuspendedBy: &st})
				l.Apply(userKeyPrefix+fmt.Sprint("u", i), raw, "")
			}
			for i := range 8 {
				raw, _ := json.Marshal(Hold{UserID: fmt.Sprint("h", i), Rule: "rule3", At: now})
				l.Apply(holdKeyPrefix+fmt.Sprint("h", i), raw, "")
			}
			scopes := []capped{{ScopeGlobal, Limit{Count: 10 * history, Window: time.Hour}}, {RuleScope("rule3"), Limit{Count: 10 * history, Window: time.Hour}}}
			b.ResetTimer()
			for b.Loop() {
				if denied, _, _ := l.admit(scopes, "h3", now, false); denied != "" {
					b.Fatalf("denied by %s", denied)
				}
			}
		})
	}
}
