package onepassword

import (
	"net/http"
	"strings"
	"testing"
)

// A 403 names the permission the operation needs; a refusal to suspend
// the last owner does not.
func TestForbiddenNamesThePermission(t *testing.T) {
	t.Parallel()
	for op, perm := range map[string]string{OpListUsers: "list users", OpGetUser: "get user", OpSuspendUser: "suspend users", OpReactivateUser: "reactivate users"} {
		err := &APIError{Op: op, Status: http.StatusForbidden, Code: 7, Message: "permission_denied"}
		if !strings.Contains(err.Error(), `"`+perm+`" permission`) {
			t.Errorf("%s: %q does not name %q", op, err.Error(), perm)
		}
	}
	owner := &APIError{Op: OpSuspendUser, Status: http.StatusForbidden, Code: 7, Message: msgNoOwnerRemain}
	if strings.Contains(owner.Error(), "permission") {
		t.Errorf("last-owner refusal blames a permission: %q", owner.Error())
	}
}
