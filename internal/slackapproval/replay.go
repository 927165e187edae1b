package slackapproval

import (
	"errors"
	"sync"
	"time"
)

// MaxReplayEntries bounds the payload ids the Handler remembers. Each id
// is a 32-byte hash plus its expiry and map and queue overhead, so 10,000
// take about 2 MB. Slack sends one payload per click, so a full cache
// means far more clicks in ReplayWindow than approvers make; the Handler
// then refuses new payloads (503) rather than forget ids.
const MaxReplayEntries = 10000

// ReplayWindow is how long the Handler remembers an accepted payload id:
// twice MaxClockSkew, because a request stamped up to MaxClockSkew in the
// future stays acceptable until MaxClockSkew after that stamp.
const ReplayWindow = 2 * MaxClockSkew

var (
	errReplay     = errors.New("payload already accepted")
	errReplayFull = errors.New("replay cache full")
)

// replayCache remembers payload ids for ReplayWindow. Memory is bounded by
// max: when it is full of unexpired ids, new payloads are refused (the
// cache fails closed rather than forget an id an attacker could replay).
// Ids expire in insertion order because the window is fixed, so expiry is
// a walk from the front of a FIFO.
type replayCache struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	seen   map[string]time.Time // id -> expiry
	order  []replayEntry        // insertion order; order[head:] is live
	head   int
}

type replayEntry struct {
	id      string
	expires time.Time
}

func newReplayCache(max int, window time.Duration) *replayCache {
	return &replayCache{max: max, window: window, seen: make(map[string]time.Time)}
}

// add records id at now. It returns errReplay if id was recorded within the
// window, and errReplayFull if max unexpired ids are already held.
func (c *replayCache) add(id string, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	if exp, ok := c.seen[id]; ok && now.Before(exp) {
		return errReplay
	}
	if len(c.seen) >= c.max {
		return errReplayFull
	}
	exp := now.Add(c.window)
	c.seen[id] = exp
	c.order = append(c.order, replayEntry{id: id, expires: exp})
	return nil
}

func (c *replayCache) expire(now time.Time) {
	for c.head < len(c.order) && !now.Before(c.order[c.head].expires) {
		e := c.order[c.head]
		if c.seen[e.id].Equal(e.expires) {
			delete(c.seen, e.id)
		}
		c.order[c.head] = replayEntry{}
		c.head++
	}
	// Compact once the dead prefix dominates, so the slice stays O(max).
	if c.head > 0 && c.head >= len(c.order)/2 {
		c.order = append(c.order[:0], c.order[c.head:]...)
		c.head = 0
	}
}

func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
