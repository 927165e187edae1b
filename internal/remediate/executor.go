package remediate

import (
	"context"
	"errors"
	"fmt"
)

// Action is what a rule asks for.
type Action string

// Actions.
const (
	ActionSuspend    Action = "suspend"
	ActionReactivate Action = "reactivate"
)

// Result is the final outcome of a request, as recorded in the audit trail.
type Result string

// Results.
const (
	ResultSuspended        Result = "suspended"
	ResultAlreadySuspended Result = "already_suspended"
	ResultReactivated      Result = "reactivated"
	ResultAlreadyActive    Result = "already_active"
	ResultShadow           Result = "shadow"
	ResultDryRun           Result = "dry_run"
	ResultBlocked          Result = "blocked"
	ResultFailed           Result = "failed"
)

// User states as the Users API reports them.
const (
	StateActive    = "ACTIVE"
	StateSuspended = "SUSPENDED"
)

// Errors callers branch on. Implementations of Directory and API wrap them
// so that errors.Is works; anything else is either retryable (it has a
// Retryable() bool method returning true) or permanent.
var (
	// ErrUserNotFound: the identity is not a user of the 1Password account.
	ErrUserNotFound = errors.New("user not found")
	// ErrCannotSuspend: the API refuses to suspend this user (the last
	// owner, an externally managed administrator).
	ErrCannotSuspend = errors.New("user cannot be suspended")
	// ErrPermissionDenied: the OAuth application lacks the permission.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrBlocked: a guard refused the action.
	ErrBlocked = errors.New("blocked by guard")
)

// Request is one enforce-mode decision to carry out.
type Request struct {
	Action Action
	// Identity is a sign-in email or a 1Password user id.
	Identity string
	RuleID   string
	EventID  string
	Reason   string
}

// User is a resolved 1Password user.
type User struct {
	ID    string
	Email string
	State string
}

// Outcome is what happened to a request.
type Outcome struct {
	Request
	User   User
	Result Result
}

// Directory resolves identities to users and learns state changes.
// Lookup returns an error wrapping ErrUserNotFound when the identity is not
// in the account; other errors may be retryable. Implementations are safe
// for concurrent use.
type Directory interface {
	Lookup(ctx context.Context, identity string) (User, error)
	SetState(userID, state string)
}

// API suspends and reactivates users by id. Both calls are idempotent and
// return the user's state afterwards. Errors wrap ErrUserNotFound,
// ErrCannotSuspend or ErrPermissionDenied where they apply; retryable errors
// have a Retryable() bool method. Implementations are safe for concurrent use.
type API interface {
	Suspend(ctx context.Context, userID string) (state string, err error)
	Reactivate(ctx context.Context, userID string) (state string, err error)
}

// Guard decides whether an action may go ahead. Check returns nil to allow
// it, or an error wrapping ErrBlocked to refuse it (the message says why).
// Guards run after the user is resolved and before the API call, in order;
// they must be safe for concurrent use.
type Guard interface {
	Check(ctx context.Context, req Request, user User) error
}

// Config configures an Executor.
type Config struct {
	// DryRun resolves users and runs the guards but never calls the API.
	DryRun bool
}

// Executor carries out requests. It is safe for concurrent use.
type Executor struct {
	cfg    Config
	dir    Directory
	api    API
	guards []Guard
}

// New returns an Executor.
func New(cfg Config, dir Directory, api API, guards ...Guard) *Executor {
	return &Executor{cfg: cfg, dir: dir, api: api, guards: guards}
}

// Execute carries out one request once (retries are the caller's). The
// returned outcome is meaningful whether or not err is nil; on error its
// Result is failed or blocked.
func (e *Executor) Execute(ctx context.Context, req Request) (Outcome, error) {
	out := Outcome{Request: req, Result: ResultFailed}
	if req.Action != ActionSuspend && req.Action != ActionReactivate {
		return out, fmt.Errorf("execute: unknown action %q", req.Action)
	}
	user, err := e.dir.Lookup(ctx, req.Identity)
	if err != nil {
		return out, fmt.Errorf("resolve user: %w", err)
	}
	out.User = user
	for _, g := range e.guards {
		if err := g.Check(ctx, req, user); err != nil {
			out.Result = ResultBlocked
			return out, fmt.Errorf("guard: %w", err)
		}
	}
	if e.cfg.DryRun {
		out.Result = ResultDryRun
		return out, nil
	}
	call, changed, unchanged := e.api.Suspend, ResultSuspended, ResultAlreadySuspended
	if req.Action == ActionReactivate {
		call, changed, unchanged = e.api.Reactivate, ResultReactivated, ResultAlreadyActive
	}
	state, err := call(ctx, user.ID)
	if err != nil {
		return out, fmt.Errorf("%s user: %w", req.Action, err)
	}
	out.Result = changed
	if user.State == state {
		out.Result = unchanged
	}
	out.User.State = state
	e.dir.SetState(user.ID, state)
	return out, nil
}
