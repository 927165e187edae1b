package remediate

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/tripline-dev/tripline/internal/identity"
)

// resolve finds the 1Password user the decision names, retrying transient
// directory failures. A shadow or stale decision whose user does not
// resolve still reaches its outcome (shadow or stale, with the reason in
// Detail): decisions that cannot act never fail.
func (s *Service) resolve(next handler) handler {
	return func(ctx context.Context, c *call) error {
		spanCtx, span := s.tracer.Start(ctx, "directory.lookup")
		var user User
		attempts, err := s.cfg.Retry.retry(spanCtx, func(ctx context.Context) error {
			var err error
			user, err = s.dir.Lookup(ctx, c.d.Identity)
			return err
		}, s.onRetry(ctx, c, "lookup"))
		if err != nil {
			span.SetStatus(codes.Error, "lookup failed")
		} else {
			span.SetAttributes(attribute.String("tripline.op_user_id", user.ID))
		}
		span.End()
		if err != nil {
			if isInterrupted(err) {
				return err
			}
			switch {
			case c.d.Mode == ModeShadow:
				c.out.Result, c.out.Detail = ResultShadow, "user not resolved: "+err.Error()
				return nil
			case c.d.Stale != "":
				c.out.Result, c.out.Detail = ResultStale, c.d.Stale+"; user not resolved: "+err.Error()
				return nil
			}
			return classify(fmt.Errorf("resolve user: %w", err), attempts)
		}
		c.out.User = user
		if err := s.sameUser(ctx, c); err != nil {
			if c.d.Mode == ModeShadow || c.d.Stale != "" {
				c.out.Result, c.out.Detail = ResultShadow, err.Error()
				if c.d.Stale != "" {
					c.out.Result = ResultStale
				}
				return nil
			}
			return err
		}
		return next(ctx, c)
	}
}

// sameUser refuses an event that names an email and a 1Password user id
// that resolve to two different users: the sender must not be able to make
// tripline act on one user in the name of another. The identity the rule
// chose is resolved already; the other one is looked up too.
func (s *Service) sameUser(ctx context.Context, c *call) error {
	if c.d.UserEmail == "" || c.d.EventOPUserID == "" {
		return nil
	}
	other := c.d.UserEmail
	if identity.Fold(c.d.Identity) == identity.Fold(other) {
		other = c.d.EventOPUserID
	}
	u, err := s.dir.Lookup(ctx, other)
	switch {
	case errors.Is(err, ErrUserNotFound):
		// One of the two names nobody: the one the rule chose decides.
		return nil
	case err != nil:
		return classify(fmt.Errorf("resolve the event's other identity: %w", err), 1)
	case u.ID != c.out.User.ID:
		return &Failure{Class: ClassIdentityMismatch, Err: fmt.Errorf("the event names %s and 1Password user %s, two different users (%s and %s): acting on neither",
			c.d.UserEmail, c.d.EventOPUserID, c.out.User.ID, u.ID)}
	}
	return nil
}
