package onepassword

import (
	"context"
	"errors"
	"fmt"

	"github.com/tripline-dev/tripline/internal/remediate"
)

// Permissions lists the permissions of the OAuth application that tripline
// needs, as the 1Password admin console names them: list users and get
// user always (the directory, the read before each action), suspend users
// when a rule that acts suspends, reactivate users when one reactivates.
func Permissions(suspends, reactivates bool) []string {
	perms := []string{Permission(OpListUsers), Permission(OpGetUser)}
	if suspends {
		perms = append(perms, Permission(OpSuspendUser))
	}
	if reactivates {
		perms = append(perms, Permission(OpReactivateUser))
	}
	return perms
}

// ErrCannotCheck wraps a failure of CheckRead that says nothing about the
// permissions (the API unreachable): check again at the first action.
var ErrCannotCheck = errors.New("cannot check the get user permission")

// CheckRead reads the user id (one the listing just proved to exist), so
// that a missing "get user" permission, or refused credentials, stop
// tripline at start rather than at the first risky sign-in. The
// permissions that change users cannot be checked without changing one: a
// 403 on them names the missing permission when it happens. Any other
// failure is wrapped in ErrCannotCheck.
func (c *Client) CheckRead(ctx context.Context, id string) error {
	_, err := c.GetUser(ctx, id)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, remediate.ErrPermissionDenied) || errors.Is(err, remediate.ErrUnauthenticated):
		return fmt.Errorf("check the OAuth application's permissions: %w", err)
	}
	return fmt.Errorf("%w: %w", ErrCannotCheck, err)
}
