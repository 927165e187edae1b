package ledger

import "sync"

// state hands records to the ApplyFunc, one call at a time, in offset order
// per key. It remembers the offset last applied for each key, tombstones
// included, so a late record with a lower offset cannot bring an older value
// back.
type state struct {
	mu      sync.Mutex
	apply   ApplyFunc
	last    map[string]int64
	applied int64
	skipped int64
}

func newState(apply ApplyFunc) *state {
	return &state{apply: apply, last: make(map[string]int64)}
}

// offer applies key=value (signed with signature), written at offset,
// unless the key already has a record at that offset or a later one. It
// reports whether it applied.
func (s *state) offer(key string, value []byte, signature string, offset int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if last, ok := s.last[key]; ok && offset <= last {
		s.skipped++
		return false
	}
	s.last[key] = offset
	s.applied++
	s.apply(key, value, signature)
	return true
}

// counts returns how many records were applied and skipped.
func (s *state) counts() (applied, skipped int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied, s.skipped
}
