package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/kafkaio"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/telemetry"
)

const breakerUsage = `Usage:
  consumer breaker status [--json] [--config FILE]
  consumer breaker reset --scope global|rule:ID --by NAME --reason TEXT [--config FILE]

Blast-radius breakers cap how many users tripline suspends in a sliding
window: every rule together (breaker.global, TRIPLINE_BREAKER_GLOBAL,
default 20/10m) and each rule with max_actions (e.g. 5/1h). When a cap is
reached its scope trips: every later suspension decision in that scope is
held in the dead-letter topic with class breaker_open, an error is logged,
tripline_breaker_open{scope} is 1 and /readyz names the scope. It stays
tripped across restarts and on every instance until an operator re-arms it.

The breakers live in the state topic (kafka.state_topic, default
tripline.state), the compacted topic every instance reads at start and
tails while running. These commands read and write it with the same Kafka
configuration as 'consumer run' (--config / TRIPLINE_CONFIG and the
TRIPLINE_KAFKA_* environment); Kafka ACLs decide who may re-arm (WRITE on
the state topic). No network listener is involved.

status   lists every scope that ever tripped: open or armed, since when,
         who re-armed it and why, and the suspensions counted in its window
         (global: against breaker.global). --json prints one JSON object per
         scope instead.
reset    re-arms one open scope, recording who (--by) and why (--reason).
         Running instances see it within a second; decisions in the scope
         act again, and its window counts only suspensions after the re-arm.
         The decisions it held stay in the dead-letter topic: review them,
         then 'consumer dlq replay --execute' acts on them, within the cap.

Exit status: 0 on success; 1 when the state topic cannot be read or
written, or the scope is not open; 2 on usage errors.
`

// cmdBreaker runs `consumer breaker status|reset`.
func cmdBreaker(ctx context.Context, args []string, s streams) int {
	sub, rest, code, ok := subcommand(args, s, "breaker", breakerUsage, "status", "reset")
	if !ok {
		return code
	}
	fs := flag.NewFlagSet("breaker "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	path := fs.String("config", os.Getenv("TRIPLINE_CONFIG"), "")
	asJSON := fs.Bool("json", false, "")
	scope := fs.String("scope", "", "")
	by := fs.String("by", "", "")
	reason := fs.String("reason", "", "")
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(s.out, breakerUsage)
			return 0
		}
		fmt.Fprintf(s.err, "consumer breaker %s: %v\n\n%s", sub, err, breakerUsage)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(s.err, "consumer breaker %s: unexpected arguments %q\n", sub, fs.Args())
		return 2
	}
	if missing := resetMissing(*scope, *by, *reason); sub == "reset" && len(missing) > 0 {
		fmt.Fprintf(s.err, "consumer breaker reset: missing %s: --scope (global or rule:ID), --by and --reason are required\n\n%s",
			strings.Join(missing, ", "), breakerUsage)
		return 2
	}
	cfg, err := config.Load(*path, os.LookupEnv)
	if err != nil {
		fmt.Fprintf(s.err, "consumer breaker %s: configuration problems:\n%v\n", sub, indent(err))
		return 2
	}
	m, err := openLedger(ctx, cfg, s.err)
	if err != nil {
		fmt.Fprintf(s.err, "consumer breaker %s: %v\n", sub, err)
		return 1
	}
	defer m.Close()
	if sub == "status" {
		if err := printBreakers(s.out, cfg, m.ledger, *asJSON, time.Now()); err != nil {
			fmt.Fprintf(s.err, "consumer breaker status: %v\n", err)
			return 1
		}
		return 0
	}
	if err := resetBreaker(ctx, m.ledger, *scope, *by, *reason, s.out); err != nil {
		fmt.Fprintf(s.err, "consumer breaker reset: %v\n", err)
		return 1
	}
	return 0
}

// resetMissing names the flags of `breaker reset` that are missing, blank
// or (--scope) not a scope.
func resetMissing(scope, by, reason string) []string {
	var missing []string
	if !remediate.ValidScope(scope) {
		missing = append(missing, "--scope")
	}
	if strings.TrimSpace(by) == "" {
		missing = append(missing, "--by")
	}
	if strings.TrimSpace(reason) == "" {
		missing = append(missing, "--reason")
	}
	return missing
}

// openLedger reads the state topic with the configured Kafka settings,
// without creating anything. Its logs (warnings only) go to logw.
func openLedger(ctx context.Context, cfg config.Config, logw io.Writer) (*Main, error) {
	m := &Main{cfg: cfg}
	var err error
	if m.log, err = telemetry.NewLogger(logw, "warn", cfg.Log.Format); err != nil {
		return nil, err
	}
	k := cfg.Kafka
	host, _ := os.Hostname()
	m.clientID = fmt.Sprintf("%s-breaker-%s-%d", k.ClientID, host, os.Getpid())
	k.ClientID = m.clientID
	if m.conn, err = kafkaio.NewConnection(kafkaConfig(k)); err != nil {
		return nil, err
	}
	m.cfg.Kafka.CreateTopics = false
	if err := m.loadLedger(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// breakerStatus is one scope as `breaker status --json` prints it.
type breakerStatus struct {
	Scope    string    `json:"scope"`
	Open     bool      `json:"open"`
	Since    time.Time `json:"since"`
	By       string    `json:"by,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Instance string    `json:"instance,omitempty"`
	// Count suspensions in the last Window (since the re-arm), against Cap.
	Count  int    `json:"count"`
	Cap    int    `json:"cap,omitempty"`
	Window string `json:"window,omitempty"`
}

func breakerStatuses(cfg config.Config, led *remediate.Ledger, now time.Time) []breakerStatus {
	count, window, _ := cfg.BreakerGlobal()
	entries := led.Breakers()
	if _, ok := led.Breaker(remediate.ScopeGlobal); !ok {
		entries = append([]remediate.BreakerEntry{{Scope: remediate.ScopeGlobal}}, entries...)
	}
	var out []breakerStatus
	for _, b := range entries {
		st := breakerStatus{Scope: b.Scope, Open: b.Open, Since: b.At, By: b.By, Reason: b.Reason, Instance: b.Instance, Cap: b.Cap}
		w := b.Window
		if b.Scope == remediate.ScopeGlobal {
			st.Cap, w = count, window
		}
		if w > 0 {
			st.Window = w.String()
			st.Count = led.Suspensions(b.Scope, w, now)
		}
		out = append(out, st)
	}
	return out
}

func printBreakers(w io.Writer, cfg config.Config, led *remediate.Ledger, asJSON bool, now time.Time) error {
	statuses := breakerStatuses(cfg, led, now)
	if asJSON {
		enc := json.NewEncoder(w)
		for _, st := range statuses {
			if err := enc.Encode(st); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCOPE\tSTATE\tSINCE\tSUSPENSIONS\tWHY")
	for _, st := range statuses {
		state, since, why := "armed", "-", "never tripped"
		if !st.Since.IsZero() {
			since = st.Since.UTC().Format(time.RFC3339)
		}
		switch {
		case st.Open:
			state, why = "OPEN", fmt.Sprintf("%s (tripped by %s); re-arm: consumer breaker reset --scope %s --by NAME --reason TEXT", st.Reason, st.Instance, st.Scope)
		case st.By != "":
			why = fmt.Sprintf("re-armed by %s: %s", st.By, st.Reason)
		}
		counted := "-"
		if st.Window != "" {
			counted = fmt.Sprintf("%d/%d in %s", st.Count, st.Cap, st.Window)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", st.Scope, state, since, counted, why)
	}
	return tw.Flush()
}

func resetBreaker(ctx context.Context, led *remediate.Ledger, scope, by, reason string, w io.Writer) error {
	b, ok := led.Breaker(scope)
	if !ok || !b.Open {
		return fmt.Errorf("breaker %s is not open; nothing to re-arm (consumer breaker status lists the scopes)", scope)
	}
	if !led.Authenticated() && led.SignedSeen() > 0 {
		return fmt.Errorf("the state topic holds signed records but no signing key is configured here: every instance would refuse " +
			"this re-arm; set TRIPLINE_DLQ_SIGNING_KEY (or _FILE) to the instances' key")
	}
	if err := led.Rearm(ctx, scope, by, reason, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(w, "re-armed breaker %s (by %s: %s)\n"+
		"The decisions it held are in the dead-letter topic with class breaker_open; after review,\n"+
		"consumer dlq replay --execute acts on them, within the cap again.\n", scope, by, reason)
	return nil
}
