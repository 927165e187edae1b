package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sigmaCorpus = "../../internal/sigma/testdata"

// TestRulesImportSigma imports a few corpus rules through the command,
// then lints and tests the output with the rules commands.
func TestRulesImportSigma(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	code, stdout, stderr := runCmd(t, cmdRules, "", "import-sigma",
		filepath.Join(sigmaCorpus, "rules/okta_eq_list.yml"), "--out", out, filepath.Join(sigmaCorpus, "rules/entra_expand.yml"))
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if got := lastLine(stdout); got != "imported 2, skipped 0" {
		t.Errorf("summary %q", got)
	}
	for _, want := range []string{"wrote " + out + "/sigma_okta_eq_list.yaml", "wrote " + out + "/sigma-placeholders.yaml",
		"fill the placeholder lists sigma_watched_countries in " + out + "/sigma-placeholders.yaml"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "sigma-placeholders.yaml sigma_entra_expand.yaml sigma_okta_eq_list.yaml" {
		t.Errorf("files written: %v", names)
	}
	if code, o, _ := runCmd(t, cmdRules, "", "lint", out); code != 0 || lastLine(o) != "2 passed, 0 failed" {
		t.Errorf("lint: exit %d\n%s", code, o)
	}
	if code, o, _ := runCmd(t, cmdRules, "", "test", out); code != 0 || lastLine(o) != "4 passed, 0 failed" {
		t.Errorf("test: exit %d\n%s", code, o)
	}
	before, err := os.ReadFile(filepath.Join(out, "sigma_okta_eq_list.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if code, _, _ := runCmd(t, cmdRules, "", "import-sigma", "--out", out, filepath.Join(sigmaCorpus, "rules/okta_eq_list.yml")); code != 0 {
		t.Fatalf("re-import: exit %d", code)
	}
	after, err := os.ReadFile(filepath.Join(out, "sigma_okta_eq_list.yaml"))
	if err != nil || string(after) != string(before) {
		t.Errorf("re-import changed the file (%v)", err)
	}
}

// TestRulesImportSigmaSkips checks a directory with skipped rules: one
// stderr line per skipped rule naming the file and the reason, the summary
// by reason, exit status 1, the other rules written.
func TestRulesImportSigmaSkips(t *testing.T) {
	t.Parallel()
	in := t.TempDir()
	for _, f := range []string{"skip/skip_aggregation.yml", "skip/skip_regexp.yml", "skip/skip_timeframe.yml", "rules/okta_null.yml"} {
		data, err := os.ReadFile(filepath.Join(sigmaCorpus, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(in, filepath.Base(f)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	code, stdout, stderr := runCmd(t, cmdRules, "", "import-sigma", "--out", out, in)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 3 {
		t.Fatalf("stderr has %d lines, want one per skipped rule:\n%s", len(lines), stderr)
	}
	for i, want := range []string{
		"skip " + in + "/skip_aggregation.yml (rule 1 \"Okta Many Failures\"): aggregation: ",
		"skip " + in + "/skip_regexp.yml (rule 1 \"Okta Lookahead\"): regexp: ",
		"skip " + in + "/skip_timeframe.yml (rule 1 \"Okta Failures Over Time\"): timeframe: ",
	} {
		if !strings.HasPrefix(lines[i], want) {
			t.Errorf("stderr line %d = %q, want it to start with %q", i, lines[i], want)
		}
	}
	if got := lastLine(stdout); got != "imported 1, skipped 3 (aggregation 1, regexp 1, timeframe 1)" {
		t.Errorf("summary %q", got)
	}
	if _, err := os.Stat(filepath.Join(out, "sigma_okta_null.yaml")); err != nil {
		t.Errorf("the imported rule was not written: %v", err)
	}
}

func TestRulesImportSigmaUsage(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(bad, []byte("name: x\nlogsources:\n  - product: p\n    format: nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rule := filepath.Join(sigmaCorpus, "rules/okta_null.yml")
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"no out", []string{rule}, 2, "--out DIR is required"},
		{"no input", []string{"--out", t.TempDir()}, 2, "name at least one Sigma file or directory"},
		{"unknown flag", []string{"--outdir", "x", rule}, 2, "flag provided but not defined: -outdir"},
		{"missing input", []string{"--out", t.TempDir(), "no/such/file.yml"}, 2, "read sigma rules:"},
		{"bad mapping", []string{"--out", t.TempDir(), "--mapping", bad, rule}, 2, `format "nope" is not a tripline format`},
		{"missing mapping", []string{"--out", t.TempDir(), "--mapping", "no/such.yaml", rule}, 2, "no such file"},
	}
	for _, tc := range tests {
		code, _, stderr := runCmd(t, cmdRules, "", append([]string{"import-sigma"}, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.err) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tc.name, code, stderr, tc.code, tc.err)
		}
	}
	code, stdout, _ := runCmd(t, cmdRules, "", "import-sigma", "--help")
	if code != 0 || !strings.Contains(stdout, "consumer rules import-sigma --out DIR [--mapping FILE]... FILE|DIR...") ||
		!strings.Contains(stdout, "Exit status") {
		t.Errorf("help: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = runCmd(t, cmdRules, "", "--help")
	if code != 0 || !strings.Contains(stdout, "consumer rules import-sigma") {
		t.Errorf("rules help does not name import-sigma:\n%s", stdout)
	}
}

// TestRulesImportSigmaMapping imports a rule of a logsource only a user's
// mapping file names.
func TestRulesImportSigmaMapping(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mapping := filepath.Join(dir, "m.yaml")
	rule := filepath.Join(dir, "r.yml")
	files := map[string]string{
		mapping: "name: onepassword\nlogsources:\n  - product: onepassword\n    format: 1password\n",
		rule:    "title: 1Password Sign-In Failure\nlogsource:\n    product: onepassword\ndetection:\n    selection:\n        category: credentials_failed\n    condition: selection\n",
	}
	for p, body := range files {
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "out")
	if code, stdout, stderr := runCmd(t, cmdRules, "", "import-sigma", "--mapping", mapping, "--out", out, rule); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	data, err := os.ReadFile(filepath.Join(out, "sigma_r.yaml"))
	if err != nil || !strings.Contains(string(data), `when: source == "1password" && (sigma_eq(raw, "category", ["credentials_failed"])) && identity != ""`) {
		t.Errorf("rule file (%v):\n%s", err, data)
	}
}
