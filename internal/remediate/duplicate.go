package remediate

import (
	"context"
	"fmt"
)

// duplicateGuard acts once per event and once per rule cooldown: a
// decision whose event already led to an action on the user (a redelivered
// or duplicated message, or a second rule matching the same event), or whose
// rule acted on the user within its cooldown, makes no call. Only actions
// that succeeded are in the ledger, so a failed action never silences the
// next decision.
func (s *Service) duplicateGuard(next handler) handler {
	return func(ctx context.Context, c *call) error {
		e, _ := s.ledger.User(c.out.User.ID)
		switch {
		case e.hasEvent(c.d.EventID):
			c.out.Result, c.out.Detail = ResultDuplicate, "event already acted on"
			return nil
		case c.d.Cooldown > 0:
			if at, ok := e.Cooldowns[c.d.RuleID]; ok && c.now.Sub(at) < c.d.Cooldown {
				c.out.Result, c.out.Detail = ResultDuplicate, fmt.Sprintf("cooldown %s since %s", c.d.Cooldown, at.UTC().Format("2006-01-02T15:04:05Z"))
				return nil
			}
		}
		return next(ctx, c)
	}
}
