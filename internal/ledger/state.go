package ledger

import "sync"

// maxAhead bounds the writes state remembers per partition before it
// drops those the reads have passed.
const maxAhead = 1024

// state hands records to the ApplyFunc, one call at a time, in offset order
// per key, from two sources: the reads of each partition (Load, then Run),
// which go forward through its offsets, and this instance's writes (Put),
// applied as soon as they are acknowledged, usually before the reads reach
// them. A record older than one already applied for its key never
// overwrites it: a tombstone cannot be undone and an older value cannot
// come back.
//
// Its memory does not grow with the number of keys: per partition it
// keeps the offset the reads reached, and only the keys this instance
// wrote that the reads have not reached yet (the reads skip the records of
// those keys up to the write, and the write itself).
type state struct {
	mu    sync.Mutex
	apply ApplyFunc
	// read is, by partition, the offset after the last record read.
	read map[int]int64
	// ahead is, by partition, the offset of each key's latest write that
	// the reads have not reached.
	ahead   map[int]map[string]int64
	applied int64
	skipped int64
}

func newState(apply ApplyFunc) *state {
	return &state{apply: apply, read: map[int]int64{}, ahead: map[int]map[string]int64{}}
}

// offerRead applies key=value (signed with signature), read at offset of
// partition p, unless the reads already passed that offset (a fetch again
// after a failure) or this instance wrote the key at that offset or a
// later one. It reports whether it applied.
func (s *state) offerRead(p int, key string, value []byte, signature string, offset int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if read, ok := s.read[p]; ok && offset < read {
		s.skipped++
		return false
	}
	s.read[p] = offset + 1
	if ahead := s.ahead[p]; len(ahead) > 0 {
		if last, ok := ahead[key]; ok {
			if offset <= last {
				if offset == last {
					delete(ahead, key) // the reads reached the write
				}
				s.skipped++
				return false
			}
			delete(ahead, key) // the write was compacted away
		}
	}
	s.applied++
	s.apply(key, value, signature)
	return true
}

// offerWrite applies key=value (signed with signature), which this
// instance wrote at offset of partition p, unless the reads already
// reached that offset (they applied it, and any later record of the key)
// or a later write of the key was applied. It reports whether it applied.
func (s *state) offerWrite(p int, key string, value []byte, signature string, offset int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	read := s.read[p]
	if offset < read {
		s.skipped++
		return false
	}
	ahead := s.ahead[p]
	if ahead == nil {
		ahead = map[string]int64{}
		s.ahead[p] = ahead
	}
	if last, ok := ahead[key]; ok && offset <= last {
		s.skipped++
		return false
	}
	if len(ahead) >= maxAhead {
		for k, last := range ahead {
			if last < read {
				delete(ahead, k)
			}
		}
	}
	ahead[key] = offset
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
