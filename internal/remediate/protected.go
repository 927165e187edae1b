package remediate

import (
	"context"

	"github.com/tripline-dev/tripline/internal/identity"
)

// protectedGuard refuses every decision about a protected identity,
// whatever the rule says, checked on the resolved user (its 1Password id
// and its email, folded), so no identity field of the event can route
// around it. list returns the current list (it is hot-reloaded with the
// rules).
func protectedGuard(list func() *identity.Protected) middleware {
	return func(next handler) handler {
		return func(ctx context.Context, c *call) error {
			if entry, ok := list().Match(c.out.User.ID, c.out.User.Email); ok {
				c.out.Result, c.out.Detail = ResultBlockedProtected, entry
				return nil
			}
			return next(ctx, c)
		}
	}
}
