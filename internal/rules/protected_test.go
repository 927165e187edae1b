package rules

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

const protectedRule = "rules:\n  - id: r\n    severity: low\n    action: none\n    when: 'true'\n"

func TestLoadProtected(t *testing.T) {
	t.Parallel()
	s, err := Load(fstest.MapFS{
		"r.yaml":         {Data: []byte(protectedRule)},
		"protected.yaml": {Data: []byte("emails: [BreakGlass@example.com]\ndomains: [admins.example.com]\nglobs: [\"svc-*@example.com\"]\nuser_ids: [WVRQ4RGKJ5GNXGBWRXD5X3DLOI]\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Files(); len(got) != 1 || got[0] != "r.yaml" {
		t.Errorf("rule files = %v, want [r.yaml]: protected.yaml is not a rule file", got)
	}
	p := s.Protected()
	if p.Len() != 4 {
		t.Errorf("Len = %d, want 4", p.Len())
	}
	for _, c := range []struct {
		id, email, entry string
	}{
		{"", "breakglass@EXAMPLE.com", "email BreakGlass@example.com"},
		{"", "root@ops.admins.example.com", "domain admins.example.com"},
		{"", "svc-backup@example.com", "glob svc-*@example.com"},
		{"WVRQ4RGKJ5GNXGBWRXD5X3DLOI", "dana.reyes@example.com", "user_id WVRQ4RGKJ5GNXGBWRXD5X3DLOI"},
	} {
		if entry, ok := p.Match(c.id, c.email); !ok || entry != c.entry {
			t.Errorf("Match(%q, %q) = %q, %t; want %q", c.id, c.email, entry, ok, c.entry)
		}
	}
	if entry, ok := p.Match("OTHER", "dana.reyes@example.com"); ok {
		t.Errorf("dana.reyes@example.com protected by %s", entry)
	}
}

func TestLoadWithoutProtectedFile(t *testing.T) {
	t.Parallel()
	s, err := Load(fstest.MapFS{"r.yaml": {Data: []byte(protectedRule)}})
	if err != nil {
		t.Fatal(err)
	}
	p := s.Protected()
	if p == nil {
		t.Fatal("Protected() = nil")
	}
	if _, ok := p.Match("X", "breakglass@example.com"); ok || p.Len() != 0 {
		t.Errorf("an absent protected.yaml protects %d entries", p.Len())
	}
}

func TestLoadBadProtectedFile(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		files fstest.MapFS
		want  []string // problems, in order
	}{
		{"bad entries", fstest.MapFS{
			"r.yaml":         {Data: []byte(protectedRule)},
			"protected.yaml": {Data: []byte("emails:\n  - breakglass@example.com\n  - not-an-email\ndomains: admins.example.com\nuserids: [x]\n")},
		}, []string{
			`protected.yaml:3: emails: "not-an-email" is not an email address`,
			"protected.yaml:4: domains: expected a list of strings",
			`protected.yaml:5: unknown key "userids"`,
		}},
		{"yaml syntax", fstest.MapFS{
			"r.yaml":         {Data: []byte(protectedRule)},
			"protected.yaml": {Data: []byte("emails: [\n")},
		}, []string{"protected.yaml:"}},
		{"with a bad rule, both reported", fstest.MapFS{
			"r.yaml":         {Data: []byte("rules:\n  - id: r\n    severity: low\n    action: none\n    when: outcom\n")},
			"protected.yaml": {Data: []byte("globs: [\"svc-*\"]\n")},
		}, []string{`protected.yaml:1: globs: "svc-*" does not contain @`, "r.yaml:5: rule r: when: unknown name outcom"}},
		{"misnamed protected.yml", fstest.MapFS{
			"r.yaml":        {Data: []byte(protectedRule)},
			"protected.yml": {Data: []byte("emails: [breakglass@example.com]\n")},
		}, []string{"protected.yml: the protected identities file must be named protected.yaml"}},
		{"protected.yaml alone", fstest.MapFS{
			"protected.yaml": {Data: []byte("emails: [breakglass@example.com]\n")},
		}, []string{".: no rule files"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := Load(tc.files)
			if s != nil || !errors.Is(err, ErrInvalidRule) {
				t.Fatalf("Load = %v, %v; want ErrInvalidRule", s, err)
			}
			got := LoadErrors(err)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(got), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i].Error(), w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got[i].Error(), w)
				}
			}
		})
	}
}

func TestLoadBadProtectedFilePositions(t *testing.T) {
	t.Parallel()
	_, err := Load(fstest.MapFS{
		"r.yaml":         {Data: []byte(protectedRule)},
		"protected.yaml": {Data: []byte("emails:\n  - ok@example.com\n  - \"two words@example.com\"\n")},
	})
	got := LoadErrors(err)
	if len(got) != 1 || got[0].File != "protected.yaml" || got[0].Line != 3 || strings.HasPrefix(got[0].Msg, "protected.yaml") {
		t.Fatalf("problems = %+v", got)
	}
}
