package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tripline-dev/tripline/internal/sigma"
)

const importSigmaUsage = `Usage:
  consumer rules import-sigma --out DIR [--mapping FILE]... FILE|DIR...

Imports Sigma rules (https://sigmahq.io) as tripline rules. Each FILE is a
Sigma file (YAML, possibly several rules: multi-document files and the
collection actions global, reset and repeat are read); each DIR is read
recursively for *.yml and *.yaml files.

Each Sigma rule becomes one tripline rule, in one file per Sigma file,
DIR/<id>.yaml, where id is sigma_ and the file's base name in snake_case
(_2, _3... for a file's next rules, and for ids another file already took):
  - mode: shadow and action: suspend, always: promote a rule to enforce
    once it proves itself (see rules/README.md, "Sigma rules");
  - when: source == "<format>" && (<the detection compiled>), with Sigma's
    semantics (case-insensitive strings, wildcards, modifiers, null, loose
    types, lists crossed), through the sigma_* functions;
  - severity from level, tags from tags, a reason naming the title, the
    sigma: block (id, title, status, author, dates, references, logsource,
    file, condition, and each selection with the expr it compiled to);
  - inline tests: an event that matches and one that does not, built from
    the detection and checked.
Placeholders (|expand) become tripline lists in DIR/sigma-placeholders.yaml,
holding only the placeholder until you fill them (values already there
are kept). Re-importing the same files gives the same bytes.

Flags:
  --out DIR        directory to write the rule files into (created when
                   missing; other files in it are left alone). Required.
  --mapping FILE   a mapping file adding logsources and field placements,
                   or extending a shipped mapping of the same name
                   (okta, entra, cloudtrail, gws); may be repeated. The
                   format is described in rules/README.md.

Logsources read by the shipped mappings: product okta; product azure,
service signinlogs or riskdetection (Entra, Event Hub records); product aws,
service cloudtrail; product gcp, service google_workspace.login or
google_workspace.admin (Reports API activities).

A rule that cannot run exactly as Sigma means it is skipped, with one line
on stderr naming the file and the reason: aggregation (| count() ...),
correlation, filter, timeframe, logsource (not one tripline reads),
regexp (RE2 cannot run it: lookaround, backreference), modifier (not
supported: neq, utf16, wide, time modifiers...), field (the mapping cannot
place it), invalid (not valid Sigma), untestable (no event can match).

stdout gets one line per file written and a summary: how many rules were
imported and how many skipped, by reason. Exit status: 0 when every rule
was imported, 1 when some were skipped (the others are written), 2 on
usage errors, an unreadable input or mapping file, or a write failure.
`

// cmdRulesImportSigma runs `consumer rules import-sigma`.
func cmdRulesImportSigma(args []string, s streams) int {
	var (
		out      string
		mappings []string
	)
	fs := flag.NewFlagSet("rules import-sigma", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&out, "out", "", "")
	fs.Func("mapping", "", func(v string) error { mappings = append(mappings, v); return nil })
	// Flags may come before, between or after the inputs.
	var inputs []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(s.out, importSigmaUsage)
				return 0
			}
			fmt.Fprintf(s.err, "consumer rules import-sigma: %v\n\n%s", err, importSigmaUsage)
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		inputs = append(inputs, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	switch {
	case out == "":
		fmt.Fprintf(s.err, "consumer rules import-sigma: --out DIR is required\n\n%s", importSigmaUsage)
		return 2
	case len(inputs) == 0:
		fmt.Fprintf(s.err, "consumer rules import-sigma: name at least one Sigma file or directory\n\n%s", importSigmaUsage)
		return 2
	}
	ms, err := sigma.ShippedMappings()
	if err != nil {
		fmt.Fprintf(s.err, "consumer rules import-sigma: %v\n", err)
		return 2
	}
	for _, m := range mappings {
		data, err := os.ReadFile(m)
		if err == nil {
			err = ms.Add(m, data)
		}
		if err != nil {
			fmt.Fprintf(s.err, "consumer rules import-sigma: %v\n", err)
			return 2
		}
	}
	files, err := sigma.ReadInputs(inputs)
	if err != nil {
		fmt.Fprintf(s.err, "consumer rules import-sigma: %v\n", err)
		return 2
	}
	lists, err := sigma.ReadPlaceholders(out)
	if err != nil {
		fmt.Fprintf(s.err, "consumer rules import-sigma: %v\n", err)
		return 2
	}
	im := &sigma.Importer{Mappings: ms, Lists: lists}
	res, err := im.Import(files)
	if err == nil {
		err = sigma.Write(out, res)
	}
	if err != nil {
		fmt.Fprintf(s.err, "consumer rules import-sigma: %v\n", err)
		return 2
	}
	if res.WriteReport(s.out, s.err, out) > 0 {
		return 1
	}
	return 0
}
