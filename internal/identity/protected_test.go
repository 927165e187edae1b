package identity_test

import (
	"sync"
	"testing"

	"github.com/tripline-dev/tripline/internal/identity"
)

const matchFile = `emails:
  - breakglass@example.com
  - k.admin@example.com
  - Ops.Lead@Example.com
  - info@example.com
domains: [admins.example.com]
globs: ["svc-*@example.com"]
user_ids: [WVRQ4RGKJ5GNXGBWRXD5X3DLOI]
`

func TestMatch(t *testing.T) {
	t.Parallel()
	p := mustParse(t, matchFile)
	const protectedID = "WVRQ4RGKJ5GNXGBWRXD5X3DLOI"
	tests := []struct {
		name, userID, email string
		want                string // "" for no match
	}{
		// emails
		{"email as written", "", "breakglass@example.com", "email breakglass@example.com"},
		{"email upper case", "", "BreakGlass@EXAMPLE.com", "email breakglass@example.com"},
		{"email with surrounding space", "", " breakglass@example.com\n", "email breakglass@example.com"},
		{"email full-width", "", "ＢｒｅａｋＧｌａｓｓ@example.com", "email breakglass@example.com"},
		{"email full-width at sign", "", "breakglass＠example.com", "email breakglass@example.com"},
		{"email kelvin sign", "", "\u212a.admin@example.com", "email k.admin@example.com"},
		{"entry written in mixed case", "", "ops.lead@example.com", "email Ops.Lead@Example.com"},
		{"other email", "", "someone@example.com", ""},
		// U+0130 folds to "i" + U+0307, not to "i": no match.
		{"dotted capital I is not i", "", "\u0130nfo@example.com", ""},
		{"capital I", "", "INFO@example.com", "email info@example.com"},
		// domains
		{"domain", "", "alice@admins.example.com", "domain admins.example.com"},
		{"domain upper case", "", "alice@ADMINS.Example.com", "domain admins.example.com"},
		{"subdomain", "", "alice@eu.admins.example.com", "domain admins.example.com"},
		{"deeper subdomain", "", "alice@a.eu.admins.example.com", "domain admins.example.com"},
		{"suffix without dot", "", "alice@notadmins.example.com", ""},
		{"parent domain", "", "alice@example.com", ""},
		{"domain without local part", "", "admins.example.com", ""},
		{"domain inside local part", "", "admins.example.com@evil.example", ""},
		// globs
		{"glob", "", "svc-backup@example.com", "glob svc-*@example.com"},
		{"glob upper case", "", "SVC-Backup@Example.com", "glob svc-*@example.com"},
		{"glob other domain", "", "svc-backup@example.org", ""},
		{"glob prefix only", "", "svc@example.com", ""},
		// user ids
		{"user id", protectedID, "", "user_id WVRQ4RGKJ5GNXGBWRXD5X3DLOI"},
		{"user id lower case", "wvrq4rgkj5gnxgbwrxd5x3dloi", "", "user_id WVRQ4RGKJ5GNXGBWRXD5X3DLOI"},
		{"user id with space", " " + protectedID + " ", "", "user_id WVRQ4RGKJ5GNXGBWRXD5X3DLOI"},
		{"user id wins over email", protectedID, "breakglass@example.com", "user_id WVRQ4RGKJ5GNXGBWRXD5X3DLOI"},
		{"other user id, protected email", "AAAAAAAAAAAAAAAAAAAAAAAAAA", "breakglass@example.com", "email breakglass@example.com"},
		{"other user id", "AAAAAAAAAAAAAAAAAAAAAAAAAA", "someone@example.com", ""},
		// empty
		{"empty id and email", "", "", ""},
		{"blank id and email", " ", "\t", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			entry, ok := p.Match(tt.userID, tt.email)
			if entry != tt.want || ok != (tt.want != "") {
				t.Errorf("Match(%q, %q) = %q, %v; want %q, %v", tt.userID, tt.email, entry, ok, tt.want, tt.want != "")
			}
		})
	}
}

func TestMatchNobody(t *testing.T) {
	t.Parallel()
	for name, p := range map[string]*identity.Protected{
		"nil":        nil,
		"zero value": {},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if entry, ok := p.Match("WVRQ4RGKJ5GNXGBWRXD5X3DLOI", "breakglass@example.com"); ok || entry != "" {
				t.Errorf("Match = %q, %v; want \"\", false", entry, ok)
			}
			if p.Len() != 0 {
				t.Errorf("Len() = %d, want 0", p.Len())
			}
		})
	}
}

// TestMatchConcurrent lets the race detector check that Match only reads.
func TestMatchConcurrent(t *testing.T) {
	t.Parallel()
	p := mustParse(t, matchFile)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if _, ok := p.Match("", "svc-x@example.com"); !ok {
					t.Error("Match: want a match")
					return
				}
			}
		})
	}
	wg.Wait()
}
