package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/tripline-dev/tripline/internal/app"
)

const dlqUsage = `Usage: consumer dlq replay [--topic DLQ] [--group G] [--rules DIR] [--config FILE]
                          [--execute] [--accept-unsigned] [--max-age D] [--progress N]

Re-reads the records of the dead-letter topic, decodes each again and
evaluates it with the current rules, then:

  without --execute (the default, a dry run): prints, per record, what it
  would do, and a summary. It resolves users through the Users API (read
  only) and never suspends or reactivates anyone, commits no offset and
  writes nothing to Kafka.

  with --execute: hands the decisions to the same decision service as
  'consumer run' (protected identities, breakers, the action ledger,
  retries), records them as the consumer does (log, and the audit topic
  when configured), and writes records that still fail back to the
  dead-letter topic with tripline.attempts increased (tripline.first.failure
  and the original tripline.source.* are kept). Decisions a breaker held
  (class breaker_open) act once the breaker is re-armed (consumer breaker
  reset), within the cap again.

The replay is the consumer's pipeline with the dead-letter topic as its
source. It reads as the consumer group --group (default tripline-dlq-replay)
from its committed offsets (a new group starts at the beginning of the
topic), so repeated runs continue where the last --execute run left off. It
stops at the end of the topic as it was when the run started: records it
dead-letters again land after that end and are replayed by the next run.
Do not run two replays of the same group at once.

Never acting twice: the replay reads the action ledger (the state topic)
and tails it while it runs. An event that already led to an action on its
user (by the consumer, or by an earlier replay) makes no call (outcome
duplicate), nor does a second action by the same rule on the same user
within the rule's cooldown; a user already in the wanted state is reported
as already_suspended (reactivate: already_active) after a read, without a
call.

Formats: a dead-letter record is decoded with the format pinned for the
topic it came from (its tripline.source.topic header), and auto-detected
when that topic pins none.

Output: one line per record on stdout,
  <source topic>/<partition>@<offset> dlq=<partition>@<offset> class=<class>
  attempts=<n> -> <outcome> [rule=<id> action=<a> user=<identity> result=<r>]...
where outcome is acted (a user's state changed; would_act in a dry run),
still_failing (with the new class), refused (unsigned or bad_signature: not
acted on, not written back) or nothing_to_do (every decision ended without
a change: a duplicate, a protected user, already suspended, ...);
progress every --progress records and the summary on stderr:
  replayed N: acted A, still failing F, nothing to do Z, refused R
Exit status: 0 when the run completed (records that still fail are not an
error), 1 on a failure to start or a fatal error, 2 on usage errors.

Configuration (brokers, TLS/SASL, Users API, retry policy, audit topic,
log level) comes from --config / TRIPLINE_CONFIG and the TRIPLINE_*
environment, exactly as for 'consumer run' (see 'consumer run --help').

Flags:
  --topic DLQ     dead-letter topic (default: kafka.dlq_topic, tripline.dlq)
  --group G       consumer group that remembers the replay position
                  (default tripline-dlq-replay)
  --rules DIR     rule directory (default: rules.dir, rules/)
  --config FILE   YAML configuration file (default $TRIPLINE_CONFIG)
  --execute       act on the decisions and write failures back to the DLQ
  --accept-unsigned
                  also replay records that carry no signature (written by a
                  consumer without TRIPLINE_DLQ_SIGNING_KEY). Without it they
                  are refused and listed; a record whose signature does not
                  match the key is always refused.
  --max-age D     act only on events younger than D, by event time and by the
                  original record's timestamp (tripline.source.timestamp);
                  older ones end as stale (shadow only). Default: event.max_age (TRIPLINE_MAX_EVENT_AGE, 24h).
                  Raise it to act on decisions a breaker held for longer.
  --progress N    report progress on stderr every N records (default 1000)
`

// cmdDLQ runs `consumer dlq replay`.
func cmdDLQ(ctx context.Context, args []string, s streams) int {
	_, rest, code, ok := subcommand(args, s, "dlq", dlqUsage, "replay")
	if !ok {
		return code
	}
	fs := flag.NewFlagSet("dlq replay", flag.ContinueOnError)
	f := app.ReplayOptions{Out: s.out, Err: s.err}
	fs.StringVar(&f.Topic, "topic", "", "")
	fs.StringVar(&f.Group, "group", "tripline-dlq-replay", "")
	fs.StringVar(&f.Rules, "rules", "", "")
	path := fs.String("config", os.Getenv("TRIPLINE_CONFIG"), "")
	fs.BoolVar(&f.Execute, "execute", false, "")
	fs.IntVar(&f.Progress, "progress", 1000, "")
	fs.DurationVar(&f.MaxAge, "max-age", 0, "")
	fs.BoolVar(&f.AcceptUnsigned, "accept-unsigned", false, "")
	if code, ok := parseFlags(fs, rest, s, "dlq replay", dlqUsage, true); !ok {
		return code
	}
	if f.Group == "" {
		fmt.Fprintf(s.err, "consumer dlq replay: empty --group\n")
		return 2
	}
	cfg, ok := loadConfig(*path, s, "dlq replay")
	if !ok {
		return 2
	}
	if _, err := app.ReplayDLQ(ctx, cfg, f, app.Options{Log: s.err}); err != nil {
		fmt.Fprintf(s.err, "consumer dlq replay: %v\n", err)
		return 1
	}
	return 0
}
