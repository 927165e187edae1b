package remediate

import (
	"testing"

	"github.com/tripline-dev/tripline/internal/identity"
)

func TestProtectedGuard(t *testing.T) {
	t.Parallel()
	list, err := identity.ParseProtected("protected.yaml", []byte(`
emails: [breakglass@example.com]
domains: [admins.example.com]
globs: ["svc-*@example.com"]
user_ids: [WVRQ4RGKJ5GNXGBWRXD5X3DLOI]
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		user      User
		protected bool
	}{
		{"email", User{ID: "X1", Email: "breakglass@example.com"}, true},
		{"email in another case", User{ID: "X1", Email: "BreakGlass@Example.COM"}, true},
		{"full-width email", User{ID: "X1", Email: "ｂｒｅａｋｇｌａｓｓ@example.com"}, true},
		{"subdomain", User{ID: "X2", Email: "root@eu.admins.example.com"}, true},
		{"glob", User{ID: "X3", Email: "svc-backup@example.com"}, true},
		{"user id whatever the email", User{ID: "WVRQ4RGKJ5GNXGBWRXD5X3DLOI", Email: "someone@example.com"}, true},
		{"user id in lower case", User{ID: "wvrq4rgkj5gnxgbwrxd5x3dloi"}, true},
		{"ordinary user", User{ID: "X4", Email: "dana@example.com"}, false},
		{"look-alike domain", User{ID: "X5", Email: "root@notadmins.example.com"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var r recorder
			c := &call{d: Decision{Mode: ModeEnforce, Action: ActionSuspend}, out: Outcome{User: tt.user}}
			if err := protectedGuard(func() *identity.Protected { return list })(r.next)(t.Context(), c); err != nil {
				t.Fatal(err)
			}
			if got := c.out.Result == ResultBlockedProtected; got != tt.protected || (r.ran == 1) == tt.protected {
				t.Errorf("blocked %t (result %s, detail %q), next ran %d; want protected %t", got, c.out.Result, c.out.Detail, r.ran, tt.protected)
			}
		})
	}
	// No list protects nobody.
	var r recorder
	c := &call{out: Outcome{User: User{ID: "WVRQ4RGKJ5GNXGBWRXD5X3DLOI"}}}
	protectedGuard(func() *identity.Protected { return nil })(r.next)(t.Context(), c)
	if r.ran != 1 {
		t.Error("a nil list blocked a user")
	}
}
