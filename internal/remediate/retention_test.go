package remediate

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/fakeclock"
)

const day = 24 * time.Hour

// retentionLedger is a ledger over a memStore on a fake clock, signed under
// the test key, with a retention of 90 days.
func retentionLedger(t *testing.T) (*Ledger, *memStore, *fakeclock.Clock) {
	t.Helper()
	clk := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	st := &memStore{}
	l := NewLedger(st, LedgerConfig{Instance: "a", Keys: ring(t, stateKey, nil), Now: clk.Now, Retention: 90 * day})
	st.join(l)
	return l, st, clk
}

// stored returns the last record the store holds under key, and whether
// there is one that is not a tombstone.
func stored(st *memStore, key string) ([]byte, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	r, ok := st.log[key]
	return r.value, ok && r.value != nil
}

// putUser writes a user's entry through the ledger, failing the test on
// error.
func putUser(t *testing.T, l *Ledger, e UserEntry) {
	t.Helper()
	if err := l.PutUser(t.Context(), e); err != nil {
		t.Fatal(err)
	}
}

// reactivated is the entry of a user tripline suspended an hour before at
// and reactivated at at: nothing needs it any more.
func reactivated(id string, at time.Time) UserEntry {
	e := UserEntry{UserID: id}
	e.noteAction(Stamp{Rule: "r1", Event: "ev-" + id, Action: string(ActionSuspend), Result: string(ResultSuspended), At: at.Add(-time.Hour)})
	e.noteAction(Stamp{Rule: "r2", Event: "ev2-" + id, Action: string(ActionReactivate), Result: string(ResultReactivated), At: at})
	return e
}

// TestUserRecordForgottenAfterRetentionOnlyWhenNothingNeedsIt: a record
// nothing needs is kept until its last activity is more than the retention
// old, then tombstoned on the topic and dropped from memory; a record of a
// user tripline suspended (not reactivated since), under a timed
// suspension, with a pending approval or with an exception in force is
// never forgotten, however old.
func TestUserRecordForgottenAfterRetentionOnlyWhenNothingNeedsIt(t *testing.T) {
	t.Parallel()
	l, st, clk := retentionLedger(t)
	start := clk.Now()
	putUser(t, l, reactivated("FREE", start))

	suspended := UserEntry{UserID: "SUSP"}
	stamp := Stamp{Rule: "r1", Event: "ev-s", Action: string(ActionSuspend), Result: string(ResultSuspended), Before: StateActive, At: start}
	suspended.noteAction(stamp)
	suspended.SuspendedBy = &stamp
	putUser(t, l, suspended)

	contained := reactivated("CONT", start)
	contained.Containment = &Containment{Rule: "r1", Since: start, Ends: start.Add(MaxContainment), Count: 1}
	putUser(t, l, contained)

	putUser(t, l, reactivated("APPR", start))
	if err := l.PutApproval(t.Context(), Approval{ID: "ap1", State: ApprovalPending, RuleID: "r1", Action: ActionSuspend, UserID: "APPR",
		Created: start, Expires: start.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	putUser(t, l, reactivated("EXC", start))

	// Just inside the retention (counted from the reactivation, the last
	// activity): everything is kept.
	clk.Advance(90*day - time.Hour)
	if n, err := l.ForgetUsers(t.Context(), clk.Now(), 100); err != nil || n != 0 {
		t.Fatalf("ForgetUsers inside the retention = %d, %v; want 0, nil", n, err)
	}
	clk.Advance(2 * time.Hour)
	x := NewException("exc", "*", MaxException, "sec", "travel", clk.Now().Add(-time.Minute))
	if err := l.AddException(t.Context(), x); err != nil {
		t.Fatal(err)
	}
	n, err := l.ForgetUsers(t.Context(), clk.Now(), 100)
	if err != nil || n != 1 {
		t.Fatalf("ForgetUsers past the retention = %d, %v; want 1 (FREE), nil", n, err)
	}
	if _, ok := l.User("FREE"); ok {
		t.Error("FREE is still in memory after its record was forgotten")
	}
	if value, ok := stored(st, userKeyPrefix+"FREE"); ok {
		t.Errorf("the topic still holds FREE's record %s, want a tombstone", value)
	}
	for _, id := range []string{"SUSP", "CONT", "APPR", "EXC"} {
		if _, ok := l.User(id); !ok {
			t.Errorf("%s was forgotten while its record is needed", id)
		}
		if _, ok := stored(st, userKeyPrefix+id); !ok {
			t.Errorf("%s's record was tombstoned while it is needed", id)
		}
	}
	// A thousand days on, the suspension tripline made is still kept;
	// the others go once nothing needs them (the exception ended, the
	// approval decided).
	clk.Advance(1000 * day)
	if err := l.PutApproval(t.Context(), Approval{ID: "ap1", State: ApprovalDenied, RuleID: "r1", Action: ActionSuspend, UserID: "APPR",
		Created: start, Expires: start.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if n, err := l.ForgetUsers(t.Context(), clk.Now(), 100); err != nil || n != 2 {
		t.Fatalf("ForgetUsers after 1000 days = %d, %v; want 2 (APPR, EXC)", n, err)
	}
	if _, ok := l.User("SUSP"); !ok {
		t.Error("the record of a user tripline suspended was forgotten")
	}
	if _, ok := l.User("CONT"); !ok {
		t.Error("the record of a user under a timed suspension was forgotten")
	}
	if got := l.Users(); got != 2 {
		t.Errorf("%d users in memory, want 2 (SUSP, CONT)", got)
	}
}

// TestForgetUsersIsBoundedPerPass: one pass tombstones at most its limit;
// the next pass goes on.
func TestForgetUsersIsBoundedPerPass(t *testing.T) {
	t.Parallel()
	l, _, clk := retentionLedger(t)
	for i := range 25 {
		putUser(t, l, reactivated(fmt.Sprintf("U%02d", i), clk.Now()))
	}
	clk.Advance(100 * day)
	for _, want := range []int{10, 10, 5, 0} {
		if n, err := l.ForgetUsers(t.Context(), clk.Now(), 10); err != nil || n != want {
			t.Fatalf("pass forgot %d, %v; want %d", n, err, want)
		}
	}
	if n := l.Users(); n != 0 {
		t.Errorf("%d users left", n)
	}
}

// TestRunRetentionForgetsAtStart: the retention loop makes a pass as soon
// as it starts, without waiting for its first interval.
func TestRunRetentionForgetsAtStart(t *testing.T) {
	t.Parallel()
	l, _, clk := retentionLedger(t)
	putUser(t, l, reactivated("OLD", clk.Now()))
	clk.Advance(100 * day)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.RunRetention(ctx, time.Hour) }()
	waitFor(t, "the start-up pass to forget OLD", func() bool { return l.Users() == 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestAnotherInstancesTombstoneIsApplied: a record another instance
// forgot is dropped from this instance's memory too, and forgetting it
// again changes nothing.
func TestAnotherInstancesTombstoneIsApplied(t *testing.T) {
	t.Parallel()
	a, st, clk := retentionLedger(t)
	b := NewLedger(st, LedgerConfig{Instance: "b", Keys: ring(t, stateKey, nil), Now: clk.Now, Retention: 90 * day})
	st.join(b)
	putUser(t, a, reactivated("OLD", clk.Now()))
	if _, ok := b.User("OLD"); !ok {
		t.Fatal("b did not apply a's record")
	}
	clk.Advance(91 * day)
	if n, err := a.ForgetUsers(t.Context(), clk.Now(), 10); err != nil || n != 1 {
		t.Fatalf("a forgot %d, %v", n, err)
	}
	if _, ok := b.User("OLD"); ok {
		t.Error("b still holds the record a forgot")
	}
	if n, err := b.ForgetUsers(t.Context(), clk.Now(), 10); err != nil || n != 0 {
		t.Errorf("b forgot %d, %v after a did; want 0", n, err)
	}
	for _, l := range []*Ledger{a, b} {
		if got := refusedCount(l, RefusedStillNeeded); got != 0 {
			t.Errorf("%d tombstones refused, want 0", got)
		}
	}
}

// TestTombstoneOfANeededUserRecordIsRefusedAndWrittenBack: anyone who can
// write the state topic can write a tombstone, and a signed tombstone of a
// key can be replayed (its signature covers only the key). A tombstone of
// the record of a user tripline suspended, or of one whose last activity
// is within the retention, is refused (still_needed), the record stays in
// force, and Run writes it back so compaction keeps it; an unsigned one is
// refused for its signature.
func TestTombstoneOfANeededUserRecordIsRefusedAndWrittenBack(t *testing.T) {
	t.Parallel()
	l, st, clk := retentionLedger(t)
	keys := ring(t, stateKey, nil)
	e := UserEntry{UserID: "SUSP"}
	stamp := Stamp{Rule: "r1", Event: "ev-s", Action: string(ActionSuspend), Result: string(ResultSuspended), Before: StateActive, At: clk.Now()}
	e.noteAction(stamp)
	e.SuspendedBy = &stamp
	putUser(t, l, e)
	putUser(t, l, reactivated("RECENT", clk.Now()))
	clk.Advance(200 * day)
	putUser(t, l, reactivated("RECENT", clk.Now()))

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	forge(t, st, nil, userKeyPrefix+"SUSP", nil)
	if got := refusedCount(l, RefusedUnsigned); got != 1 {
		t.Errorf("unsigned tombstone: %d refused unsigned, want 1", got)
	}
	forge(t, st, keys, userKeyPrefix+"SUSP", nil)   // a replayed signed tombstone
	forge(t, st, keys, userKeyPrefix+"RECENT", nil) // its last activity is today
	if got := refusedCount(l, RefusedStillNeeded); got != 2 {
		t.Errorf("%d tombstones refused as still needed, want 2", got)
	}
	for _, id := range []string{"SUSP", "RECENT"} {
		got, ok := l.User(id)
		if !ok {
			t.Fatalf("%s was forgotten on a tombstone", id)
		}
		if id == "SUSP" && got.SuspendedBy == nil {
			t.Error("SUSP lost its provenance")
		}
		waitFor(t, id+"'s record written back", func() bool {
			_, ok := stored(st, userKeyPrefix+id)
			return ok
		})
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	value, _ := stored(st, userKeyPrefix+"SUSP")
	var back UserEntry
	if err := json.Unmarshal(value, &back); err != nil || back.SuspendedBy == nil {
		t.Errorf("written back %s (%v), want the suspension's record", value, err)
	}
}

// TestTombstoneAfterANewerRecordIsRefused: when an instance acts on a user
// after another decided to forget the record, the tombstone that comes
// after the new record is refused: the new record stays.
func TestTombstoneAfterANewerRecordIsRefused(t *testing.T) {
	t.Parallel()
	l, st, clk := retentionLedger(t)
	putUser(t, l, reactivated("U", clk.Now()))
	clk.Advance(100 * day)
	putUser(t, l, reactivated("U", clk.Now())) // acted on again meanwhile
	forge(t, st, ring(t, stateKey, nil), userKeyPrefix+"U", nil)
	if _, ok := l.User("U"); !ok {
		t.Error("the newer record was forgotten")
	}
	if got := refusedCount(l, RefusedStillNeeded); got != 1 {
		t.Errorf("%d refused as still needed, want 1", got)
	}
}

// TestLastActivityIsTheLatestTimeTheRecordCarries covers every time a
// record carries.
func TestLastActivityIsTheLatestTimeTheRecordCarries(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	later := base.Add(time.Hour)
	cases := map[string]UserEntry{
		"last":        {Last: &Stamp{At: later}},
		"hold":        {Last: &Stamp{At: base, Hold: later}},
		"suspended":   {SuspendedBy: &Stamp{At: later}},
		"reactivated": {ReactivatedSeen: later},
		"refused":     {Refused: &Refusal{At: later}},
		"cooldown":    {Cooldowns: map[string]time.Time{"a": base, "b": later}},
		"containment": {Containment: &Containment{Since: base, Ends: later}},
		"contained":   {Contained: map[string][]time.Time{"r": {base, later}}},
	}
	for name, e := range cases {
		e.Last = cmpOr(e.Last, &Stamp{At: base})
		if got := e.lastActivity(); !got.Equal(later) {
			t.Errorf("%s: last activity %s, want %s", name, got, later)
		}
	}
}

func cmpOr(p, q *Stamp) *Stamp {
	if p != nil {
		return p
	}
	return q
}
