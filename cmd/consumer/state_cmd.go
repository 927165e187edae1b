package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/kafkaio"
	"github.com/tripline-dev/tripline/internal/ledger"
	"github.com/tripline-dev/tripline/internal/remediate"
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
	fs.SetOutput(io.Discard)
	path := fs.String("config", os.Getenv("TRIPLINE_CONFIG"), "")
	dryRun := fs.Bool("dry-run", false, "")
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(s.out, stateUsage)
			return 0
		}
		fmt.Fprintf(s.err, "consumer state %s: %v\n\n%s", sub, err, stateUsage)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(s.err, "consumer state %s: unexpected arguments %q\n", sub, fs.Args())
		return 2
	}
	cfg, err := config.Load(*path, os.LookupEnv)
	if err != nil {
		fmt.Fprintf(s.err, "consumer state %s: configuration problems:\n%v\n", sub, indent(err))
		return 2
	}
	keys, err := cfg.Kafka.SigningKeys()
	if err != nil || !keys.Signs() {
		fmt.Fprintf(s.err, "consumer state resign: a signing key is needed (TRIPLINE_DLQ_SIGNING_KEY or _FILE): %v\n", err)
		return 2
	}
	table, recs, err := readState(ctx, cfg)
	if err != nil {
		fmt.Fprintf(s.err, "consumer state resign: %v\n", err)
		return 1
	}
	outcomes, err := remediate.Resign(ctx, table, keys, recs, time.Now, *dryRun)
	printResign(s.out, outcomes, *dryRun, keys.Fingerprint())
	if err != nil {
		fmt.Fprintf(s.err, "consumer state resign: %v\n", err)
		return 1
	}
	return 0
}

// readState reads the state topic in full, unchecked: the latest record of
// each key, sorted by key, and the table to write through.
func readState(ctx context.Context, cfg config.Config) (*ledger.Table, []remediate.StoredRecord, error) {
	k := cfg.Kafka
	host, _ := os.Hostname()
	k.ClientID = fmt.Sprintf("%s-state-%s-%d", k.ClientID, host, os.Getpid())
	conn, err := kafkaio.NewConnection(kafkaConfig(k))
	if err != nil {
		return nil, nil, err
	}
	latest := map[string]remediate.StoredRecord{}
	table, err := ledger.New(ledger.Config{Brokers: conn.Brokers, Transport: conn.Transport, Topic: k.StateTopic},
		func(key string, value []byte, signature string) {
			latest[key] = remediate.StoredRecord{Key: key, Value: value, Signature: signature}
		})
	if err != nil {
		return nil, nil, fmt.Errorf("state topic: %w", err)
	}
	loadCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := table.Load(loadCtx); err != nil {
		return nil, nil, fmt.Errorf("state topic %s: %w", k.StateTopic, err)
	}
	recs := make([]remediate.StoredRecord, 0, len(latest))
	for _, r := range latest {
		recs = append(recs, r)
	}
	slices.SortFunc(recs, func(a, b remediate.StoredRecord) int { return strings.Compare(a.Key, b.Key) })
	return table, recs, nil
}

// printResign prints the refused records one per line, then the counts.
func printResign(w io.Writer, outcomes []remediate.ResignOutcome, dryRun bool, fingerprint string) {
	counts := map[string]int{}
	for _, o := range outcomes {
		counts[o.Action]++
		if o.Action == "refused" {
			fmt.Fprintf(w, "refused %s: %s\n", o.Key, o.Detail)
		}
	}
	verb := "signed"
	if dryRun {
		verb = "would sign"
	}
	fmt.Fprintf(w, "%s %d records under key %s; %d already signed under it; %d refused (listed above, never signed); %d tombstones skipped\n",
		verb, counts["signed"], fingerprint, counts["kept"], counts["refused"], counts["skipped"])
}
