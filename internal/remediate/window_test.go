package remediate

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestBreakerWindowSlides: with a cap of 3 per 10m, one suspension at t0
// and one at t0+5m, a look at t0+11m counts only the second: the first has
// slid out of the window. So two more decisions act (the second of them
// reaches the cap and trips the scope) and the third is held. Counting
// every suspension ever made would let only one act; a window that starts
// afresh every 10m would let three act.
func TestBreakerWindowSlides(t *testing.T) {
	t.Parallel()
	const window = 10 * time.Minute
	for _, tc := range []struct {
		name  string
		cfg   Config
		scope string
		max   Limit // the decisions' max_actions
	}{
		{"global", Config{Breaker: Limit{Count: 3, Window: window}}, ScopeGlobal, Limit{}},
		{"rule", Config{}, RuleScope("r1"), Limit{Count: 3, Window: window}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			users := usersN(5)
			s, api, _, now := testService(t, tc.cfg, users...)
			t0 := *now
			decide := func(i int) Result {
				t.Helper()
				d := suspendOf("r1", users[i].Email, fmt.Sprint("ev", i))
				d.MaxActions = tc.max
				out, err := s.Decide(t.Context(), d)
				var f *Failure
				if out.Result == ResultBreakerOpen && (!errors.As(err, &f) || f.Class != ClassBreakerOpen) {
					t.Errorf("decision %d: breaker_open with error %v, want a Failure of class breaker_open", i, err)
				}
				return out.Result
			}
			counted := func() int { return s.ledger.Suspensions(tc.scope, window, *now) }

			if r := decide(0); r != ResultSuspended {
				t.Fatalf("decision 0 at t0 = %s, want suspended", r)
			}
			*now = t0.Add(5 * time.Minute)
			if r := decide(1); r != ResultSuspended {
				t.Fatalf("decision 1 at t0+5m = %s, want suspended", r)
			}
			if n := counted(); n != 2 {
				t.Fatalf("at t0+5m %d suspensions counted in the window, want 2", n)
			}

			*now = t0.Add(window + time.Minute)
			if n := counted(); n != 1 {
				t.Errorf("at t0+11m %d suspensions counted in the window, want 1 (the one at t0 slid out)", n)
			}
			got := []Result{decide(2), decide(3), decide(4)}
			want := []Result{ResultSuspended, ResultSuspended, ResultBreakerOpen}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("decisions at t0+11m = %v, want %v", got, want)
			}
			if n := api.count("suspend"); n != 4 {
				t.Errorf("%d suspend calls, want 4", n)
			}
			b, ok := s.ledger.Breaker(tc.scope)
			if !ok || !b.Open || b.Count != 3 || b.Cap != 3 || b.Window != window || !b.At.Equal(*now) {
				t.Errorf("breaker %s = %+v, want open at t0+11m with 3 of 3 in %s", tc.scope, b, window)
			}
		})
	}
}

// TestRearmNeedsWhoAndWhy: a re-arm without who (empty or blank) or
// without why is refused, writes nothing and leaves the scope open.
func TestRearmNeedsWhoAndWhy(t *testing.T) {
	t.Parallel()
	led, st := newTestLedger()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	trip := func() {
		t.Helper()
		if err := led.PutBreaker(t.Context(), BreakerEntry{Scope: ScopeGlobal, Open: true, At: now, Reason: "cap reached"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ name, by, reason string }{
		{"no by", "", "reviewed the burst"},
		{"blank by", " \t\n", "reviewed the burst"},
		{"no reason", "alice", ""},
		{"blank reason", "alice", "   "},
		{"neither", "", ""},
	} {
		trip() // each case starts from an open scope
		writes := len(st.writes)
		if err := led.Rearm(t.Context(), ScopeGlobal, tc.by, tc.reason, now); err == nil {
			t.Errorf("%s: re-arm by %q for %q accepted", tc.name, tc.by, tc.reason)
		}
		if n := len(st.writes) - writes; n != 0 {
			t.Errorf("%s: a refused re-arm wrote %d records", tc.name, n)
		}
		if b, _ := led.Breaker(ScopeGlobal); !b.Open {
			t.Errorf("%s: the scope was re-armed: %+v", tc.name, b)
		}
	}
	if err := led.Rearm(t.Context(), ScopeGlobal, "alice", "reviewed the burst", now); err != nil {
		t.Fatalf("re-arm with who and why: %v", err)
	}
	if b, _ := led.Breaker(ScopeGlobal); b.Open || b.By != "alice" || b.Reason != "reviewed the burst" {
		t.Errorf("breaker after the re-arm = %+v, want armed by alice", b)
	}
}

// restart returns a new ledger that loads every record st holds, as a
// restarted instance loads the state topic; it writes to a store of its
// own: the instance that wrote st's records is gone.
func restart(st *memStore) *Ledger {
	l, _ := newTestLedger()
	st.join(l)
	return l
}

// TestBreakerTripOutlivesItsWindowAcrossARestart: a scope that tripped
// stays open after a restart that comes when its window has long passed
// (no suspension counts any more): a decision is held until an operator
// re-arms the scope.
func TestBreakerTripOutlivesItsWindowAcrossARestart(t *testing.T) {
	t.Parallel()
	const window = 10 * time.Minute
	users := usersN(4)
	s, api, st, now := testService(t, Config{Breaker: Limit{Count: 2, Window: window}}, users...)
	for i := range 2 {
		if out, _ := s.Decide(t.Context(), suspendOf("r1", users[i].Email, fmt.Sprint("ev", i))); out.Result != ResultSuspended {
			t.Fatalf("decision %d = %s, want suspended", i, out.Result)
		}
	}
	if got := s.ledger.OpenScopes(); fmt.Sprint(got) != "[global]" {
		t.Fatalf("open scopes after the cap = %v, want [global]", got)
	}

	*now = now.Add(window + time.Hour)
	led := restart(st)
	s2, err := New(s.cfg, Deps{Directory: s.dir, API: s.api, Ledger: led, Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	if n := led.Suspensions(ScopeGlobal, window, *now); n != 0 {
		t.Errorf("%d suspensions counted in the window after it passed, want 0", n)
	}
	if got := s2.ledger.OpenScopes(); fmt.Sprint(got) != "[global]" {
		t.Errorf("open scopes after the restart = %v, want [global]", got)
	}
	out, err := s2.Decide(t.Context(), suspendOf("r1", users[2].Email, "ev2"))
	var f *Failure
	if out.Result != ResultBreakerOpen || !errors.As(err, &f) || f.Class != ClassBreakerOpen {
		t.Errorf("decision after the restart = %s, %v; want breaker_open", out.Result, err)
	}
	if n := api.count("suspend"); n != 2 {
		t.Errorf("%d suspend calls, want 2: nothing acts while the scope is open", n)
	}

	if err := led.Rearm(t.Context(), ScopeGlobal, "alice", "reviewed the burst", *now); err != nil {
		t.Fatal(err)
	}
	if out, err := s2.Decide(t.Context(), suspendOf("r1", users[3].Email, "ev3")); out.Result != ResultSuspended {
		t.Errorf("decision after the re-arm = %s, %v; want suspended", out.Result, err)
	}
}
