package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/rules"
)

const rulesExplainUsage = `Usage: consumer rules explain [--rules DIR] [--rule ID]... [--format F] [--json] FILE|-

Says why each rule matched each event of FILE or not. FILE (- reads stdin)
holds vendor documents as the topic delivers them: one JSON document,
pretty-printed or not, or JSON lines (one document per line, as consumer
replay reads them). Each document is normalized by the event decoder as
the consumer does; a batch document gives several events.

For each event and each rule (or each --rule), it prints MATCH or NO MATCH
and the tree of the rule's when: each clause with its value and the
values of the fields it read, e.g.

  raw.displayMessage == "max sign in attempts exceeded"  false  (raw.displayMessage = "Max sign in attempts exceeded soon")

&& and || print their operator, with their operands below them. A clause
a short-circuit skipped says "not evaluated"; a runtime error is shown on
the clause that raised it ("error: ..."), "error (below)" on the clauses
above it; count(key, window) shows its count, the user it counts by and
the window; a rule imported from Sigma names its selections in [brackets].
Values are bounded: long strings and big lists or maps are cut (…).

The rules run as in the consumer: every enabled rule on every event, in
order, with count() over a fresh state for this run (the events of FILE in
order), so the explanation agrees with what the consumer decides. A
disabled rule is explained as if it were enabled (with counts of its own).
An event dated ahead of the clock, which the consumer dead-letters, is
explained too. Nothing is acted on and no API is called.

Flags:
  --rules DIR   rule directory (default rules)
  --rule ID     explain only this rule (repeatable)
  --format F    pin the input format instead of detecting it
  --json        one JSON object per event and rule instead of text:
                {"line","item","event_id","source","rule_id","enabled","match",
                 "skipped","error","decision","tree"}, each tree node
                {"expr","op","selection","evaluated","value","failed","error",
                 "fields":[{"path","value","missing"}],"count","children"}

Exit status: 0 when every document was explained (whatever matched), 1 when
the rules do not load or FILE cannot be read or a document cannot be
decoded (reported on stderr with its line), 2 on usage errors (an unknown
--rule names the known ones).
`

// explainFlags is the command line of `consumer rules explain`.
type explainFlags struct {
	rules, input string
	ids          []string
	format       event.Format
	json         bool
}

// cmdRulesExplain runs `consumer rules explain`.
func cmdRulesExplain(ctx context.Context, args []string, s streams) int {
	f, code, ok := parseExplainFlags(args, s)
	if !ok {
		return code
	}
	set, err := rules.LoadDir(f.rules)
	if err != nil {
		for _, p := range rules.LoadErrors(err) {
			fmt.Fprintf(s.err, "consumer rules explain: %v\n", p)
		}
		return 1
	}
	x, err := set.NewExplainer(f.ids...)
	if err != nil {
		fmt.Fprintf(s.err, "consumer rules explain: %v\n", err)
		return 2
	}
	dec, err := event.NewDecoder(event.Config{})
	if err != nil {
		fmt.Fprintf(s.err, "consumer rules explain: %v\n", err)
		return 1
	}
	name, data, err := readExplainInput(f.input, s.in)
	if err != nil {
		fmt.Fprintf(s.err, "consumer rules explain: %v\n", err)
		return 1
	}
	docs := splitExplainInput(data)
	if len(docs) == 0 {
		fmt.Fprintf(s.err, "consumer rules explain: %s: no document\n", name)
		return 1
	}
	failed := false
	for _, d := range docs {
		if ctx.Err() != nil {
			fmt.Fprintf(s.err, "consumer rules explain: interrupted before line %d\n", d.line)
			return 1
		}
		evs, derr := dec.Decode(d.raw, f.format)
		for i := range evs {
			ee := rules.EventExplanation{Line: d.line, Event: &evs[i], Rules: x.Explain(&evs[i])}
			write := ee.WriteText
			if f.json {
				write = ee.WriteJSON
			}
			if err := write(s.out); err != nil {
				fmt.Fprintf(s.err, "consumer rules explain: write: %v\n", err)
				return 1
			}
		}
		if derr != nil {
			failed = true
			msg := strings.TrimPrefix(derr.Error(), "decode: ")
			fmt.Fprintf(s.err, "consumer rules explain: %s:%d: decode (%s): %s\n", name, explainErrorLine(d, derr), event.Reason(derr), msg)
		}
	}
	if failed {
		return 1
	}
	return 0
}

// parseExplainFlags parses the command line. When ok is false the command
// is over: usage was asked for (exit 0) or the command line is wrong (exit
// 2), and code is the exit status.
func parseExplainFlags(args []string, s streams) (f explainFlags, code int, ok bool) {
	fs := flag.NewFlagSet("rules explain", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.rules, "rules", "rules", "")
	fs.Func("rule", "", func(id string) error {
		f.ids = append(f.ids, id)
		return nil
	})
	formatName := fs.String("format", "", "")
	fs.BoolVar(&f.json, "json", false, "")
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(s.out, rulesExplainUsage)
		return f, 0, false
	case err != nil:
		fmt.Fprintf(s.err, "consumer rules explain: %v\n\n%s", err, rulesExplainUsage)
		return f, 2, false
	case fs.NArg() != 1:
		fmt.Fprintf(s.err, "consumer rules explain: exactly one input file (or -) is required\n\n%s", rulesExplainUsage)
		return f, 2, false
	}
	f.input = fs.Arg(0)
	if f.format, err = event.ParseFormat(*formatName); err != nil {
		fmt.Fprintf(s.err, "consumer rules explain: %v\n", err)
		return f, 2, false
	}
	return f, 0, true
}

// readExplainInput reads the input file, or stdin for "-", and returns
// the name to report it by.
func readExplainInput(input string, stdin io.Reader) (string, []byte, error) {
	if input == "-" {
		data, err := io.ReadAll(stdin)
		if err != nil {
			return "stdin", nil, fmt.Errorf("read stdin: %w", err)
		}
		return "stdin", data, nil
	}
	data, err := os.ReadFile(input)
	if err != nil {
		return input, nil, fmt.Errorf("read: %w", err)
	}
	return input, data, nil
}

// explainDoc is one vendor document of the input and the line it starts on.
type explainDoc struct {
	line int
	raw  []byte
}

// splitExplainInput splits the input into documents: the whole input when it
// is one JSON document, pretty-printed over several lines or not, else one
// per non-blank line (JSON lines, as consumer replay reads them). An input
// that is not valid JSON is one document when neither of its first two
// non-blank lines is a JSON document alone (a broken pretty-printed
// document: its decode error is reported once, not for every line).
func splitExplainInput(data []byte) []explainDoc {
	var lines []explainDoc
	for i, l := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			lines = append(lines, explainDoc{line: i + 1, raw: l})
		}
	}
	if len(lines) <= 1 {
		return lines
	}
	trimmed := bytes.TrimSpace(data)
	if json.Valid(trimmed) || !json.Valid(lines[0].raw) && !json.Valid(lines[1].raw) {
		return []explainDoc{{line: lines[0].line, raw: trimmed}}
	}
	return lines
}

// explainErrorLine returns the line of d where the JSON syntax error err reports
// lies, d's first line for any other error.
func explainErrorLine(d explainDoc, err error) int {
	if event.Reason(err) != event.ReasonInvalidJSON {
		return d.line
	}
	var v any
	var se *json.SyntaxError
	if errors.As(json.Unmarshal(d.raw, &v), &se) && se.Offset <= int64(len(d.raw)) {
		return d.line + bytes.Count(d.raw[:se.Offset], []byte("\n"))
	}
	return d.line
}
