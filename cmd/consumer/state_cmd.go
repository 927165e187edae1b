package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/tripline-dev/tripline/internal/app"
)

const stateUsage = `Usage:
  consumer state resign [--dry-run] [--config FILE]

The state topic (kafka.state_topic, default tripline.state) holds the action
ledger, the breakers, holds and approvals. With a signing key
(TRIPLINE_DLQ_SIGNING_KEY) every instance signs what it writes there and
refuses what is unsigned or signed under another key, so that whoever can
write to the topic cannot re-arm a breaker, lift a cooldown or approve an
action.

resign   the one-time move of an existing state topic to signed records,
         and the end of a key rotation: every record in force that is
         unsigned or signed under the previous key
         (TRIPLINE_DLQ_SIGNING_KEY_PREVIOUS) is written again, signed under
         the current key, if tripline would accept it as it is (it decodes,
         fits 64 KiB, carries no time ahead of the clock). A record that
         would be refused, or is signed under a key this configuration does
         not hold, is listed and never signed: look at those before you
         trust the rest. Stop every instance first, or run it while the
         instances still run without a key: an instance with the key
         refuses what an instance without it writes. --dry-run lists what
         it would do and writes nothing.

It uses the same configuration as 'consumer run' (--config / TRIPLINE_CONFIG
and the TRIPLINE_* environment) and talks only to Kafka.

Exit status: 0 on success (refused records are listed, not errors); 1 when
the state topic cannot be read or written; 2 on usage errors or without a
signing key.
`

// cmdState runs `consumer state resign`.
func cmdState(ctx context.Context, args []string, s streams) int {
	sub, rest, code, ok := subcommand(args, s, "state", stateUsage, "resign")
	if !ok {
		return code
	}
	fs := flag.NewFlagSet("state "+sub, flag.ContinueOnError)
	path := fs.String("config", os.Getenv("TRIPLINE_CONFIG"), "")
	dryRun := fs.Bool("dry-run", false, "")
	if code, ok := parseFlags(fs, rest, s, "state "+sub, stateUsage, true); !ok {
		return code
	}
	cfg, ok := loadConfig(*path, s, "state "+sub)
	if !ok {
		return 2
	}
	switch err := app.ResignState(ctx, cfg, *dryRun, s.out); {
	case errors.Is(err, app.ErrNoSigningKey):
		fmt.Fprintf(s.err, "consumer state resign: %v\n", err)
		return 2
	case err != nil:
		fmt.Fprintf(s.err, "consumer state resign: %v\n", err)
		return 1
	}
	return 0
}
