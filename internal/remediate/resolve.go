package remediate

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
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
		return next(ctx, c)
	}
}
