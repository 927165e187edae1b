package app

import (
	"context"
	"errors"
	"strings"

	"github.com/tripline-dev/tripline/internal/onepassword"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/rules"
)

// permissionsNeeded lists the permissions of the OAuth application that
// rules need (see onepassword.Permissions): shadow rules need nothing more
// than reading; a rule whose suspensions are timed (suspend_for) also
// reactivates.
func permissionsNeeded(rs []rules.RuleInfo) []string {
	var suspends, reactivates bool
	for _, r := range rs {
		if !r.Acts() {
			continue
		}
		suspends = suspends || r.Action == remediate.ActionSuspend
		reactivates = reactivates || r.Action == remediate.ActionReactivate || len(r.SuspendFor) > 0
	}
	return onepassword.Permissions(suspends, reactivates)
}

// permissionsLine is the /readyz and log view of the permissions the
// current rules need.
func (m *Main) permissionsLine() string {
	return "users api permissions the rules need: " + strings.Join(permissionsNeeded(m.rules.Current().Rules()), ", ")
}

// checkReadPermissions reads one user of the directory (see
// onepassword.Client.CheckRead).
func (m *Main) checkReadPermissions(ctx context.Context) error {
	u, ok := m.dir.Sample()
	if !ok {
		return nil
	}
	err := m.op.CheckRead(ctx, u.ID)
	if errors.Is(err, onepassword.ErrCannotCheck) {
		m.log.Warn("cannot check the get user permission at start; it is checked again at the first action", "error", err.Error())
		return nil
	}
	return err
}
