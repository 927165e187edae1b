package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/rules"
)

const rulesUsage = `Usage:
  consumer rules lint [DIR]   load and compile every rule file in DIR
  consumer rules test [DIR]   load the rules, run their inline tests and
                              check the rules that act against the benign
                              corpus, as the consumer does at start and on
                              every reload
  consumer rules explain [--rules DIR] [--rule ID] [--json] FILE
                              say why each rule matched each event of FILE
                              or not: every clause of its when with its value
                              (consumer rules explain --help)
  consumer rules import-sigma --out DIR [--mapping FILE] FILE|DIR...
                              import Sigma rules as shadow rules
                              (consumer rules import-sigma --help)

DIR defaults to rules/. The *.yaml and *.yml files directly inside DIR are
rule files, except protected.yaml (the protected identities, checked too);
fixtures referenced by tests may live in subdirectories, and the benign
corpus lives in DIR/testdata/benign (*.json, ordinary sign-ins).

A rule acts when it is enabled, in enforce mode and suspends or reactivates.
Both commands refuse one without an inline test that matches and one that
does not; test also fails it if it matches any benign sign-in.

lint prints one line per rule (id, file:line, mode/action, OK) or every
problem found (file:line: rule id: message). test prints PASS or FAIL for
each inline test, with expected and actual outcome for failures, then
"PASS benign ID (N samples)" or "FAIL benign ID ..." for each rule that
acts. Both end with a line "N passed, M failed" and exit 1 if anything
failed, 2 on usage errors.
`

// cmdRules runs `consumer rules lint|test [DIR]` and `consumer rules
// explain` (see cmdRulesExplain).
func cmdRules(ctx context.Context, args []string, s streams) int {
	sub, rest, code, ok := subcommand(args, s, "rules", rulesUsage, "lint", "test", "explain", "import-sigma")
	if !ok {
		return code
	}
	if sub == "import-sigma" {
		return cmdRulesImportSigma(rest, s)
	}
	if sub == "explain" {
		return cmdRulesExplain(ctx, rest, s)
	}
	fs := flag.NewFlagSet("rules "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(s.out, rulesUsage)
			return 0
		}
		fmt.Fprintf(s.err, "consumer rules %s: %v\n\n%s", sub, err, rulesUsage)
		return 2
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(s.err, "consumer rules %s: at most one directory\n\n%s", sub, rulesUsage)
		return 2
	}
	dir := "rules"
	if fs.NArg() == 1 {
		dir = fs.Arg(0)
	}
	set, err := rules.LoadDir(dir)
	if err != nil {
		return reportLoadError(s, err)
	}
	if sub == "lint" {
		return lintRules(s, set)
	}
	return testRules(s, dir, set)
}

// lintRules prints one line per loaded rule and the summary line of
// `consumer rules lint`: the rules loaded, so every one passed.
func lintRules(s streams, set *rules.Set) int {
	for _, r := range set.Rules() {
		state := "OK"
		if !r.Enabled {
			state = "OK (disabled)"
		}
		fmt.Fprintf(s.out, "%-28s %s:%d  %s/%s  %s\n", r.ID, r.File, r.Line, r.Mode, r.Action, state)
	}
	fmt.Fprintf(s.out, "%d passed, 0 failed\n", len(set.Rules()))
	return 0
}

// testRules runs `consumer rules test` on the rules of dir: their inline
// tests, then the benign corpus against the rules that act, and prints the
// summary line.
func testRules(s streams, dir string, set *rules.Set) int {
	dec, err := event.NewDecoder(event.Config{})
	if err != nil {
		fmt.Fprintf(s.err, "consumer rules test: %v\n", err)
		return 1
	}
	decode := func(raw []byte) ([]event.Event, error) { return dec.Decode(raw, event.FormatAuto) }
	passed, failed := rules.WriteTestResults(s.out, set.Test(decode))
	benign, err := set.CheckBenign(dir, decode)
	p, f := rules.WriteBenignResults(s.out, benign)
	passed, failed = passed+p, failed+f
	for _, p := range rules.LoadErrors(err) {
		failed++
		fmt.Fprintf(s.out, "FAIL benign corpus: %s\n", p)
	}
	fmt.Fprintf(s.out, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// reportLoadError prints each load problem and the summary line.
func reportLoadError(s streams, err error) int {
	problems := rules.LoadErrors(err)
	for _, p := range problems {
		fmt.Fprintln(s.out, p.Error())
	}
	fmt.Fprintf(s.out, "0 passed, %d failed\n", len(problems))
	return 1
}
