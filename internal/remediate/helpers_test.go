package remediate

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// memStore is an in-process Store feeding its ledgers synchronously (the
// contract of ledger.Table.Put: every instance's ledger sees every write),
// with a switch to make writes fail.
type memStore struct {
	mu     sync.Mutex
	apply  []func(key string, value []byte)
	fail   error
	writes []string
	log    map[string][]byte
}

func (m *memStore) Put(_ context.Context, key string, value []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.writes = append(m.writes, key)
	if m.log == nil {
		m.log = map[string][]byte{}
	}
	m.log[key] = value
	for _, apply := range m.apply {
		apply(key, value)
	}
	return nil
}

// join feeds every record so far to l, as a starting instance reads the
// topic, and every later write, as it tails it.
func (m *memStore) join(l *Ledger) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range m.log {
		l.Apply(k, v)
	}
	m.apply = append(m.apply, l.Apply)
}

func newTestLedger() (*Ledger, *memStore) {
	st := &memStore{}
	l := NewLedger(st, "test-instance", nil)
	st.join(l)
	return l, st
}

// fakeDir resolves identities from a map (email or id).
type fakeDir struct {
	users    map[string]User
	loadedAt time.Time
}

func (d *fakeDir) Lookup(_ context.Context, id string) (User, error) {
	for _, u := range d.users {
		if u.ID == id || strings.EqualFold(u.Email, id) {
			return u, nil
		}
	}
	return User{}, fmt.Errorf("lookup %s: %w", id, ErrUserNotFound)
}

func (d *fakeDir) LoadedAt() time.Time { return d.loadedAt }

// fakeAPI keeps user states and counts calls; err, when set, fails the
// next calls of that kind.
type fakeAPI struct {
	mu     sync.Mutex
	states map[string]string
	calls  []string
	errs   map[string]error
}

func (a *fakeAPI) do(op, id string, set string) (User, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, op+" "+id)
	if err := a.errs[op]; err != nil {
		return User{}, err
	}
	st, ok := a.states[id]
	if !ok {
		return User{}, fmt.Errorf("%s %s: %w", op, id, ErrUserNotFound)
	}
	if set != "" {
		a.states[id] = set
		st = set
	}
	return User{ID: id, State: st}, nil
}

func (a *fakeAPI) GetUser(_ context.Context, id string) (User, error) { return a.do("get", id, "") }
func (a *fakeAPI) SuspendUser(_ context.Context, id string) (User, error) {
	return a.do("suspend", id, StateSuspended)
}
func (a *fakeAPI) ReactivateUser(_ context.Context, id string) (User, error) {
	return a.do("reactivate", id, StateActive)
}

func (a *fakeAPI) count(op string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, c := range a.calls {
		if strings.HasPrefix(c, op+" ") {
			n++
		}
	}
	return n
}

// recorder is a handler that records that it ran and gives an outcome.
type recorder struct{ ran int }

func (r *recorder) next(_ context.Context, c *call) error {
	r.ran++
	c.out.Result = ResultSuspended
	return nil
}

// testService builds a Service over fakes with a fixed clock.
func testService(t *testing.T, cfg Config, users ...User) (*Service, *fakeAPI, *memStore, *time.Time) {
	t.Helper()
	dir := &fakeDir{users: map[string]User{}, loadedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	api := &fakeAPI{states: map[string]string{}, errs: map[string]error{}}
	for _, u := range users {
		dir.users[u.ID] = u
		api.states[u.ID] = u.State
	}
	led, st := newTestLedger()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	cfg.Retry = RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxElapsed: time.Second, MaxAttempts: 3}
	s, err := New(cfg, Deps{Directory: dir, API: api, Ledger: led, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return s, api, st, &now
}

func suspendOf(rule, identity, event string) Decision {
	return Decision{RuleID: rule, Mode: ModeEnforce, Action: ActionSuspend, Identity: identity, EventID: event}
}

var (
	ann = User{ID: "ANN", Email: "ann@example.com", State: StateActive}
	bob = User{ID: "BOB", Email: "bob@example.com", State: StateActive}
)
