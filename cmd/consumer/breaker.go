package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/remediate"
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
	path := fs.String("config", os.Getenv("TRIPLINE_CONFIG"), "")
	asJSON := fs.Bool("json", false, "")
	scope := fs.String("scope", "", "")
	by := fs.String("by", "", "")
	reason := fs.String("reason", "", "")
	if code, ok := parseFlags(fs, rest, s, "breaker "+sub, breakerUsage, true); !ok {
		return code
	}
	if missing := resetMissing(*scope, *by, *reason); sub == "reset" && len(missing) > 0 {
		fmt.Fprintf(s.err, "consumer breaker reset: missing %s: --scope (global or rule:ID), --by and --reason are required\n\n%s",
			strings.Join(missing, ", "), breakerUsage)
		return 2
	}
	cfg, ok := loadConfig(*path, s, "breaker "+sub)
	if !ok {
		return 2
	}
	m, err := app.OpenLedger(ctx, cfg, s.err)
	if err != nil {
		fmt.Fprintf(s.err, "consumer breaker %s: %v\n", sub, err)
		return 1
	}
	defer m.Close()
	if sub == "status" {
		if err := app.PrintBreakers(s.out, cfg, m.Ledger(), *asJSON, time.Now()); err != nil {
			fmt.Fprintf(s.err, "consumer breaker status: %v\n", err)
			return 1
		}
		return 0
	}
	if err := app.ResetBreaker(ctx, m.Ledger(), *scope, *by, *reason, s.out); err != nil {
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
