package identity_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tripline-dev/tripline/internal/identity"
)

const validFile = `# Identities tripline never suspends or reactivates, whatever a rule decides.
emails:   [breakglass@example.com, svc-scim@example.com]
domains:  [admins.example.com]        # the domain and any subdomain of it
globs:    ["svc-*@example.com"]       # path.Match syntax against the whole folded email
user_ids: [WVRQ4RGKJ5GNXGBWRXD5X3DLOI]
`

// mustParse parses data as protected.yaml and fails the test on error.
func mustParse(t *testing.T, data string) *identity.Protected {
	t.Helper()
	p, err := identity.ParseProtected("protected.yaml", []byte(data))
	if err != nil {
		t.Fatalf("ParseProtected: %v", err)
	}
	return p
}

// problems splits a joined error into its messages.
func problems(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		t.Fatal("ParseProtected: got no error")
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		return []string{err.Error()}
	}
	var out []string
	for _, e := range joined.Unwrap() {
		out = append(out, e.Error())
	}
	return out
}

func TestParseProtected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		data    string
		wantLen int
		// match maps an email to the entry expected to protect it.
		match map[string]string
	}{
		{
			name:    "flow lists",
			data:    validFile,
			wantLen: 5,
			match: map[string]string{
				"breakglass@example.com": "email breakglass@example.com",
				"svc-scim@example.com":   "email svc-scim@example.com",
				"x@admins.example.com":   "domain admins.example.com",
				"svc-ci@example.com":     "glob svc-*@example.com",
			},
		},
		{
			name: "block lists, mixed case and duplicates",
			data: `emails:
  - BreakGlass@Example.com
  - breakglass@example.com   # same entry after Fold: counted once
  - "  ops@example.com  "
domains:
- Admins.Example.com
user_ids: []
`,
			wantLen: 3,
			match: map[string]string{
				"breakglass@example.com":  "email BreakGlass@Example.com",
				"ops@example.com":         "email ops@example.com",
				"a@eu.admins.example.com": "domain Admins.Example.com",
			},
		},
		{
			name: "alias to an item",
			data: `emails: [&ops ops@example.com]
globs: [*ops]
`,
			wantLen: 2,
			match:   map[string]string{"ops@example.com": "email ops@example.com"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, tt.data)
			if got := p.Len(); got != tt.wantLen {
				t.Errorf("Len() = %d, want %d", got, tt.wantLen)
			}
			got := make(map[string]string)
			for email := range tt.match {
				got[email], _ = p.Match("", email)
			}
			if diff := cmp.Diff(tt.match, got); diff != "" {
				t.Errorf("Match entries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseProtectedEmpty(t *testing.T) {
	t.Parallel()
	for name, data := range map[string]string{
		"empty":         "",
		"only comments": "# nobody is protected yet\n\n# really\n",
		"document mark": "---\n",
		"explicit null": "~\n",
		"empty mapping": "{}\n",
		"empty lists":   "emails: []\ndomains: []\nglobs: []\nuser_ids: []\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, data)
			if p.Len() != 0 {
				t.Errorf("Len() = %d, want 0", p.Len())
			}
			if entry, ok := p.Match("WVRQ4RGKJ5GNXGBWRXD5X3DLOI", "breakglass@example.com"); ok {
				t.Errorf("Match = %q, true; want no match", entry)
			}
		})
	}
}

func TestParseProtectedAllowEmpty(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		data       string
		wantLen    int
		allowEmpty bool
	}{
		{"absent", "emails: []\n", 0, false},
		{"empty file", "", 0, false},
		{"true, nothing else", "allow_empty: true\n", 0, true},
		{"true, empty lists", "emails: []\ndomains: []\nglobs: []\nuser_ids: []\nallow_empty: true\n", 0, true},
		{"True", "allow_empty: True\n", 0, true},
		{"false", "allow_empty: false\n", 0, false},
		{"true with entries", "emails: [breakglass@example.com]\nallow_empty: true\n", 1, true},
		{"false with entries", "allow_empty: false\nemails: [breakglass@example.com]\n", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, tt.data)
			if p.Len() != tt.wantLen || p.AllowEmpty() != tt.allowEmpty {
				t.Errorf("Len() = %d, AllowEmpty() = %t; want %d, %t", p.Len(), p.AllowEmpty(), tt.wantLen, tt.allowEmpty)
			}
		})
	}
	var nilList *identity.Protected
	if nilList.AllowEmpty() {
		t.Error("a nil *Protected allows empty")
	}
}

func TestParseProtectedErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data, want string
	}{
		// emails
		{"email without at", "emails: [breakglass]",
			`protected.yaml:1: emails: "breakglass" is not an email address (expected local@domain)`},
		{"email with two at", "emails: [a@b@example.com]",
			`protected.yaml:1: emails: "a@b@example.com" is not an email address (expected local@domain)`},
		{"email without local part", "emails: [\"@example.com\"]",
			`protected.yaml:1: emails: "@example.com" is not an email address (expected local@domain)`},
		{"email without domain", "emails: [breakglass@]",
			`protected.yaml:1: emails: "breakglass@" is not an email address (expected local@domain)`},
		{"email with white space", "emails: [break glass@example.com]",
			`protected.yaml:1: emails: "break glass@example.com" contains white space`},
		{"empty email", "emails: [\" \"]",
			`protected.yaml:1: emails: empty email address`},
		// domains
		{"domain with leading at", "domains: [\"@admins.example.com\"]",
			`protected.yaml:1: domains: "@admins.example.com" starts with @ (write the domain without @)`},
		{"domain with at", "domains: [ops@example.com]",
			`protected.yaml:1: domains: "ops@example.com" is not a domain (list email addresses under emails)`},
		{"domain with wildcard", "domains: [\"*.example.com\"]",
			`protected.yaml:1: domains: "*.example.com" contains a wildcard (a domain already covers its subdomains; use globs for patterns)`},
		{"domain with leading dot", "domains: [.example.com]",
			`protected.yaml:1: domains: ".example.com" starts or ends with a dot (write the domain without it; subdomains are covered)`},
		{"domain with trailing dot", "domains: [example.com.]",
			`protected.yaml:1: domains: "example.com." starts or ends with a dot (write the domain without it; subdomains are covered)`},
		{"domain with empty label", "domains: [admins..example.com]",
			`protected.yaml:1: domains: "admins..example.com" has an empty label ("..")`},
		{"domain with white space", "domains: [\"admins example.com\"]",
			`protected.yaml:1: domains: "admins example.com" contains white space`},
		{"empty domain", "domains: [\"\"]",
			`protected.yaml:1: domains: empty domain`},
		// globs
		{"bad glob", "globs: [\"svc-[a-@example.com\"]",
			`protected.yaml:1: globs: "svc-[a-@example.com" is not a valid pattern (path.Match syntax: *, ?, [a-z], \ to escape)`},
		{"glob without at", "globs: [\"svc-*\"]",
			`protected.yaml:1: globs: "svc-*" does not contain @ (a glob matches whole email addresses, e.g. svc-*@example.com)`},
		{"empty glob", "globs: [\"\"]",
			`protected.yaml:1: globs: empty pattern`},
		// user_ids
		{"user id with white space", "user_ids: [\"WVRQ4RGK J5GNXGBWRXD5X3DLOI\"]",
			`protected.yaml:1: user_ids: "WVRQ4RGK J5GNXGBWRXD5X3DLOI" contains white space`},
		{"empty user id", "user_ids: [\"\"]",
			`protected.yaml:1: user_ids: empty user id`},
		// structure
		{"unknown key", "emails: []\nemail: [breakglass@example.com]",
			`protected.yaml:2: unknown key "email" (allowed: emails, domains, globs, user_ids, allow_empty)`},
		{"duplicate key", "emails: []\ndomains: []\nemails: [ops@example.com]",
			`protected.yaml:3: duplicate key "emails"`},
		{"string instead of list", "emails: breakglass@example.com",
			`protected.yaml:1: emails: expected a list of strings, got "breakglass@example.com" (write a list, e.g. [breakglass@example.com])`},
		{"null instead of list", "emails:\ndomains: []",
			`protected.yaml:1: emails: expected a list of strings, got nothing (write [] for none)`},
		{"mapping instead of list", "emails:\n  ops: ops@example.com",
			`protected.yaml:1: emails: expected a list of strings, got a mapping`},
		{"number item", "user_ids: [123]",
			`protected.yaml:1: user_ids: expected a string, got !!int 123 (quote it)`},
		{"boolean item", "user_ids: [true]",
			`protected.yaml:1: user_ids: expected a string, got !!bool true (quote it)`},
		{"null item", "emails:\n  - ops@example.com\n  -\n",
			`protected.yaml:3: emails: expected a string, got nothing`},
		{"mapping item", "emails:\n  - ops: ops@example.com",
			`protected.yaml:2: emails: expected a string, got a mapping`},
		{"list item", "emails: [[ops@example.com]]",
			`protected.yaml:1: emails: expected a string, got a list`},
		{"top level list", "- ops@example.com",
			`protected.yaml:1: expected a mapping with the keys emails, domains, globs, user_ids, allow_empty, got a list`},
		{"top level string", "ops@example.com",
			`protected.yaml:1: expected a mapping with the keys emails, domains, globs, user_ids, allow_empty, got "ops@example.com"`},
		// yaml reports the line where the unclosed list starts.
		{"yaml syntax error", "emails: [ops@example.com\ndomains: []\n",
			`protected.yaml:1: parse yaml: did not find expected ',' or ']'`},
		{"tab indentation", "emails: []\ndomains: []\n\tglobs: []\n",
			`protected.yaml:3: parse yaml: found character that cannot start any token`},
		{"two documents", "emails: []\n---\ndomains: []\n",
			`protected.yaml:3: only one YAML document is allowed`},
		// allow_empty
		{"allow_empty as a string", "allow_empty: \"true\"",
			`protected.yaml:1: allow_empty: expected true or false, got "true"`},
		{"allow_empty yes", "allow_empty: yes",
			`protected.yaml:1: allow_empty: expected true or false, got "yes"`},
		{"allow_empty as a number", "allow_empty: 1",
			`protected.yaml:1: allow_empty: expected true or false, got !!int 1`},
		{"allow_empty without value", "emails: []\nallow_empty:\n",
			`protected.yaml:2: allow_empty: expected true or false, got nothing`},
		{"allow_empty as a list", "allow_empty: [true]",
			`protected.yaml:1: allow_empty: expected true or false, got a list`},
		{"allow_empty twice", "allow_empty: false\nallow_empty: true\n",
			`protected.yaml:2: duplicate key "allow_empty"`},
		{"misspelled allow_empty", "allow-empty: true",
			`protected.yaml:1: unknown key "allow-empty" (allowed: emails, domains, globs, user_ids, allow_empty)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := identity.ParseProtected("protected.yaml", []byte(tt.data))
			if p != nil {
				t.Errorf("ParseProtected returned %v with an error, want nil", p)
			}
			if diff := cmp.Diff([]string{tt.want}, problems(t, err)); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseProtectedReportsEveryProblem(t *testing.T) {
	t.Parallel()
	const data = `# protected identities
emails:
  - ok@example.com
  - breakglass
domains: ["@admins.example.com", ok.example.com]
globs: [svc-*]
admins: [x@example.com]
user_ids:
  - WVRQ4RGKJ5GNXGBWRXD5X3DLOI
  - 42
`
	_, err := identity.ParseProtected("protected.yaml", []byte(data))
	want := []string{
		`protected.yaml:4: emails: "breakglass" is not an email address (expected local@domain)`,
		`protected.yaml:5: domains: "@admins.example.com" starts with @ (write the domain without @)`,
		`protected.yaml:6: globs: "svc-*" does not contain @ (a glob matches whole email addresses, e.g. svc-*@example.com)`,
		`protected.yaml:7: unknown key "admins" (allowed: emails, domains, globs, user_ids, allow_empty)`,
		`protected.yaml:10: user_ids: expected a string, got !!int 42 (quote it)`,
	}
	if diff := cmp.Diff(want, problems(t, err)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}
