package rules

import (
	"hash/maphash"
	"strings"
	"sync"
	"time"
)

// DefaultMaxTracked is the default number of (key, user) counters a State
// keeps; beyond it the least recently used counter is evicted.
const DefaultMaxTracked = 100_000

// DefaultMaxTrackedBytes bounds the memory of a State's counters: their
// keys (copied, never pointing into a message) and their timestamps. Past
// it the least recently used counters are evicted, however few there are.
const DefaultMaxTrackedBytes = 64 << 20

// counterOverhead is the bookkeeping of one counter besides its keys and
// timestamps (map entry, list node, ring header), for the byte bound.
const counterOverhead = 160

// maxRingSize bounds the timestamps kept per (key, user) counter, whatever
// threshold the rules compare count() with.
const maxRingSize = 1000

// defaultRingSize is the ring size for a count() whose threshold cannot be
// read from the expression (for example count(...) >= some_field).
const defaultRingSize = 100

// State holds the mutable state shared by evaluations: the windowed
// counters of count(). It is safe for concurrent use. Memory is bounded: each
// counter keeps at most a fixed number of timestamps, and at most MaxTracked
// counters and DefaultMaxTrackedBytes bytes are kept, the least recently
// used evicted first.
//
// State holds nothing about actions: cooldowns, like protected identities
// and blast-radius caps, are applied by the decision service when it acts,
// from the Decision's Cooldown, Grace and MaxActions.
//
// A State is kept outside the Set so that a reloaded Set can carry on with the
// counts of the previous one (pass it with WithState).
type State struct {
	mu       sync.Mutex
	seed     maphash.Seed
	counters *lru[counterKey, *ring]
	bytes    int64 // held by the counters, approximately
	maxBytes int64
}

// NewState returns an empty State keeping at most maxTracked counters;
// maxTracked <= 0 means DefaultMaxTracked.
func NewState(maxTracked int) *State {
	if maxTracked <= 0 {
		maxTracked = DefaultMaxTracked
	}
	s := &State{seed: maphash.MakeSeed(), maxBytes: DefaultMaxTrackedBytes}
	s.counters = newLRU[counterKey, *ring](maxTracked)
	s.counters.onEvict = func(k counterKey, r *ring) { s.bytes -= counterBytes(k, r) }
	return s
}

// counterBytes is what one counter holds.
func counterBytes(k counterKey, r *ring) int64 {
	return int64(len(k.key)+len(k.user)+counterOverhead) + 16*int64(cap(r.at))
}

// Bytes returns the memory the counters hold, approximately.
func (s *State) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// Tracked returns the number of counters held.
func (s *State) Tracked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counters.len()
}

type counterKey struct{ key, user string }

// eventHash returns a hash of an event id, 0 for an empty id.
func (s *State) eventHash(id string) uint64 {
	if id == "" {
		return 0
	}
	h := maphash.String(s.seed, id)
	if h == 0 {
		h = 1
	}
	return h
}

// record adds an occurrence of the event (at, ev) to the counter of
// (key, user), keeping at most size timestamps, and returns how many
// occurrences fall in the window (at-window, at]. An occurrence with the same
// non-zero event hash as one already held is not added twice, so a
// redelivered message does not count again.
func (s *State) record(key, user string, at int64, ev uint64, size int, window time.Duration) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.counters.get(counterKey{key, user})
	if !ok {
		// Copies: the strings may point into a large message.
		k := counterKey{strings.Clone(key), strings.Clone(user)}
		r = &ring{}
		s.counters.put(k, r)
		s.bytes += counterBytes(k, r)
	}
	before := cap(r.at)
	r.add(at, ev, size)
	s.bytes += 16 * int64(cap(r.at)-before)
	for s.bytes > s.maxBytes && s.counters.len() > 1 {
		s.counters.evictOldest()
	}
	return r.count(at, int64(window))
}

// count returns how many occurrences of (key, user) fall in (at-window, at]
// without recording anything.
func (s *State) count(key, user string, at int64, window time.Duration) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.counters.get(counterKey{key, user})
	if !ok {
		return 0
	}
	return r.count(at, int64(window))
}

// ring holds the most recent occurrence times of one counter, unordered.
type ring struct {
	at []int64
	ev []uint64
}

func (r *ring) add(at int64, ev uint64, size int) {
	if ev != 0 {
		for i, h := range r.ev {
			if h == ev && r.at[i] == at {
				return
			}
		}
	}
	if len(r.at) < size {
		r.at = append(r.at, at)
		r.ev = append(r.ev, ev)
		return
	}
	oldest := 0
	for i, t := range r.at {
		if t < r.at[oldest] {
			oldest = i
		}
	}
	if at <= r.at[oldest] {
		return
	}
	r.at[oldest], r.ev[oldest] = at, ev
	// A ring that was sized for a larger threshold by an earlier rule set
	// keeps its size; it never grows beyond maxRingSize.
}

func (r *ring) count(at, window int64) int {
	n := 0
	for _, t := range r.at {
		if t <= at && at-t < window {
			n++
		}
	}
	return n
}

// lru is a map with a least-recently-used eviction order. It is not
// synchronized; State guards it.
type lru[K comparable, V any] struct {
	max     int
	items   map[K]*lruNode[K, V]
	head    *lruNode[K, V] // most recently used
	tail    *lruNode[K, V] // least recently used
	onEvict func(K, V)     // called for each entry evicted, if set
}

type lruNode[K comparable, V any] struct {
	key        K
	val        V
	prev, next *lruNode[K, V]
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	return &lru[K, V]{max: max, items: make(map[K]*lruNode[K, V])}
}

func (l *lru[K, V]) len() int { return len(l.items) }

func (l *lru[K, V]) get(k K) (V, bool) {
	n, ok := l.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	l.moveToFront(n)
	return n.val, true
}

func (l *lru[K, V]) put(k K, v V) {
	if n, ok := l.items[k]; ok {
		n.val = v
		l.moveToFront(n)
		return
	}
	if len(l.items) >= l.max {
		l.evictOldest()
	}
	n := &lruNode[K, V]{key: k, val: v}
	l.items[k] = n
	l.pushFront(n)
}

// evictOldest removes the least recently used entry.
func (l *lru[K, V]) evictOldest() {
	old := l.tail
	if old == nil {
		return
	}
	l.unlink(old)
	delete(l.items, old.key)
	if l.onEvict != nil {
		l.onEvict(old.key, old.val)
	}
}

func (l *lru[K, V]) moveToFront(n *lruNode[K, V]) {
	if l.head == n {
		return
	}
	l.unlink(n)
	l.pushFront(n)
}

func (l *lru[K, V]) pushFront(n *lruNode[K, V]) {
	n.prev, n.next = nil, l.head
	if l.head != nil {
		l.head.prev = n
	}
	l.head = n
	if l.tail == nil {
		l.tail = n
	}
}

func (l *lru[K, V]) unlink(n *lruNode[K, V]) {
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		l.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		l.tail = n.prev
	}
	n.prev, n.next = nil, nil
}
