package remediate

import (
	"context"
	"sync"
)

// userLocks serializes the decisions about one user, so that two decisions
// for the same user (two partitions, two rules) see each other's ledger
// record: the second finds the first's event or cooldown and makes no call.
type userLocks struct {
	mu    sync.Mutex
	locks map[string]*userLock
}

type userLock struct {
	mu   sync.Mutex
	refs int
}

// lock locks id and returns its unlock.
func (u *userLocks) lock(id string) func() {
	u.mu.Lock()
	if u.locks == nil {
		u.locks = map[string]*userLock{}
	}
	l, ok := u.locks[id]
	if !ok {
		l = &userLock{}
		u.locks[id] = l
	}
	l.refs++
	u.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		u.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(u.locks, id)
		}
		u.mu.Unlock()
	}
}

// serialize runs the rest of the chain holding the resolved user's lock.
func (s *Service) serialize(next handler) handler {
	return func(ctx context.Context, c *call) error {
		unlock := s.locks.lock(c.out.User.ID)
		defer unlock()
		return next(ctx, c)
	}
}
