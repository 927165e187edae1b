package rules

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tripline-dev/tripline/internal/remediate"
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
		{"bad mode", "rules:\n  - id: r\n    severity: low\n    mode: loud\n    action: none\n    when: true\n", []string{`a.yaml:4: rule r: mode: "loud" is not one of enforce, approve, shadow`}},
		{"bad approval timeout", "rules:\n  - id: r\n    severity: low\n    mode: approve\n    approval_timeout: 10s\n    action: none\n    when: true\n", []string{`a.yaml:5: rule r: approval_timeout: "10s" is not a duration between 1m and 168h`}},
		{"approval timeout outside approve", "rules:\n  - id: r\n    severity: low\n    approval_timeout: 30m\n    action: none\n    when: true\n", []string{`a.yaml:4: rule r: approval_timeout is only for mode: approve`}},
		{"bad action", "rules:\n  - id: r\n    severity: low\n    action: delete\n    when: true\n", []string{`a.yaml:4: rule r: action: "delete"`}},
		{"bad severity", "rules:\n  - id: r\n    severity: urgent\n    action: none\n    when: true\n", []string{`a.yaml:3: rule r: severity: "urgent"`}},
		{"bad cooldown", "rules:\n  - id: r\n    severity: low\n    action: none\n    cooldown: soon\n    when: true\n", []string{`a.yaml:5: rule r: cooldown: "soon"`}},
		{"sigma block with a typo", "rules:\n  - id: r\n    severity: low\n    action: none\n    when: true\n    sigma:\n      titel: x\n", []string{`a.yaml:7: rule r: sigma: field titel not found in type rules.SigmaOrigin`}},
		{"sigma block not a mapping", "rules:\n  - id: r\n    severity: low\n    action: none\n    when: true\n    sigma: okta\n", []string{`a.yaml:6: rule r: sigma: expected a mapping`}},
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
		{"expect.suppressed removed", "rules:\n  - id: r\n    severity: low\n    action: none\n    when: true\n    tests:\n      - name: t\n        event: {outcome: success}\n        expect: {match: true, suppressed: false}\n", []string{
			"a.yaml:9: rule r: expect.suppressed: cooldowns are applied by the decision service when it acts; remove this key",
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
	if got := s.Rules(); len(got) != 1 || got[0].Mode != remediate.ModeShadow || !got[0].Enabled || got[0].File != "b.yaml" {
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

// limitRule is a shadow rule with a max_actions and a grace as written.
func limitRule(maxActions, grace string) string {
	return "rules:\n  - id: r\n    severity: low\n    action: suspend\n    when: 'true'\n    max_actions: " + maxActions + "\n    grace: " + grace + "\n"
}

func TestLoadMaxActionsAndGrace(t *testing.T) {
	t.Parallel()
	const limitMsg = `is not COUNT/WINDOW with a count of at least 1 and a positive duration (e.g. 10/1h`
	cases := []struct {
		maxActions, grace string
		want              []string // problems, in order; none: loads
		limit             Limit
		graceWant         time.Duration
	}{
		{maxActions: "10/1h", grace: "24h", limit: Limit{10, time.Hour}, graceWant: 24 * time.Hour},
		{maxActions: "1/90m", grace: "0s", limit: Limit{1, 90 * time.Minute}},
		{maxActions: "' 3 / 10m '", grace: "30m", limit: Limit{3, 10 * time.Minute}, graceWant: 30 * time.Minute},
		{maxActions: "5", grace: "1h", want: []string{`a.yaml:6: rule r: max_actions: "5" ` + limitMsg}},
		{maxActions: "0/1h", grace: "1h", want: []string{`a.yaml:6: rule r: max_actions: "0/1h" ` + limitMsg}},
		{maxActions: "-2/1h", grace: "1h", want: []string{`a.yaml:6: rule r: max_actions: "-2/1h" ` + limitMsg}},
		{maxActions: "1.5/1h", grace: "1h", want: []string{`a.yaml:6: rule r: max_actions: "1.5/1h" ` + limitMsg}},
		{maxActions: "5/0s", grace: "1h", want: []string{`a.yaml:6: rule r: max_actions: "5/0s" ` + limitMsg}},
		{maxActions: "5/-1h", grace: "1h", want: []string{`a.yaml:6: rule r: max_actions: "5/-1h" ` + limitMsg}},
		{maxActions: "5/hour", grace: "1h", want: []string{`a.yaml:6: rule r: max_actions: "5/hour" ` + limitMsg}},
		{maxActions: "5/1h/2", grace: "1h", want: []string{`a.yaml:6: rule r: max_actions: "5/1h/2" ` + limitMsg}},
		{maxActions: "/1h", grace: "1h", want: []string{`a.yaml:6: rule r: max_actions: "/1h" ` + limitMsg}},
		{maxActions: `""`, grace: "1h", want: []string{`a.yaml:6: rule r: max_actions: "" ` + limitMsg}},
		{maxActions: "[5, 1h]", grace: "1h", want: []string{`a.yaml:6: rule r: max_actions: expected a string`}},
		{maxActions: "5/1h", grace: "-1h", want: []string{`a.yaml:7: rule r: grace: "-1h" is not a non-negative duration (e.g. 24h)`}},
		{maxActions: "5/1h", grace: "a day", want: []string{`a.yaml:7: rule r: grace: "a day" is not a non-negative duration`}},
		{maxActions: "5/1h", grace: `""`, want: []string{`a.yaml:7: rule r: grace: "" is not a non-negative duration`}},
		{maxActions: "0/0s", grace: "soon", want: []string{`a.yaml:7: rule r: grace: "soon"`, `a.yaml:6: rule r: max_actions: "0/0s"`}},
	}
	for _, tc := range cases {
		t.Run(tc.maxActions+" "+tc.grace, func(t *testing.T) {
			t.Parallel()
			s, err := Load(fstest.MapFS{"a.yaml": {Data: []byte(limitRule(tc.maxActions, tc.grace))}})
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if info := s.Rules()[0]; info.MaxActions != tc.limit || info.Grace != tc.graceWant {
					t.Errorf("max_actions %v, grace %v; want %v, %v", info.MaxActions, info.Grace, tc.limit, tc.graceWant)
				}
				return
			}
			got := LoadErrors(err)
			if !errors.Is(err, ErrInvalidRule) || len(got) != len(tc.want) {
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

func TestLoadUnsetLimitsAreZero(t *testing.T) {
	t.Parallel()
	s, err := Load(fstest.MapFS{"a.yaml": {Data: []byte("rules:" + okRule)}})
	if err != nil {
		t.Fatal(err)
	}
	if info := s.Rules()[0]; info.MaxActions != (Limit{}) || info.Grace != 0 || info.Cooldown != 0 {
		t.Errorf("defaults: %+v", info)
	}
}

// proofRule is a rule with the given mode, action and enabled flag and one
// inline test per expectation in matches.
func proofRule[M ~string, A ~string](mode M, action A, enabled bool, matches ...bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rules:\n  - id: r\n    severity: low\n    mode: %s\n    action: %s\n    enabled: %t\n    when: outcome == \"success\"\n", mode, action, enabled)
	if len(matches) > 0 {
		b.WriteString("    tests:\n")
	}
	for i, m := range matches {
		outcome := "failure"
		if m {
			outcome = "success"
		}
		fmt.Fprintf(&b, "      - {name: t%d, event: {user_email: a@example.com, outcome: %s}, expect: {match: %t}}\n", i, outcome, m)
	}
	return b.String()
}

func TestLoadActingRuleNeedsProof(t *testing.T) {
	t.Parallel()
	const need = "a.yaml:2: rule r: an enforce rule that %s needs at least one inline test that matches and one that does not (has %d matching, %d not matching)"
	cases := []struct {
		name    string
		file    string
		wantErr string // "" when the rule loads
	}{
		{"enforce suspend, matching tests only", proofRule(remediate.ModeEnforce, remediate.ActionSuspend, true, true, true), fmt.Sprintf(need, "suspends", 2, 0)},
		{"enforce suspend, non-matching tests only", proofRule(remediate.ModeEnforce, remediate.ActionSuspend, true, false, false), fmt.Sprintf(need, "suspends", 0, 2)},
		{"enforce suspend, no tests", proofRule(remediate.ModeEnforce, remediate.ActionSuspend, true), fmt.Sprintf(need, "suspends", 0, 0)},
		{"enforce reactivate, matching test only", proofRule(remediate.ModeEnforce, remediate.ActionReactivate, true, true), fmt.Sprintf(need, "reactivates", 1, 0)},
		{"enforce suspend, both", proofRule(remediate.ModeEnforce, remediate.ActionSuspend, true, true, false), ""},
		{"enforce reactivate, both", proofRule(remediate.ModeEnforce, remediate.ActionReactivate, true, false, true), ""},
		{"shadow suspend is exempt", proofRule(remediate.ModeShadow, remediate.ActionSuspend, true), ""},
		{"shadow suspend with matching tests only is exempt", proofRule(remediate.ModeShadow, remediate.ActionSuspend, true, true), ""},
		{"disabled enforce suspend is exempt", proofRule(remediate.ModeEnforce, remediate.ActionSuspend, false, true), ""},
		{"enforce none is exempt", proofRule(remediate.ModeEnforce, remediate.ActionNone, true), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(fstest.MapFS{"a.yaml": {Data: []byte(tc.file)}})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			got := LoadErrors(err)
			if !errors.Is(err, ErrInvalidRule) || len(got) != 1 || got[0].Error() != tc.wantErr {
				t.Fatalf("err = %v\nwant %s", err, tc.wantErr)
			}
			if got[0].File != "a.yaml" || got[0].Line != 2 || got[0].RuleID != "r" {
				t.Errorf("LoadError = %+v", got[0])
			}
		})
	}
}

// TestLoadKeepsTheSigmaOrigin: a rule's sigma: block reaches its RuleInfo
// as written.
func TestLoadKeepsTheSigmaOrigin(t *testing.T) {
	t.Parallel()
	const file = `rules:
  - id: sigma_okta_mfa_reset
    severity: medium
    action: none
    when: source == "okta" && raw?.eventType == "user.mfa.factor.reset_all"
    sigma:
      id: 0d3b9c6a-0000-4000-8000-000000000001
      title: Okta MFA Reset
      status: test
      author: tripline
      date: "2026-12-07"
      references: [https://example.com/okta]
      logsource: {product: okta, service: okta}
      file: okta_mfa_reset.yml
      condition: selection
      selections:
        - name: selection
          when: raw?.eventType == "user.mfa.factor.reset_all"
`
	set, err := Load(fstest.MapFS{"a.yaml": {Data: []byte(file)}})
	if err != nil {
		t.Fatal(err)
	}
	o := set.Rules()[0].Sigma
	if o == nil || o.Title != "Okta MFA Reset" || o.Logsource["product"] != "okta" || len(o.References) != 1 ||
		len(o.Selections) != 1 || o.Selections[0].Name != "selection" || o.Condition != "selection" {
		t.Fatalf("sigma origin = %+v", o)
	}
}
