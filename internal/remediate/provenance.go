package remediate

import "context"

// provenanceGuard lets a reactivation through only when the ledger shows
// that tripline suspended the user itself, from ACTIVE, and nobody
// reactivated them since. A user suspended by a person, or by anything but
// tripline, is never reactivated.
func (s *Service) provenanceGuard(next handler) handler {
	return func(ctx context.Context, c *call) error {
		if c.d.Action != ActionReactivate {
			return next(ctx, c)
		}
		e, _ := s.ledger.User(c.out.User.ID)
		switch {
		case e.SuspendedBy == nil:
			c.out.Result, c.out.Detail = ResultBlockedProvenance, "tripline did not suspend this user"
			return nil
		case !e.ReactivatedSeen.IsZero():
			c.out.Result, c.out.Detail = ResultBlockedProvenance, "a person reactivated this user after tripline suspended them"
			return nil
		}
		return next(ctx, c)
	}
}
