package slackapproval

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// approvers decides who may answer: a fixed set of Slack user ids, and the
// members of one user group, listed with usergroups.users.list and cached
// for refresh. A failed listing fails closed: the cached list is dropped,
// so a member removed from the group cannot keep approving while Slack
// errors, and only the fixed set is honoured until a listing succeeds.
type approvers struct {
	users   map[string]bool
	group   string
	refresh time.Duration
	list    func(ctx context.Context, group string) ([]string, error)
	now     func() time.Time

	mu      sync.Mutex // held across a listing, so clicks never stampede Slack
	members map[string]bool
	fetched time.Time
}

// allowed reports whether user may answer. The error is a failed group
// listing; the user is then neither allowed nor known to be refused.
func (a *approvers) allowed(ctx context.Context, user string) (bool, error) {
	if a.users[user] {
		return true, nil
	}
	if a.group == "" {
		return false, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.members == nil || a.now().Sub(a.fetched) >= a.refresh {
		if err := a.load(ctx); err != nil {
			return false, err
		}
	}
	return a.members[user], nil
}

// reload lists the group now, whatever the cache holds, and returns how
// many approvers there are in all.
func (a *approvers) reload(ctx context.Context) (int, error) {
	n := len(a.users)
	if a.group == "" {
		return n, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.load(ctx); err != nil {
		return n, err
	}
	for m := range a.members {
		if !a.users[m] {
			n++
		}
	}
	return n, nil
}

// load must be called with mu held.
func (a *approvers) load(ctx context.Context) error {
	list, err := a.list(ctx, a.group)
	if err != nil {
		a.members = nil
		return fmt.Errorf("list members of approver group %s: %w", a.group, err)
	}
	m := make(map[string]bool, len(list))
	for _, u := range list {
		m[u] = true
	}
	a.members, a.fetched = m, a.now()
	return nil
}
