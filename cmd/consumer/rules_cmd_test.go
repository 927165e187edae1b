package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripline-dev/tripline/internal/eventtest"
)

func runCmd(t *testing.T, fn func(context.Context, []string, streams) int, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := fn(t.Context(), args, streams{in: strings.NewReader(stdin), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestRulesTestShipped(t *testing.T) {
	t.Parallel()
	code, out, errs := runCmd(t, cmdRules, "", "test", "../../rules")
	if code != 0 || !strings.HasSuffix(lastLine(out), " passed, 0 failed") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, id := range []string{"risky_signin_success", "leaked_credentials"} {
		if !strings.Contains(out, "PASS benign "+id+" (") {
			t.Errorf("no benign line for %s:\n%s", id, out)
		}
	}
	if strings.Contains(out, "benign mfa_fatigue") {
		t.Errorf("a shadow rule was checked against the benign corpus:\n%s", out)
	}
}

func TestRulesLintShipped(t *testing.T) {
	t.Parallel()
	code, out, _ := runCmd(t, cmdRules, "", "lint", "../../rules")
	if code != 0 || !strings.Contains(out, "risky_signin_success") || !strings.Contains(out, "enforce/suspend") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

func writeRules(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRulesLintReportsProblems(t *testing.T) {
	t.Parallel()
	dir := writeRules(t, map[string]string{"a.yaml": `rules:
  - id: Bad-Id
    severity: urgent
    action: suspend
    when: outcom == "success"
`})
	code, out, _ := runCmd(t, cmdRules, "", "lint", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"a.yaml:2: rule Bad-Id: id", "a.yaml:3: rule Bad-Id: severity", "a.yaml:5: rule Bad-Id: when", "0 passed, 3 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestRulesTestFailureShowsDiff(t *testing.T) {
	t.Parallel()
	dir := writeRules(t, map[string]string{"a.yaml": `rules:
  - id: r
    severity: low
    action: suspend
    when: outcome == "success"
    tests:
      - name: wrong user
        event: {user_email: a@example.com, outcome: success}
        expect: {match: true, user: b@example.com}
      - name: no match
        event: {user_email: a@example.com, outcome: failure}
        expect: {match: false}
`})
	code, out, _ := runCmd(t, cmdRules, "", "test", dir)
	if code != 1 || lastLine(out) != "1 passed, 1 failed" {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if !strings.Contains(out, `user: expected "b@example.com", got "a@example.com"`) || !strings.Contains(out, "expected: match=true user=b@example.com") {
		t.Errorf("no diff in output:\n%s", out)
	}
}

// broadEnforce acts on every successful sign-in; its inline tests pass.
const broadEnforce = `rules:
  - id: broad
    severity: high
    mode: enforce
    action: suspend
    when: outcome == "success"
    tests:
      - {name: success, event: {user_email: a@example.com, outcome: success}, expect: {match: true}}
      - {name: failure, event: {user_email: a@example.com, outcome: failure}, expect: {match: false}}
`

func TestRulesTestBenign(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := eventtest.WriteRulesDir(dir, broadEnforce); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCmd(t, cmdRules, "", "test", dir)
	if code != 1 || lastLine(out) != "2 passed, 1 failed" {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{"FAIL benign broad (3 samples) (rules.yaml:2)", "    matches testdata/benign/okta-low-1.json (event okta:benign-1)", "a rule that acts must not match ordinary sign-ins"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	if err := eventtest.WriteRulesDir(dir, eventtest.RiskyRule); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCmd(t, cmdRules, "", "test", dir)
	if code != 0 || !strings.Contains(out, "PASS benign risky_success (3 samples)\n") || lastLine(out) != "3 passed, 0 failed" {
		t.Fatalf("exit %d\n%s", code, out)
	}

	noCorpus := writeRules(t, map[string]string{"r.yaml": eventtest.RiskyRule})
	code, out, _ = runCmd(t, cmdRules, "", "test", noCorpus)
	if code != 1 || !strings.Contains(out, "FAIL benign corpus: testdata/benign: rules that act need a benign corpus in ") || lastLine(out) != "2 passed, 2 failed" {
		t.Fatalf("no corpus: exit %d\n%s", code, out)
	}
}

func TestRulesLintRefusesUnprovenRule(t *testing.T) {
	t.Parallel()
	dir := writeRules(t, map[string]string{"a.yaml": `rules:
  - id: everyone
    severity: high
    mode: enforce
    action: suspend
    when: "true"
`})
	code, out, _ := runCmd(t, cmdRules, "", "lint", dir)
	if code != 1 || !strings.Contains(out, "a.yaml:2: rule everyone: an enforce rule that suspends needs at least one inline test that matches and one that does not (has 0 matching, 0 not matching)") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

func TestRulesUsage(t *testing.T) {
	t.Parallel()
	if code, out, _ := runCmd(t, cmdRules, "", "--help"); code != 0 || !strings.Contains(out, "rules lint [DIR]") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
	if code, _, errs := runCmd(t, cmdRules, "", "frob"); code != 2 || !strings.Contains(errs, "unknown subcommand") {
		t.Errorf("unknown subcommand: exit %d\n%s", code, errs)
	}
}
