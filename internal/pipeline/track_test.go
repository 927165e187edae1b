package pipeline

import "testing"

func TestTrackerCommitsOnlyAContiguousWatermark(t *testing.T) {
	t.Parallel()
	tr := newTracker(10)
	for o := int64(10); o < 15; o++ {
		tr.fetched(o)
	}
	steps := []struct {
		finish int64
		want   int64
		moved  bool
	}{
		{12, 10, false}, // 10 and 11 are still in flight
		{14, 10, false},
		{10, 11, true},
		{10, 11, false}, // finished twice: nothing moves
		{11, 13, true},  // 11, then 12 already finished
		{13, 15, true},
		{9, 15, false}, // never fetched in this generation: ignored, never backwards
	}
	for _, st := range steps {
		if got, moved := tr.finished(st.finish); got != st.want || moved != st.moved {
			t.Errorf("finished(%d) = %d, %t; want %d, %t", st.finish, got, moved, st.want, st.moved)
		}
	}
	if n := tr.releasedUpTo(15); n != 5 {
		t.Errorf("released up to 15 = %d, want 5", n)
	}
	if n := tr.inFlight(); n != 0 {
		t.Errorf("%d in flight", n)
	}
}

func TestTrackerFollowsARelativeStart(t *testing.T) {
	t.Parallel()
	tr := newTracker(-2) // kafka.FirstOffset: the first fetch says where
	if w := tr.watermark(); w >= 0 {
		t.Fatalf("watermark %d before any fetch", w)
	}
	tr.fetched(40)
	tr.fetched(41)
	if w, _ := tr.finished(41); w != 40 {
		t.Errorf("watermark %d after finishing 41 only, want 40", w)
	}
	if w, _ := tr.finished(40); w != 42 {
		t.Errorf("watermark %d, want 42", w)
	}
}
