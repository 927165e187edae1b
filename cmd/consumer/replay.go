package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/rules"
)

const replayUsage = `Usage: consumer replay --rules DIR [--format F] FILE.jsonl|-

Decodes each line of FILE (one Kafka message value per line; - reads stdin),
evaluates it against the rules in DIR and prints every decision as a JSON
line on stdout:

  {"line":N,"event_id":...,"rule_id":...,"mode":...,"action":...,"user":...,
   "reason":...,"severity":...}

It never calls any API, and it prints what the rules decide, not what the
consumer would do: cooldowns, protected identities (protected.yaml) and
breakers (a rule's max_actions, the global caps) are applied only when
acting, by the decision service, so an enforce decision printed here may
not be acted on. Windowed counts (count()) run in event time, as in the
consumer. Lines that fail to decode and rule runtime errors are
reported on stderr with the line number; a summary (events, decisions by
rule, errors) is printed on stderr at the end. Blank lines are skipped.
Exit status: 0 when every line decoded and evaluated, 1 otherwise, 2 on
usage errors.

Flags:
  --rules DIR   rule directory (default rules/)
  --format F    pin the input format instead of auto-detecting it
`

// replayDecision is one decision line of `consumer replay`.
type replayDecision struct {
	Line     int    `json:"line"`
	EventID  string `json:"event_id"`
	RuleID   string `json:"rule_id"`
	Mode     string `json:"mode"`
	Action   string `json:"action"`
	User     string `json:"user"`
	Reason   string `json:"reason"`
	Severity string `json:"severity"`
}

// cmdReplay runs `consumer replay`.
func cmdReplay(ctx context.Context, args []string, s streams) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("rules", "rules", "")
	formatName := fs.String("format", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(s.out, replayUsage)
			return 0
		}
		fmt.Fprintf(s.err, "consumer replay: %v\n\n%s", err, replayUsage)
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(s.err, "consumer replay: exactly one input file (or -) is required\n\n%s", replayUsage)
		return 2
	}
	format, err := event.ParseFormat(*formatName)
	if err != nil {
		fmt.Fprintf(s.err, "consumer replay: %v\n", err)
		return 2
	}
	set, err := rules.LoadDir(*dir)
	if err != nil {
		for _, p := range rules.LoadErrors(err) {
			fmt.Fprintf(s.err, "consumer replay: %v\n", p)
		}
		return 1
	}
	dec, err := event.NewDecoder(event.Config{})
	if err != nil {
		fmt.Fprintf(s.err, "consumer replay: %v\n", err)
		return 1
	}
	in := s.in
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(s.err, "consumer replay: %v\n", err)
			return 1
		}
		defer f.Close()
		in = f
	}
	out := bufio.NewWriter(s.out)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)

	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), event.DefaultMaxBytes+1)
	var lines, events, decodeErrs, ruleErrs int
	byRule := map[string]int{}
	for sc.Scan() {
		lines++
		if ctx.Err() != nil {
			break
		}
		value := sc.Bytes()
		if len(trimSpace(value)) == 0 {
			continue
		}
		evs, err := dec.Decode(value, format)
		if err != nil {
			decodeErrs++
			fmt.Fprintf(s.err, "line %d: decode (%s): %v\n", lines, event.Reason(err), err)
		}
		for i := range evs {
			events++
			res := set.Evaluate(&evs[i])
			for _, re := range res.Errors {
				ruleErrs++
				fmt.Fprintf(s.err, "line %d: event %s: %v\n", lines, evs[i].EventID, re)
			}
			for _, d := range res.Decisions {
				byRule[d.RuleID]++
				if err := enc.Encode(replayDecision{
					Line: lines, EventID: evs[i].EventID, RuleID: d.RuleID, Mode: d.Mode, Action: d.Action,
					User: d.User, Reason: d.Reason, Severity: d.Severity,
				}); err != nil {
					fmt.Fprintf(s.err, "consumer replay: write: %v\n", err)
					return 1
				}
			}
		}
	}
	readFailed := false
	if err := sc.Err(); err != nil {
		readFailed = true
		fmt.Fprintf(s.err, "line %d: read: %v\n", lines+1, err)
	}
	if err := ctx.Err(); err != nil {
		readFailed = true
		fmt.Fprintf(s.err, "consumer replay: interrupted after line %d\n", lines)
	}
	total := 0
	ids := make([]string, 0, len(byRule))
	for id, n := range byRule {
		ids = append(ids, id)
		total += n
	}
	sort.Strings(ids)
	fmt.Fprintf(s.err, "replay: %d lines, %d events, %d decisions, %d decode errors, %d rule errors\n", lines, events, total, decodeErrs, ruleErrs)
	for _, id := range ids {
		fmt.Fprintf(s.err, "  %-28s %d\n", id, byRule[id])
	}
	if decodeErrs > 0 || ruleErrs > 0 || readFailed {
		return 1
	}
	return 0
}

func trimSpace(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	for j > i && (b[j-1] == ' ' || b[j-1] == '\t' || b[j-1] == '\r') {
		j--
	}
	return b[i:j]
}
