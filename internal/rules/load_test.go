package rules

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

const okRule = `
  - id: ok_rule
    severity: low
    action: suspend
    when: outcome == "success"
`

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		file string
		want []string // substrings, one per expected problem, in order
	}{
		{"unknown key", "rules:\n  - id: r\n    severity: low\n    action: none\n    when: true\n    whenn: false\n", []string{`a.yaml:6: rule r: rule: unknown key "whenn"`}},
		{"misspelled field", "rules:\n  - id: r\n    severity: low\n    action: none\n    when: outcom == \"success\"\n", []string{"a.yaml:5: rule r: when: unknown name outcom"}},
		{"non-bool when", "rules:\n  - id: r\n    severity: low\n    action: none\n    when: user_email\n", []string{"a.yaml:5: rule r: when: expected bool"}},
		{"duplicate id", "rules:" + okRule + okRule, []string{"a.yaml:7: rule ok_rule: duplicate rule id (first defined at a.yaml:2)"}},
		{"bad id", "rules:\n  - id: BadID\n    severity: low\n    action: none\n    when: true\n", []string{`a.yaml:2: rule BadID: id "BadID" is not snake_case`}},
		{"bad mode", "rules:\n  - id: r\n    severity: low\n    mode: loud\n    action: none\n    when: true\n", []string{`a.yaml:4: rule r: mode: "loud" is not one of enforce, shadow`}},
		{"bad action", "rules:\n  - id: r\n    severity: low\n    action: delete\n    when: true\n", []string{`a.yaml:4: rule r: action: "delete"`}},
		{"bad severity", "rules:\n  - id: r\n    severity: urgent\n    action: none\n    when: true\n", []string{`a.yaml:3: rule r: severity: "urgent"`}},
		{"bad cooldown", "rules:\n  - id: r\n    severity: low\n    action: none\n    cooldown: soon\n    when: true\n", []string{`a.yaml:5: rule r: cooldown: "soon"`}},
		{"bad template", "rules:\n  - id: r\n    severity: low\n    action: none\n    when: true\n    reason: \"{{ .user_mail }}\"\n", []string{"a.yaml:6: rule r: reason: unknown field .user_mail"}},
		{"unparsable template", "rules:\n  - id: r\n    severity: low\n    action: none\n    when: true\n    reason: \"{{ .user_email \"\n", []string{"a.yaml:6: rule r: reason:"}},
		{"unknown list", "rules:\n  - id: r\n    severity: low\n    action: none\n    when: in_list(user_email, \"vips\")\n", []string{`a.yaml:5: rule r: when: in_list: unknown list "vips"`}},
		{"bad tz", "rules:\n  - id: r\n    severity: low\n    action: none\n    when: hour_in(\"Mars/Olympus\", 1, 5)\n", []string{`a.yaml:5: rule r: when: hour_in: unknown time zone "Mars/Olympus"`}},
		{"count needs literals", "rules:\n  - id: r\n    severity: low\n    action: none\n    when: count(user_email, \"10m\") > 1\n", []string{"a.yaml:5: rule r: when: count: the key and the window must be string literals"}},
		{"bad window", "rules:\n  - id: r\n    severity: low\n    action: none\n    when: count(\"k\", \"ten\") > 1\n", []string{`a.yaml:5: rule r: when: count: window "ten"`}},
		{"non-string user", "rules:\n  - id: r\n    severity: low\n    action: suspend\n    when: true\n    user: risk_score\n", []string{"a.yaml:6: rule r: user:"}},
		{"suspend without a user", "rules:\n  - id: r\n    severity: low\n    action: suspend\n    when: true\n    user: '\"\"'\n", []string{"a.yaml:6: rule r: user: action suspend needs a user"}},
		{"in_cidr on a non-CIDR list", "lists:\n  names: [a, b]\nrules:\n  - id: r\n    severity: low\n    action: none\n    when: in_cidr(src_ip, \"names\")\n", []string{`a.yaml:7: rule r: when: in_cidr: list "names" holds entries`}},
		{"test without expect.match", "rules:\n  - id: r\n    severity: low\n    action: none\n    when: true\n    tests:\n      - name: t\n        event: {outcome: success}\n        expect: {user: x}\n", []string{`a.yaml:7: rule r: test "t": expect.match is required`}},
		{"unknown event field in a test", "rules:\n  - id: r\n    severity: low\n    action: none\n    when: true\n    tests:\n      - name: t\n        event: {outcme: success}\n        expect: {match: true}\n", []string{`a.yaml:8: rule r: event: json: unknown field "outcme"`}},
		{"several problems at once", "rules:\n  - id: Bad\n    severity: urgent\n    action: delete\n    when: outcom\n    extra: 1\n", []string{
			`a.yaml:6: rule Bad: rule: unknown key "extra"`, `a.yaml:2: rule Bad: id "Bad"`, `a.yaml:3: rule Bad: severity`, `a.yaml:4: rule Bad: action`, `a.yaml:5: rule Bad: when: unknown name outcom`,
		}},
		{"yaml syntax", "rules: [\n", []string{"a.yaml:"}},
		{"unknown top-level key", "rulez: []\n", []string{`a.yaml:1: file: unknown key "rulez"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(fstest.MapFS{"a.yaml": {Data: []byte(tc.file)}})
			if !errors.Is(err, ErrInvalidRule) {
				t.Fatalf("err = %v, want ErrInvalidRule", err)
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

func TestLoadAcrossFiles(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"lists.yaml": {Data: []byte("lists:\n  vips: [CEO@example.com]\n  nets: [10.0.0.0/8, 192.0.2.1]\n")},
		"b.yaml":     {Data: []byte("rules:\n  - id: vip\n    severity: low\n    action: none\n    when: in_list(user_email, \"vips\") && in_cidr(src_ip, \"nets\")\n")},
	}
	s, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Rules(); len(got) != 1 || got[0].Mode != ModeShadow || !got[0].Enabled || got[0].File != "b.yaml" {
		t.Errorf("Rules() = %+v", got)
	}
	fsys["c.yaml"] = &fstest.MapFile{Data: []byte("lists:\n  vips: [x]\nrules:\n  - id: vip\n    severity: low\n    action: none\n    when: true\n")}
	_, err = Load(fsys)
	got := LoadErrors(err)
	if len(got) != 2 || !strings.Contains(got[0].Error(), `lists.yaml:2: list "vips" already defined at c.yaml:2`) || !strings.Contains(got[1].Error(), "duplicate rule id") {
		t.Errorf("got %v", err)
	}
}

func TestLoadNoFiles(t *testing.T) {
	t.Parallel()
	if _, err := Load(fstest.MapFS{}); !errors.Is(err, ErrInvalidRule) {
		t.Errorf("err = %v", err)
	}
}
