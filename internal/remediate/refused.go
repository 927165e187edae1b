package remediate

import "context"

// refusedGuard does not try again to suspend a user the API refused to
// suspend (the last owner, an externally managed administrator) until the
// directory has reloaded the account's users since the refusal: the user's
// role may have changed then.
func (s *Service) refusedGuard(next handler) handler {
	return func(ctx context.Context, c *call) error {
		if c.d.Action != ActionSuspend {
			return next(ctx, c)
		}
		e, _ := s.ledger.User(c.out.User.ID)
		if r := e.Refused; r != nil && !s.dir.LoadedAt().After(r.At) {
			c.out.Result, c.out.Detail = ResultBlockedRefused, "the API refused at "+r.At.UTC().Format("2006-01-02T15:04:05Z")+": "+r.Reason
			return nil
		}
		return next(ctx, c)
	}
}
