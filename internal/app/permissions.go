package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tripline-dev/tripline/internal/onepassword"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/rules"
)

// permissionsNeeded lists the permissions of the OAuth application that
// rules need, as the 1Password admin console names them: list users and
// get user always (the directory, the read before each action), suspend
// users when a rule that acts suspends, reactivate users when one
// reactivates. Shadow rules need nothing more.
func permissionsNeeded(rs []rules.RuleInfo) []string {
	perms := []string{onepassword.Permission(onepassword.OpListUsers), onepassword.Permission(onepassword.OpGetUser)}
	var suspend, reactivate bool
	for _, r := range rs {
		if !r.Acts() {
			continue
		}
		suspend = suspend || r.Action == rules.ActionSuspend
		reactivate = reactivate || r.Action == rules.ActionReactivate
	}
	if suspend {
		perms = append(perms, onepassword.Permission(onepassword.OpSuspendUser))
	}
	if reactivate {
		perms = append(perms, onepassword.Permission(onepassword.OpReactivateUser))
	}
	return perms
}

// permissionsLine is the /readyz and log view of the permissions the
// current rules need.
func (m *Main) permissionsLine() string {
	return "users api permissions the rules need: " + strings.Join(permissionsNeeded(m.rules.Current().Rules()), ", ")
}

// checkReadPermissions reads one user of the directory, which the
// directory's listing just proved readable, so that a missing "get user"
// permission stops tripline at start rather than at the first risky
// sign-in. The permissions that change users cannot be checked without
// changing one: a 403 on them names the missing permission when it
// happens.
func (m *Main) checkReadPermissions(ctx context.Context) error {
	u, ok := m.dir.Sample()
	if !ok {
		return nil
	}
	if _, err := m.op.GetUser(ctx, u.ID); err != nil {
		if errors.Is(err, remediate.ErrPermissionDenied) || errors.Is(err, remediate.ErrUnauthenticated) {
			return fmt.Errorf("check the OAuth application's permissions: %w", err)
		}
		m.log.Warn("cannot check the get user permission at start; it is checked again at the first action", "error", err.Error())
	}
	return nil
}
