package remediate

import (
	"context"
	"fmt"
)

// graceGuard respects a person's decision: when tripline suspended a user
// and the user is ACTIVE again, a person reactivated them. The first
// decision that sees it records when; for the rule's grace after that the
// rule only shadows the user (outcome grace). The event that led to the
// first suspension never acts again (duplicateGuard), grace or not.
func (s *Service) graceGuard(next handler) handler {
	return func(ctx context.Context, c *call) error {
		if c.d.Action != ActionSuspend || c.out.Before != StateActive {
			return next(ctx, c)
		}
		e, _ := s.ledger.User(c.out.User.ID)
		if e.SuspendedBy == nil || c.d.Grace <= 0 {
			return next(ctx, c)
		}
		if e.ReactivatedSeen.IsZero() {
			e.ReactivatedSeen = c.now
			if err := s.ledger.PutUser(ctx, e); err != nil {
				return err
			}
		}
		if until := e.ReactivatedSeen.Add(c.d.Grace); c.now.Before(until) {
			c.out.Result = ResultGrace
			c.out.Detail = fmt.Sprintf("a person reactivated the user; rule grace %s until %s", c.d.Grace, until.UTC().Format("2006-01-02T15:04:05Z"))
			return nil
		}
		return next(ctx, c)
	}
}
