package ledger

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type appliedRecord struct {
	Key, Value string
	Nil        bool
}

func TestStateAppliesByOffsetPerKey(t *testing.T) {
	t.Parallel()
	var got []appliedRecord
	s := newState(func(k string, v []byte, _ string) { got = append(got, appliedRecord{k, string(v), v == nil}) })

	steps := []struct {
		write  bool // this instance's Put; otherwise read from the partition
		key    string
		value  []byte
		offset int64
		want   bool
	}{
		{false, "u0", []byte("first"), 1, true},
		{true, "u1", []byte("a"), 5, true},           // our Put, ahead of the reads
		{false, "u1", []byte("stale"), 3, false},     // an older record of another instance
		{false, "u1", []byte("a"), 5, false},         // the reads reaching our own Put
		{false, "u2", []byte("x"), 6, true},          // keys are independent
		{false, "u1", []byte("b"), 7, true},          // another instance's, after ours
		{true, "u1", nil, 8, true},                   // our tombstone
		{true, "u1", []byte("undead"), 8, false},     // the same write applied twice
		{false, "u1", nil, 8, false},                 // the reads reaching the tombstone
		{false, "u1", []byte("c"), 9, true},          // a later record
		{true, "u2", []byte("late"), 4, false},       // a write the reads already passed
		{false, "u3", []byte("refetched"), 2, false}, // a fetch again below the reads
	}
	for _, st := range steps {
		offer := s.offerRead
		if st.write {
			offer = s.offerWrite
		}
		if ok := offer(0, st.key, st.value, "", st.offset); ok != st.want {
			t.Errorf("offer(write=%v, %q, %q, %d) = %v, want %v", st.write, st.key, st.value, st.offset, ok, st.want)
		}
	}
	want := []appliedRecord{{"u0", "first", false}, {"u1", "a", false}, {"u2", "x", false}, {"u1", "b", false}, {"u1", "", true}, {"u1", "c", false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	if a, sk := s.counts(); a != 6 || sk != 6 {
		t.Errorf("counts = %d applied, %d skipped; want 6, 6", a, sk)
	}
}

// TestStateWriteAheadOfADeletedKeyIsNotUndone: a tombstone this instance
// wrote, applied before the reads reach it, is not undone by an older
// record of the key the reads deliver afterwards.
func TestStateWriteAheadOfADeletedKeyIsNotUndone(t *testing.T) {
	t.Parallel()
	var got []appliedRecord
	s := newState(func(k string, v []byte, _ string) { got = append(got, appliedRecord{k, string(v), v == nil}) })
	s.offerWrite(0, "u", nil, "", 10)
	s.offerRead(0, "u", []byte("older"), "", 9)
	s.offerRead(1, "u", []byte("other partition"), "", 11)
	want := []appliedRecord{{"u", "", true}, {"u", "other partition", false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
}

// TestStateMemoryDoesNotGrowWithKeys: what the table keeps per record
// read does not depend on how many keys the topic holds, and a write the
// reads have reached is forgotten.
func TestStateMemoryDoesNotGrowWithKeys(t *testing.T) {
	s := newState(func(string, []byte, string) {})
	keys := make([]string, 100_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("user/U%025d", i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i, k := range keys {
		s.offerRead(0, k, nil, "", int64(i))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 1<<20 {
		t.Errorf("the state grew by %d bytes over 100,000 keys, want it flat", grew)
	}
	runtime.KeepAlive(keys)
	s.offerWrite(0, "user/w", []byte("v"), "", 200_000)
	s.offerRead(0, "user/w", []byte("v"), "", 200_000)
	if n := len(s.ahead[0]); n != 0 {
		t.Errorf("%d writes remembered after the reads reached them, want 0", n)
	}
}
