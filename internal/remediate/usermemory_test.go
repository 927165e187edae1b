package remediate

import (
	"fmt"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestCompactedEntryReadsBackWhole: what the ledger shares inside the
// entries it keeps (a suspension equal to the last action, one event id,
// a cooldown the last action started) reads back whole and independent:
// User returns the entry as written, and changing that copy changes
// nothing in the ledger.
func TestCompactedEntryReadsBackWhole(t *testing.T) {
	t.Parallel()
	l, _, clk := retentionLedger(t)
	at := clk.Now().Add(-time.Minute)
	st := Stamp{Rule: "r1", Event: "ev-1", Action: string(ActionSuspend), Result: string(ResultSuspended), Before: StateActive, At: at, Instance: "a", Hold: at.Add(-time.Second)}
	cases := map[string]UserEntry{
		"suspended": {UserID: "U1", Last: &st, Events: []string{"ev-0", "ev-1"}, Cooldowns: map[string]time.Time{"r1": at}, SuspendedBy: new(st)},
		"two cooldowns": {UserID: "U2", Last: &st, Events: []string{"ev-1"},
			Cooldowns: map[string]time.Time{"r1": at, "r0": at.Add(-time.Hour)}},
		"cooldown of another rule": {UserID: "U3", Last: &st, Cooldowns: map[string]time.Time{"r0": at}},
		"cooldown at another time": {UserID: "U4", Last: &st, Cooldowns: map[string]time.Time{"r1": at.Add(-time.Hour)}},
		"no cooldown":              {UserID: "U5", Last: &st},
	}
	putUser(t, l, cases["suspended"])
	l.mu.Lock()
	kept := l.users["U1"]
	shared := kept.SuspendedBy == kept.Last && kept.Cooldowns == nil && unsafe.StringData(kept.Events[1]) == unsafe.StringData(kept.Last.Event)
	l.mu.Unlock()
	if !shared {
		t.Errorf("the kept entry %+v shares neither its stamp nor its cooldown", kept)
	}
	for name, e := range cases {
		putUser(t, l, e)
		got, ok := l.User(e.UserID)
		if !ok {
			t.Fatalf("%s: no entry", name)
		}
		if diff := cmp.Diff(e, got, cmpopts.IgnoreUnexported(UserEntry{}), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: read back (-written +read):\n%s", name, diff)
		}
		if got.Last != nil {
			got.Last.Rule = "changed"
		}
		if got.SuspendedBy != nil {
			got.SuspendedBy.Event = "changed"
		}
		for k := range got.Cooldowns {
			got.Cooldowns[k] = time.Time{}
		}
		again, _ := l.User(e.UserID)
		if diff := cmp.Diff(e, again, cmpopts.IgnoreUnexported(UserEntry{}), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: changing a copy changed the ledger (-written +read):\n%s", name, diff)
		}
	}
}

// TestUserEntryFitsInOneKiB: a user record as tripline writes it after a
// suspension (its stamp twice, its event, its rule's cooldown) costs the
// ledger at most 1 KiB of heap, every map and index included.
func TestUserEntryFitsInOneKiB(t *testing.T) {
	const n = 20_000
	l, _, clk := retentionLedger(t)
	values := make([][]byte, n)
	sigs := make([]string, n)
	keys := ring(t, stateKey, nil)
	for i := range n {
		at := clk.Now().Add(-time.Hour + time.Duration(i)*time.Millisecond)
		rule := fmt.Sprintf("rule_%d", i%8)
		st := Stamp{Rule: rule, Event: fmt.Sprintf("evt-%08x-4b1d-4c1e-9f0a-%012x", i, i), Action: string(ActionSuspend),
			Result: string(ResultSuspended), Before: StateActive, At: at, Instance: "tripline-7d9f8c6b5-x2k4q", Hold: at.Add(-time.Millisecond)}
		e := UserEntry{UserID: fmt.Sprintf("U%025d", i), Last: &st, Events: []string{st.Event}, Cooldowns: map[string]time.Time{rule: at}, SuspendedBy: new(st)}
		v, err := encode(&e, e.shrink)
		if err != nil {
			t.Fatal(err)
		}
		values[i], sigs[i] = v, keys.Sign(stateFields(userKeyPrefix+e.UserID, v)...)
	}
	keyNames := make([]string, n)
	for i := range n {
		keyNames[i] = fmt.Sprintf("%sU%025d", userKeyPrefix, i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		l.Apply(keyNames[i], values[i], sigs[i])
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if got := l.Users(); got != n {
		t.Fatalf("%d users applied, want %d (refused %v)", got, n, l.RefusedCounts())
	}
	perUser := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("%d B of heap per user record", perUser)
	if perUser > 1024 {
		t.Errorf("%d B of heap per user record, want at most 1024", perUser)
	}
	runtime.KeepAlive(values)
}

// TestUserRecordDecodeIsStrict: a user record is decoded as tripline
// writes it: a repeated or differently cased field, a time that does not
// parse, a field of the wrong type and invalid UTF-8 are refused as
// undecodable, and the entry in force stays.
func TestUserRecordDecodeIsStrict(t *testing.T) {
	t.Parallel()
	l, st, clk := retentionLedger(t)
	putUser(t, l, reactivated("A", clk.Now()))
	keys := ring(t, stateKey, nil)
	for _, value := range []string{
		`{"user_id":"A","user_id":"A"}`,
		`{"USER_ID":"A"}`,
		`{"user_id":"A","last":{"rule":"r","action":"suspend","result":"suspended","at":"yesterday"}}`,
		`{"user_id":"A","events":"ev-1"}`,
		"{\"user_id\":\"A\",\"events\":[\"\xff\"]}",
	} {
		if err := st.Put(t.Context(), userKeyPrefix+"A", []byte(value), keys.Sign(stateFields(userKeyPrefix+"A", []byte(value))...)); err != nil {
			t.Fatal(err)
		}
	}
	if got := refusedCount(l, RefusedUndecodable); got != 5 {
		t.Errorf("%d refused as undecodable, want 5", got)
	}
	if e, ok := l.User("A"); !ok || e.Last == nil {
		t.Errorf("the entry in force was replaced: %+v", e)
	}
}
