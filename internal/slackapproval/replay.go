package slackapproval

import (
	"errors"
	"sync"
	"time"
)

// MaxReplayEntries bounds the payload ids the Handler remembers. Each id
// is a 32-byte hash kept with the clicker's user id and its expiry, in a
// map and a queue, plus one counter per clicker: a few hundred bytes, so
// 10,000 take about 3 MB. Only approvers' clicks are remembered, one per
// click, so a full cache means far more clicks in ReplayWindow than
// approvers make; the Handler then refuses new payloads (503) rather than
// forget ids.
const MaxReplayEntries = 10000

// MaxReplayEntriesPerUser bounds the payload ids the Handler remembers
// for one Slack user, so that one approver's account (a stolen session, a
// script) cannot fill the cache and lock the other approvers out. An
// approver answers by hand, one click per request read: 100 in
// ReplayWindow is a click every 6 seconds for 10 minutes, well above what
// a person does even while clearing a backlog. It is 1% of
// MaxReplayEntries, so filling the cache takes 100 approver accounts. A
// user at the bound is refused (429) until their oldest id expires; other
// users are not affected.
const MaxReplayEntriesPerUser = 100

// ReplayWindow is how long the Handler remembers an accepted payload id:
// twice MaxClockSkew, because a request stamped up to MaxClockSkew in the
// future stays acceptable until MaxClockSkew after that stamp.
const ReplayWindow = 2 * MaxClockSkew

var (
	errReplay         = errors.New("payload already accepted")
	errReplayUserFull = errors.New("replay cache share of this user full")
	errReplayFull     = errors.New("replay cache full")
)

// replayCache remembers payload ids for a window, with the user who sent
// each. Memory is bounded by max ids in all and perUser ids per user: when
// either bound is reached by unexpired ids, new payloads are refused (the
// cache fails closed rather than forget an id an attacker could replay).
// Ids expire in insertion order because the window is fixed, so expiry is
// a walk from the front of a FIFO. The per-user counters hold only users
// with a live id, so there are never more of them than ids.
type replayCache struct {
	mu      sync.Mutex
	max     int
	perUser int
	window  time.Duration
	seen    map[string]replayEntry // id -> its entry
	users   map[string]int         // user -> ids of theirs in seen
	order   []replayEntry          // insertion order; order[head:] is live
	head    int
}

type replayEntry struct {
	id      string
	user    string
	expires time.Time
}

func newReplayCache(max, perUser int, window time.Duration) *replayCache {
	return &replayCache{
		max: max, perUser: perUser, window: window,
		seen: make(map[string]replayEntry), users: make(map[string]int),
	}
}

// add records id, sent by user, at now. It returns errReplay if id was
// recorded within the window, errReplayUserFull if perUser unexpired ids
// of user are already held, and errReplayFull if max unexpired ids are.
// A refused id is not recorded.
func (c *replayCache) add(id, user string, now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expire(now)
	if e, ok := c.seen[id]; ok {
		if now.Before(e.expires) {
			return errReplay
		}
		// Expired, but still queued behind an id that expires later
		// (concurrent adds can land slightly out of order).
		c.forget(e)
	}
	if c.users[user] >= c.perUser {
		return errReplayUserFull
	}
	if len(c.seen) >= c.max {
		return errReplayFull
	}
	e := replayEntry{id: id, user: user, expires: now.Add(c.window)}
	c.seen[id] = e
	c.users[user]++
	c.order = append(c.order, e)
	return nil
}

// forget drops e from seen and from its user's count. It must be called
// with mu held, for an entry of seen.
func (c *replayCache) forget(e replayEntry) {
	delete(c.seen, e.id)
	if n := c.users[e.user] - 1; n > 0 {
		c.users[e.user] = n
	} else {
		delete(c.users, e.user)
	}
}

func (c *replayCache) expire(now time.Time) {
	for c.head < len(c.order) && !now.Before(c.order[c.head].expires) {
		e := c.order[c.head]
		// Skip a queue entry whose id was forgotten and recorded again.
		if cur, ok := c.seen[e.id]; ok && cur.expires.Equal(e.expires) {
			c.forget(cur)
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
