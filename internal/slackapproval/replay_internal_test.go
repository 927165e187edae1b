package slackapproval

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

func TestReplayCacheBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	c := newReplayCache(3, ReplayWindow)

	for i := range 3 {
		if err := c.add("id"+strconv.Itoa(i), now.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatalf("add %d: %v", i, err)
		}
	}
	if err := c.add("id1", now.Add(time.Minute)); !errors.Is(err, errReplay) {
		t.Errorf("repeat within the window = %v, want errReplay", err)
	}
	if err := c.add("id3", now.Add(time.Minute)); !errors.Is(err, errReplayFull) {
		t.Errorf("add to a full cache = %v, want errReplayFull", err)
	}

	// id0 expires first; then there is room again, and id0 is new.
	at := now.Add(ReplayWindow)
	if err := c.add("id3", at); err != nil {
		t.Errorf("add after the oldest expired: %v", err)
	}
	if err := c.add("id1", at); !errors.Is(err, errReplay) {
		t.Errorf("id1 forgotten early: %v", err)
	}
	if err := c.add("id1", now.Add(ReplayWindow+time.Second)); err != nil {
		t.Errorf("id1 after its window: %v", err)
	}

	// A long run keeps memory at the bound.
	for i := range 1000 {
		at = at.Add(ReplayWindow / 2)
		if err := c.add("run"+strconv.Itoa(i), at); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if n := c.len(); n > 3 {
		t.Errorf("entries = %d, want at most 3", n)
	}
	if len(c.order) > 6 {
		t.Errorf("order slice = %d entries, want it compacted", len(c.order))
	}
}
