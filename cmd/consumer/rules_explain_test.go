package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripline-dev/tripline/internal/rules"
)

const (
	oktaRisky    = "../../rules/testdata/okta-session-start-risky.json"
	explainGold  = "../../internal/rules/testdata/explain/"
	entraBatched = "../../rules/testdata/entra-risky-signin.json"
)

// compactJSON returns the JSON document in file on one line.
func compactJSON(t *testing.T, file string) string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestRulesExplainMatchesTheGolden: the command prints what the rules
// package's golden test expects, for a pretty-printed document.
func TestRulesExplainMatchesTheGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"match.txt", []string{"explain", "--rules", "../../rules", "--rule", "risky_signin_success", oktaRisky}},
		{"match.json", []string{"explain", "--rules", "../../rules", "--rule", "risky_signin_success", "--json", oktaRisky}},
	} {
		want, err := os.ReadFile(explainGold + tc.golden)
		if err != nil {
			t.Fatal(err)
		}
		code, out, errs := runCmd(t, cmdRules, "", tc.args...)
		if code != 0 || out != string(want) || errs != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout:\n%s\nwant:\n%s", tc.args, code, errs, out, want)
		}
	}
}

// TestRulesExplainInputs: JSON lines from stdin, blank lines skipped,
// line numbers kept; one pretty-printed document after blank lines; a
// batch giving several events; --json giving one object per event and
// rule.
func TestRulesExplainInputs(t *testing.T) {
	t.Parallel()
	okta := compactJSON(t, oktaRisky)
	entra := compactJSON(t, entraBatched)
	code, out, errs := runCmd(t, cmdRules, "\n"+okta+"\n\n"+entra+"\n", "explain", "--rules", "../../rules", "--rule", "risky_signin_success", "--rule", "leaked_credentials", "-")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"event okta:5c0e9a8e-a8d2-11f0-9b6d-3b1f6a2c7e10 (line 2): okta signin",
		"event entra:7b3e9f10-4c2a-4d8e-b6f1-2a9c5e0d8b00 (line 4, item 1): entra signin",
		"  leaked_credentials  NO MATCH\n",
		"  risky_signin_success  MATCH  (decision: enforce/suspend dana.reyes@example.com)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "mfa_fatigue") {
		t.Errorf("a rule not asked about was explained:\n%s", out)
	}
	if i, j := strings.Index(out, "  leaked_credentials"), strings.Index(out, "  risky_signin_success"); i < 0 || j < i {
		t.Errorf("rules not in rule order:\n%s", out)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "doc.json")
	pretty, err := os.ReadFile(oktaRisky)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, append([]byte("\n\n"), pretty...), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runCmd(t, cmdRules, "", "explain", "--rules", "../../rules", "--json", file)
	if code != 0 || errs != "" {
		t.Fatalf("exit %d: %s", code, errs)
	}
	set, err := rules.LoadDir("../../rules")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(set.Rules()) {
		t.Fatalf("%d JSON lines for %d shipped rules:\n%s", len(lines), len(set.Rules()), out)
	}
	for _, l := range lines {
		var v struct {
			Line    int    `json:"line"`
			EventID string `json:"event_id"`
			RuleID  string `json:"rule_id"`
			Match   *bool  `json:"match"`
			Tree    *struct {
				Expr      string `json:"expr"`
				Evaluated bool   `json:"evaluated"`
			} `json:"tree"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if v.Line != 3 || v.EventID == "" || v.RuleID == "" || v.Match == nil || v.Tree == nil || !v.Tree.Evaluated {
			t.Errorf("line %+v", v)
		}
	}
}

// TestRulesExplainErrors: usage errors exit 2, rules that do not load,
// an input that cannot be read or a document that cannot be decoded exit
// 1, naming the line; the documents that decode are still explained.
func TestRulesExplainErrors(t *testing.T) {
	t.Parallel()
	okta := compactJSON(t, oktaRisky)
	bad := writeRules(t, map[string]string{"a.yaml": "rules:\n  - id: r\n    severity: low\n    action: none\n    when: outcom == \"x\"\n"})
	broken := filepath.Join(t.TempDir(), "broken.json")
	if err := os.WriteFile(broken, []byte("{\n  \"uuid\": \"x\",\n  \"bad\": \n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		out   string // in stdout
		errs  []string
	}{
		{name: "no file", args: []string{"explain"}, code: 2, errs: []string{"exactly one input file", "Usage: consumer rules explain"}},
		{name: "two files", args: []string{"explain", "a", "b"}, code: 2, errs: []string{"exactly one input file"}},
		{name: "bad flag", args: []string{"explain", "--nope", "-"}, code: 2, errs: []string{"flag provided but not defined: -nope"}},
		{name: "bad format", args: []string{"explain", "--format", "xml", "-"}, code: 2, errs: []string{"xml"}},
		{name: "unknown rule", args: []string{"explain", "--rules", "../../rules", "--rule", "mfa_fatgue", "-"}, code: 2,
			errs: []string{`unknown rule "mfa_fatgue" (did you mean "mfa_fatigue"?); known rules: anonymous_proxy_success, leaked_credentials, mfa_fatigue`}},
		{name: "help", args: []string{"explain", "--help"}, code: 0, out: "Usage: consumer rules explain"},
		{name: "rules do not load", args: []string{"explain", "--rules", bad, "-"}, code: 1, errs: []string{"consumer rules explain: a.yaml:5: rule r: when:"}},
		{name: "no rules directory", args: []string{"explain", "--rules", "/nonexistent", "-"}, code: 1, errs: []string{"/nonexistent"}},
		{name: "missing file", args: []string{"explain", "--rules", "../../rules", "/nonexistent.json"}, code: 1, errs: []string{"consumer rules explain: read: open /nonexistent.json"}},
		{name: "empty input", args: []string{"explain", "--rules", "../../rules", "-"}, stdin: "\n\n", code: 1, errs: []string{"stdin: no document"}},
		{name: "a line does not decode", args: []string{"explain", "--rules", "../../rules", "--rule", "risky_signin_success", "-"},
			stdin: okta + "\n{\"uuid\": \"x\"}\n{broken\n", code: 1, out: "risky_signin_success  MATCH",
			errs: []string{"consumer rules explain: stdin:2: decode (unknown_format):", "consumer rules explain: stdin:3: decode (invalid_json):"}},
		{name: "a broken pretty-printed document", args: []string{"explain", "--rules", "../../rules", broken}, code: 1,
			errs: []string{broken + ":4: decode (invalid_json):"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, out, errs := runCmd(t, cmdRules, tc.stdin, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errs)
			}
			if tc.out != "" && !strings.Contains(out, tc.out) {
				t.Errorf("stdout lacks %q:\n%s", tc.out, out)
			}
			for _, want := range tc.errs {
				if !strings.Contains(errs, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errs)
				}
			}
			if tc.name == "a broken pretty-printed document" && strings.Count(errs, "decode") != 1 {
				t.Errorf("a broken document is reported more than once:\n%s", errs)
			}
		})
	}
}

// TestRulesUsageListsExplain: `consumer rules` lists the subcommand.
func TestRulesUsageListsExplain(t *testing.T) {
	t.Parallel()
	code, out, _ := runCmd(t, cmdRules, "", "--help")
	if code != 0 || !strings.Contains(out, "consumer rules explain [--rules DIR] [--rule ID] [--json] FILE") {
		t.Errorf("exit %d:\n%s", code, out)
	}
}
