package ledger

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStateAppliesByOffsetPerKey(t *testing.T) {
	t.Parallel()
	type applied struct {
		Key, Value string
		Nil        bool
	}
	var got []applied
	s := newState(func(k string, v []byte, _ string) { got = append(got, applied{k, string(v), v == nil}) })

	steps := []struct {
		key    string
		value  []byte
		offset int64
		want   bool
	}{
		{"u1", []byte("a"), 5, true},
		{"u1", []byte("stale"), 3, false}, // an older record of another instance
		{"u1", []byte("a"), 5, false},     // the tail delivering our own Put
		{"u2", []byte("x"), 4, true},      // keys are independent
		{"u1", []byte("b"), 7, true},
		{"u1", nil, 8, true},               // tombstone
		{"u1", []byte("undead"), 6, false}, // must not resurrect a deleted key
		{"u1", []byte("c"), 9, true},
	}
	for _, st := range steps {
		if ok := s.offer(st.key, st.value, "", st.offset); ok != st.want {
			t.Errorf("offer(%q, %q, %d) = %v, want %v", st.key, st.value, st.offset, ok, st.want)
		}
	}
	want := []applied{{"u1", "a", false}, {"u2", "x", false}, {"u1", "b", false}, {"u1", "", true}, {"u1", "c", false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}
	if a, sk := s.counts(); a != 5 || sk != 3 {
		t.Errorf("counts = %d applied, %d skipped; want 5, 3", a, sk)
	}
}
