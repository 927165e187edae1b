package remediate

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/signing"
)

// memStore is an in-process Store feeding its ledgers synchronously (the
// contract of ledger.Table.Put: every instance's ledger sees every write),
// with a switch to make writes fail.
type memStore struct {
	mu     sync.Mutex
	apply  []func(key string, value []byte, signature string)
	fail   error
	writes []string
	log    map[string]storedRecord
}

// storedRecord is the last record of a key.
type storedRecord struct {
	value     []byte
	signature string
}

func (m *memStore) Put(_ context.Context, key string, value []byte, signature string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.writes = append(m.writes, key)
	if m.log == nil {
		m.log = map[string]storedRecord{}
	}
	m.log[key] = storedRecord{value, signature}
	for _, apply := range m.apply {
		apply(key, value, signature)
	}
	return nil
}

// join feeds every record so far to l, as a starting instance reads the
// topic, and every later write, as it tails it.
func (m *memStore) join(l *Ledger) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, r := range m.log {
		l.Apply(k, r.value, r.signature)
	}
	m.apply = append(m.apply, l.Apply)
}

// newTestLedger returns a ledger over a memStore, on the real clock.
func newTestLedger() (*Ledger, *memStore) {
	return newLedgerAt(time.Now)
}

// newLedgerAt returns a ledger over a memStore whose clock is now.
func newLedgerAt(now func() time.Time) (*Ledger, *memStore) {
	st := &memStore{}
	l := NewLedger(st, LedgerConfig{Instance: "test-instance", Now: now})
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
	return signedService(t, cfg, nil, users...)
}

// signedService is testService with a ledger that signs and verifies its
// records under keys (nil: none).
func signedService(t *testing.T, cfg Config, keys *signing.Keyring, users ...User) (*Service, *fakeAPI, *memStore, *time.Time) {
	t.Helper()
	dir := &fakeDir{users: map[string]User{}, loadedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	api := &fakeAPI{states: map[string]string{}, errs: map[string]error{}}
	for _, u := range users {
		dir.users[u.ID] = u
		api.states[u.ID] = u.State
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	st := &memStore{}
	led := NewLedger(st, LedgerConfig{Instance: "test-instance", Keys: keys, Now: func() time.Time { return now }})
	st.join(led)
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
