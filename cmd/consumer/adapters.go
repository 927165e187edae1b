package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tripline-dev/tripline/internal/directory"
	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/onepassword"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/rules"
)

// usersAPI adapts the Users API client to remediate.API.
type usersAPI struct{ c *onepassword.Client }

func (a usersAPI) Suspend(ctx context.Context, id string) (string, error) {
	u, err := a.c.SuspendUser(ctx, id)
	return u.State, domainError(err)
}

func (a usersAPI) Reactivate(ctx context.Context, id string) (string, error) {
	u, err := a.c.ReactivateUser(ctx, id)
	return u.State, domainError(err)
}

// domainError adds the remediate sentinel matching a Users API error, and
// keeps the original (with its Retryable method) in the chain.
func domainError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, onepassword.ErrUserNotFound):
		return fmt.Errorf("%w: %w", remediate.ErrUserNotFound, err)
	case errors.Is(err, onepassword.ErrCannotSuspend):
		return fmt.Errorf("%w: %w", remediate.ErrCannotSuspend, err)
	case errors.Is(err, onepassword.ErrPermissionDenied):
		return fmt.Errorf("%w: %w", remediate.ErrPermissionDenied, err)
	}
	return err
}

// userDirectory adapts the email directory (and GetUser, for identities that
// are already 1Password user ids) to remediate.Directory.
type userDirectory struct {
	dir    *directory.Directory
	op     *onepassword.Client
	tracer trace.Tracer
}

func (d userDirectory) Lookup(ctx context.Context, identity string) (remediate.User, error) {
	ctx, span := d.tracer.Start(ctx, "directory.lookup")
	defer span.End()
	u, err := d.lookup(ctx, identity)
	if err != nil {
		span.SetStatus(codes.Error, "lookup failed")
	}
	return u, err
}

func (d userDirectory) lookup(ctx context.Context, identity string) (remediate.User, error) {
	if !strings.Contains(identity, "@") {
		u, err := d.op.GetUser(ctx, identity)
		if err != nil {
			return remediate.User{}, domainError(err)
		}
		return remediate.User{ID: u.ID, Email: u.Email, State: u.State}, nil
	}
	e, err := d.dir.Lookup(ctx, identity)
	if errors.Is(err, directory.ErrNotFound) {
		return remediate.User{}, fmt.Errorf("%w: no user of the account has this email", remediate.ErrUserNotFound)
	}
	if err != nil {
		return remediate.User{}, domainError(err)
	}
	return remediate.User{ID: e.ID, Email: e.Email, State: e.State}, nil
}

func (d userDirectory) SetState(id, state string) { d.dir.SetState(id, state) }

// currentRules evaluates with the watcher's current rule set, so a reload
// takes effect at the next event.
type currentRules struct{ w *rules.Watcher }

func (c currentRules) Evaluate(ev *event.Event) rules.Result { return c.w.Current().Evaluate(ev) }
