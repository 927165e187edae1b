package remediate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// fakeDirectory is a map of identities to users.
type fakeDirectory struct {
	mu    sync.Mutex
	users map[string]User
}

func (d *fakeDirectory) Lookup(_ context.Context, identity string) (User, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.users[identity]
	if !ok {
		return User{}, fmt.Errorf("lookup %s: %w", identity, ErrUserNotFound)
	}
	return u, nil
}

func (d *fakeDirectory) SetState(id, state string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, u := range d.users {
		if u.ID == id {
			u.State = state
			d.users[k] = u
		}
	}
}

// fakeAPI records calls and answers with a state or an error.
type fakeAPI struct {
	calls []string
	err   error
}

func (a *fakeAPI) Suspend(_ context.Context, id string) (string, error) {
	a.calls = append(a.calls, "suspend "+id)
	return StateSuspended, a.err
}

func (a *fakeAPI) Reactivate(_ context.Context, id string) (string, error) {
	a.calls = append(a.calls, "reactivate "+id)
	return StateActive, a.err
}

type guardFunc func(Request, User) error

func (g guardFunc) Check(_ context.Context, r Request, u User) error { return g(r, u) }

var _ Directory = (*fakeDirectory)(nil)
var _ API = (*fakeAPI)(nil)

func newDir() *fakeDirectory {
	return &fakeDirectory{users: map[string]User{
		"ann@example.com": {ID: "ANN", Email: "ann@example.com", State: StateActive},
		"bob@example.com": {ID: "BOB", Email: "bob@example.com", State: StateSuspended},
	}}
}

func TestExecute(t *testing.T) {
	t.Parallel()
	apiDown := errors.New("boom")
	tests := []struct {
		name      string
		cfg       Config
		req       Request
		guard     Guard
		apiErr    error
		want      Result
		wantErr   error
		wantCalls string
	}{
		{name: "suspend active user", req: Request{Action: ActionSuspend, Identity: "ann@example.com"}, want: ResultSuspended, wantCalls: "suspend ANN"},
		{name: "suspend suspended user is idempotent", req: Request{Action: ActionSuspend, Identity: "bob@example.com"}, want: ResultAlreadySuspended, wantCalls: "suspend BOB"},
		{name: "reactivate suspended user", req: Request{Action: ActionReactivate, Identity: "bob@example.com"}, want: ResultReactivated, wantCalls: "reactivate BOB"},
		{name: "reactivate active user", req: Request{Action: ActionReactivate, Identity: "ann@example.com"}, want: ResultAlreadyActive, wantCalls: "reactivate ANN"},
		{name: "dry run makes no call", cfg: Config{DryRun: true}, req: Request{Action: ActionSuspend, Identity: "ann@example.com"}, want: ResultDryRun},
		{name: "unknown user", req: Request{Action: ActionSuspend, Identity: "zed@example.com"}, want: ResultFailed, wantErr: ErrUserNotFound},
		{name: "guard blocks before the call", req: Request{Action: ActionSuspend, Identity: "ann@example.com"},
			guard: guardFunc(func(Request, User) error { return fmt.Errorf("protected: %w", ErrBlocked) }), want: ResultBlocked, wantErr: ErrBlocked},
		{name: "api error", req: Request{Action: ActionSuspend, Identity: "ann@example.com"}, apiErr: apiDown, want: ResultFailed, wantErr: apiDown, wantCalls: "suspend ANN"},
		{name: "unknown action", req: Request{Action: "delete", Identity: "ann@example.com"}, want: ResultFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api := &fakeAPI{err: tt.apiErr}
			var guards []Guard
			if tt.guard != nil {
				guards = append(guards, tt.guard)
			}
			e := New(tt.cfg, newDir(), api, guards...)
			out, err := e.Execute(t.Context(), tt.req)
			if out.Result != tt.want {
				t.Errorf("result = %s, want %s", out.Result, tt.want)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && tt.want != ResultFailed && err != nil {
				t.Errorf("unexpected error %v", err)
			}
			if got := strings.Join(api.calls, ","); got != tt.wantCalls {
				t.Errorf("calls = %q, want %q", got, tt.wantCalls)
			}
		})
	}
}

func TestExecuteRecordsNewState(t *testing.T) {
	t.Parallel()
	dir := newDir()
	e := New(Config{}, dir, &fakeAPI{})
	if _, err := e.Execute(t.Context(), Request{Action: ActionSuspend, Identity: "ann@example.com"}); err != nil {
		t.Fatal(err)
	}
	out, _ := e.Execute(t.Context(), Request{Action: ActionSuspend, Identity: "ann@example.com"})
	if out.Result != ResultAlreadySuspended {
		t.Errorf("second suspend = %s, want already_suspended", out.Result)
	}
}
