package slackapproval_test

import (
	"context"
	"sync"
	"time"

	"github.com/tripline-dev/tripline/internal/slackapproval"
)

var _ slackapproval.Decider = (*fakeDecider)(nil)

// fakeDecider is an in-memory Decider that keeps the documented contract:
// unknown ids give ErrUnknown, answers at or after expiry give ErrExpired,
// the first answer wins and later ones get *AlreadyDecidedError (for a
// timed suspension, ErrAlreadyDecided).
type fakeDecider struct {
	now func() time.Time

	mu        sync.Mutex
	expires   map[string]time.Time
	decided   map[string]slackapproval.Outcome
	contained map[string]string // timed suspension id -> "" or "keep by U..." / "lift by U..."
	calls     int
}

func newFakeDecider(now func() time.Time) *fakeDecider {
	return &fakeDecider{now: now, expires: map[string]time.Time{}, decided: map[string]slackapproval.Outcome{}, contained: map[string]string{}}
}

// contain makes id a timed suspension in force.
func (d *fakeDecider) contain(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.contained[id] = ""
}

func (d *fakeDecider) DecideContainment(_ context.Context, id string, keep bool, by, _ string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	got, ok := d.contained[id]
	switch {
	case !ok:
		return slackapproval.ErrUnknown
	case got != "":
		return slackapproval.ErrAlreadyDecided
	}
	d.contained[id] = "lift by " + by
	if keep {
		d.contained[id] = "keep by " + by
	}
	return nil
}

// containment is the answer to the timed suspension id ("" for none).
func (d *fakeDecider) containment(id string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.contained[id]
}

// add makes id a pending action that expires at exp.
func (d *fakeDecider) add(id string, exp time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expires[id] = exp
}

func (d *fakeDecider) Decide(_ context.Context, id string, approve bool, by, _, reason string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	exp, ok := d.expires[id]
	if !ok {
		return slackapproval.ErrUnknown
	}
	if o, ok := d.decided[id]; ok {
		return &slackapproval.AlreadyDecidedError{Outcome: o}
	}
	now := d.now()
	if !now.Before(exp) {
		return slackapproval.ErrExpired
	}
	d.decided[id] = slackapproval.Outcome{Approved: approve, By: by, At: now, Reason: reason}
	return nil
}

func (d *fakeDecider) callCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.calls
}

func (d *fakeDecider) outcome(id string) (slackapproval.Outcome, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	o, ok := d.decided[id]
	return o, ok
}
