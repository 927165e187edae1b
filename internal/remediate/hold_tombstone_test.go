package remediate

import (
	"slices"
	"testing"
	"time"
)

// holdWrites counts the records written under a user's hold key.
func holdWrites(st *memStore, user string) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(slices.DeleteFunc(slices.Clone(st.writes), func(k string) bool { return k != holdKeyPrefix+user }))
}

// isTombstoned reports whether the last record of key is a tombstone.
func isTombstoned(st *memStore, key string) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	r, ok := st.log[key]
	return ok && r.value == nil
}

// TestConfirmedHoldIsTombstonedAndStillCounts: once the user's record
// confirms a suspension, its hold is tombstoned; the suspension still
// counts in the breaker's window, on this instance and on one that loads
// the topic afterwards (the user's record feeds the count, not the hold).
func TestConfirmedHoldIsTombstonedAndStillCounts(t *testing.T) {
	t.Parallel()
	s, _, st, now := testService(t, Config{Breaker: Limit{Count: 5, Window: time.Hour}}, ann)
	if out, err := s.Decide(t.Context(), suspendOf("r1", ann.Email, "ev1")); err != nil || out.Result != ResultSuspended {
		t.Fatalf("Decide = %v, %v", out.Result, err)
	}
	if !isTombstoned(st, holdKeyPrefix+ann.ID) {
		t.Error("the confirmed hold was not tombstoned")
	}
	if got := s.ledger.Suspensions(ScopeGlobal, time.Hour, *now); got != 1 {
		t.Errorf("%d suspensions counted after the hold's tombstone, want 1", got)
	}
	fresh := NewLedger(st, LedgerConfig{Instance: "fresh", Now: func() time.Time { return *now }})
	st.join(fresh)
	if got := fresh.Suspensions(ScopeGlobal, time.Hour, *now); got != 1 {
		t.Errorf("a fresh instance counts %d suspensions, want 1", got)
	}
}

// TestReleasedHoldIsTombstonedAfterItsRelease: a hold whose suspension did
// not happen is released first (so every instance stops counting it), then
// tombstoned.
func TestReleasedHoldIsTombstonedAfterItsRelease(t *testing.T) {
	t.Parallel()
	s, api, st, now := testService(t, Config{Breaker: Limit{Count: 5, Window: time.Hour}}, ann)
	delete(api.states, ann.ID) // the API does not know the user: no suspension
	if out, _ := s.Decide(t.Context(), suspendOf("r1", ann.Email, "ev1")); out.Result == ResultSuspended {
		t.Fatal("suspended a user the API does not know")
	}
	if got := holdWrites(st, ann.ID); got != 3 {
		t.Errorf("%d writes of the hold, want 3 (hold, release, tombstone)", got)
	}
	if !isTombstoned(st, holdKeyPrefix+ann.ID) {
		t.Error("the released hold was not tombstoned")
	}
	if got := s.ledger.Suspensions(ScopeGlobal, time.Hour, *now); got != 0 {
		t.Errorf("%d suspensions counted, want 0", got)
	}
}

// TestTombstoneOfAPendingHoldOnlyEndsItsFlight: a tombstone of a hold still
// in flight (replayed, or from an instance that lost its release) does not
// make the breaker forget it: it counts as a suspension made.
func TestTombstoneOfAPendingHoldOnlyEndsItsFlight(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	keys := ring(t, stateKey, nil)
	st := &memStore{}
	l := NewLedger(st, LedgerConfig{Instance: "a", Keys: keys, Now: func() time.Time { return now }})
	st.join(l)
	if err := l.PutHold(t.Context(), Hold{UserID: "U", Rule: "r1", At: now, Instance: "b"}); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	settled, inFlight := l.countLocked(ScopeGlobal, time.Hour, now, "")
	l.mu.Unlock()
	if settled != 0 || inFlight != 1 {
		t.Fatalf("before the tombstone: %d settled, %d in flight; want 0, 1", settled, inFlight)
	}
	forge(t, st, keys, holdKeyPrefix+"U", nil)
	l.mu.Lock()
	settled, inFlight = l.countLocked(ScopeGlobal, time.Hour, now, "")
	l.mu.Unlock()
	if settled != 1 || inFlight != 0 {
		t.Errorf("after the tombstone: %d settled, %d in flight; want 1, 0", settled, inFlight)
	}
}

// TestStaleHoldIsTombstonedAndKeepsCounting: a hold left in flight for
// more than an hour (its instance died mid-call) is tombstoned by the
// retention pass, and still counts as a suspension made; a younger one is
// left alone.
func TestStaleHoldIsTombstonedAndKeepsCounting(t *testing.T) {
	t.Parallel()
	l, st, clk := retentionLedger(t)
	start := clk.Now()
	if err := l.PutHold(t.Context(), Hold{UserID: "DEAD", Rule: "r1", At: start, Instance: "b"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(50 * time.Minute)
	if err := l.PutHold(t.Context(), Hold{UserID: "LIVE", Rule: "r1", At: clk.Now(), Instance: "c"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(11 * time.Minute)
	n, err := l.ForgetStaleHolds(t.Context(), clk.Now(), 10)
	if err != nil || n != 1 {
		t.Fatalf("ForgetStaleHolds = %d, %v; want 1, nil", n, err)
	}
	if !isTombstoned(st, holdKeyPrefix+"DEAD") {
		t.Error("the stale hold was not tombstoned")
	}
	if isTombstoned(st, holdKeyPrefix+"LIVE") {
		t.Error("a hold in flight for 11 minutes was tombstoned")
	}
	if got := l.Suspensions(ScopeGlobal, 2*time.Hour, clk.Now()); got != 2 {
		t.Errorf("%d suspensions counted, want 2 (the stale hold counts as made)", got)
	}
}
