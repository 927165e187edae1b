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
	c := newReplayCache(3, 3, ReplayWindow)

	for i := range 3 {
		if err := c.add("id"+strconv.Itoa(i), "U1", now.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatalf("add %d: %v", i, err)
		}
	}
	if err := c.add("id1", "U1", now.Add(time.Minute)); !errors.Is(err, errReplay) {
		t.Errorf("repeat within the window = %v, want errReplay", err)
	}
	if err := c.add("id3", "U2", now.Add(time.Minute)); !errors.Is(err, errReplayFull) {
		t.Errorf("add to a full cache = %v, want errReplayFull", err)
	}

	// id0 expires first; then there is room again, and id0 is new.
	at := now.Add(ReplayWindow)
	if err := c.add("id3", "U2", at); err != nil {
		t.Errorf("add after the oldest expired: %v", err)
	}
	if err := c.add("id1", "U1", at); !errors.Is(err, errReplay) {
		t.Errorf("id1 forgotten early: %v", err)
	}
	if err := c.add("id1", "U1", now.Add(ReplayWindow+time.Second)); err != nil {
		t.Errorf("id1 after its window: %v", err)
	}

	// A long run keeps memory at the bound.
	for i := range 1000 {
		at = at.Add(ReplayWindow / 2)
		if err := c.add("run"+strconv.Itoa(i), "U"+strconv.Itoa(i%7), at); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if n := c.len(); n > 3 {
		t.Errorf("entries = %d, want at most 3", n)
	}
	if len(c.order) > 6 {
		t.Errorf("order slice = %d entries, want it compacted", len(c.order))
	}
	if len(c.users) > 3 {
		t.Errorf("per-user counters = %d, want at most 3 (one per live id)", len(c.users))
	}
}

// TestReplayCacheUserShare: a user at their share is refused, others are
// not; the refused id is not recorded; a replay is still told apart from
// an over-share click; the share frees up as the user's ids expire, and
// never before.
func TestReplayCacheUserShare(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	c := newReplayCache(10, 2, ReplayWindow)

	if err := c.add("a0", "UALICE", now); err != nil {
		t.Fatal(err)
	}
	if err := c.add("a1", "UALICE", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := c.add("a2", "UALICE", now.Add(time.Minute)); !errors.Is(err, errReplayUserFull) {
		t.Errorf("third id of a user with a share of 2 = %v, want errReplayUserFull", err)
	}
	if err := c.add("a0", "UALICE", now.Add(time.Minute)); !errors.Is(err, errReplay) {
		t.Errorf("replay by a user at their share = %v, want errReplay", err)
	}
	if err := c.add("b0", "UBOB", now.Add(time.Minute)); err != nil {
		t.Errorf("another user while UALICE is at her share: %v", err)
	}
	if n := c.len(); n != 3 {
		t.Errorf("entries = %d, want 3 (the refused id is not recorded)", n)
	}

	// One second before a0 expires, UALICE is still at her share and a0
	// is still a replay; once it expires she has room for one more.
	if err := c.add("a2", "UALICE", now.Add(ReplayWindow-time.Second)); !errors.Is(err, errReplayUserFull) {
		t.Errorf("before her oldest id expired = %v, want errReplayUserFull", err)
	}
	if err := c.add("a0", "UALICE", now.Add(ReplayWindow-time.Second)); !errors.Is(err, errReplay) {
		t.Errorf("a0 forgotten early: %v", err)
	}
	if err := c.add("a2", "UALICE", now.Add(ReplayWindow)); err != nil {
		t.Errorf("after her oldest id expired: %v", err)
	}
	if err := c.add("a3", "UALICE", now.Add(ReplayWindow)); !errors.Is(err, errReplayUserFull) {
		t.Errorf("fourth id with a1 and a2 live = %v, want errReplayUserFull", err)
	}

	// Everything expires: no counter is left behind.
	if err := c.add("c0", "UCAROL", now.Add(3*ReplayWindow)); err != nil {
		t.Fatal(err)
	}
	if len(c.users) != 1 || c.users["UCAROL"] != 1 {
		t.Errorf("per-user counters = %v, want only UCAROL: 1", c.users)
	}
}

// TestReplayCacheOutOfOrderExpiry: when ids are added with stamps out of
// order (concurrent requests), an expired id stuck behind a later one is
// recorded afresh, and its user's count stays exact.
func TestReplayCacheOutOfOrderExpiry(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	c := newReplayCache(10, 2, ReplayWindow)
	if err := c.add("late", "UBOB", now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := c.add("early", "UALICE", now); err != nil {
		t.Fatal(err)
	}
	// At now+ReplayWindow "early" has expired but is queued behind "late".
	at := now.Add(ReplayWindow)
	if err := c.add("early", "UALICE", at); err != nil {
		t.Fatalf("expired id added again: %v", err)
	}
	if c.users["UALICE"] != 1 {
		t.Errorf("UALICE count = %d, want 1", c.users["UALICE"])
	}
	if err := c.add("early", "UALICE", at.Add(time.Minute)); !errors.Is(err, errReplay) {
		t.Errorf("re-recorded id forgotten early (its old queue entry dropped it): %v", err)
	}
	if err := c.add("a1", "UALICE", at.Add(time.Minute)); err != nil {
		t.Errorf("UALICE's second id: %v", err)
	}
	if err := c.add("a2", "UALICE", at.Add(time.Minute)); !errors.Is(err, errReplayUserFull) {
		t.Errorf("UALICE's third id = %v, want errReplayUserFull", err)
	}
}
