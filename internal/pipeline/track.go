package pipeline

import "sync"

// tracker follows the offsets of one partition from fetch to final
// outcome, which may come out of order (decisions about different users
// run in parallel), and gives the offset to commit: the first one not
// finished, so that everything below it is (a contiguous watermark). It
// holds each finished message's outcome until the watermark passes it,
// so that outcomes are reported in offset order.
type tracker struct {
	emitting sync.Mutex // one finisher at a time reports outcomes
	mu       sync.Mutex
	pending  []trackEntry // in fetch order
	head     int          // pending[head:] are not yet released
	next     int64        // offset to commit: all below it finished
	index    map[int64]int
	released []released // messages released, by watermark, not yet counted
	count    int64      // messages released in all
}

// released is how many messages were released once the watermark
// reached next.
type released struct {
	next  int64
	count int64
}

type trackEntry struct {
	offset int64
	done   bool
	note   *outcomeNote // its outcome, until the watermark passes it
}

func newTracker(start int64) *tracker {
	return &tracker{next: start, index: map[int64]int{}}
}

// fetched notes that offset was fetched (offsets arrive in order).
func (t *tracker) fetched(offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.head == len(t.pending) {
		t.pending, t.head = t.pending[:0], 0
		clear(t.index)
		if offset > t.next || t.next < 0 {
			t.next = offset // nothing in flight: the watermark follows the reader
		}
	}
	t.index[offset] = len(t.pending)
	t.pending = append(t.pending, trackEntry{offset: offset})
}

// finished notes that offset reached its final outcome and returns the
// offset to commit, and whether it moved.
func (t *tracker) finished(offset int64) (next int64, moved bool) {
	return t.finish(offset, nil, nil)
}

// finish is finished, holding note (nil: none) until the watermark passes
// offset, and handing emit (nil: none) every note the watermark passed, in
// offset order. Finishers that emit do so one at a time, so a partition's
// notes are emitted in offset order whichever finisher moves the
// watermark.
func (t *tracker) finish(offset int64, note *outcomeNote, emit func(outcomeNote)) (next int64, moved bool) {
	if emit != nil {
		t.emitting.Lock()
		defer t.emitting.Unlock()
	}
	var passed []outcomeNote
	next, moved = t.pass(offset, note, &passed)
	for _, n := range passed {
		emit(n)
	}
	return next, moved
}

// pass marks offset finished and moves the watermark past every finished
// offset in a row, collecting their notes.
func (t *tracker) pass(offset int64, note *outcomeNote, passed *[]outcomeNote) (next int64, moved bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.index[offset]
	if !ok {
		return t.next, false
	}
	t.pending[i].done, t.pending[i].note = true, note
	delete(t.index, offset)
	before := t.next
	for t.head < len(t.pending) && t.pending[t.head].done {
		if n := t.pending[t.head].note; n != nil {
			*passed = append(*passed, *n)
			t.pending[t.head].note = nil
		}
		t.next = t.pending[t.head].offset + 1
		t.head++
		t.count++
	}
	if t.next != before {
		t.released = append(t.released, released{t.next, t.count})
	}
	if t.head > 1024 && t.head*2 > len(t.pending) {
		// Drop the released prefix now and then.
		n := copy(t.pending, t.pending[t.head:])
		t.pending = t.pending[:n]
		for k := range t.index {
			t.index[k] -= t.head
		}
		t.head = 0
	}
	return t.next, t.next != before
}

// watermark is the offset to commit (-1 when nothing was fetched).
func (t *tracker) watermark() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.next
}

// inFlight counts the fetched offsets not finished.
func (t *tracker) inFlight() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.index)
}

// releasedUpTo returns how many messages were released once the watermark
// reached next (the offset just committed), forgetting what is below.
func (t *tracker) releasedUpTo(next int64) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var n int64
	i := 0
	for i < len(t.released) && t.released[i].next <= next {
		n = t.released[i].count
		i++
	}
	t.released = t.released[i:]
	return n
}
