package remediate

import "context"

// before reads the user from the API just before acting: the state before
// the action, as the API reports it, is what the ledger records and what
// decides the result (never the directory's cached state). A user already
// in the wanted state needs no call: already_suspended or already_active.
func (s *Service) before(next handler) handler {
	return func(ctx context.Context, c *call) error {
		var user User
		attempts, err := s.callAPI(ctx, c, "get", func(ctx context.Context) error {
			var err error
			user, err = s.api.GetUser(ctx, c.out.User.ID)
			return err
		})
		c.out.Attempts = attempts
		if err != nil {
			if isInterrupted(err) {
				return err
			}
			return classify(err, attempts)
		}
		if user.Email == "" {
			user.Email = c.out.User.Email
		}
		c.out.User, c.out.Before = user, user.State
		switch {
		case c.d.Action == ActionSuspend && user.State == StateSuspended:
			c.out.Result = ResultAlreadySuspended
		case c.d.Action == ActionReactivate && user.State == StateActive:
			c.out.Result = ResultAlreadyActive
		default:
			return next(ctx, c)
		}
		return s.record(ctx, c)
	}
}
