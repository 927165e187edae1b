package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/dlq"
	"github.com/tripline-dev/tripline/internal/kafkaio"
	"github.com/tripline-dev/tripline/internal/pipeline"
	"github.com/tripline-dev/tripline/internal/remediate"
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

// dlqFlags are the flags of `consumer dlq replay`.
type dlqFlags struct {
	topic, group, rules string
	execute             bool
	progress            int
	maxAge              time.Duration
	acceptUnsigned      bool
}

// cmdDLQ runs `consumer dlq replay`.
func cmdDLQ(ctx context.Context, args []string, s streams) int {
	_, rest, code, ok := subcommand(args, s, "dlq", dlqUsage, "replay")
	if !ok {
		return code
	}
	fs := flag.NewFlagSet("dlq replay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f dlqFlags
	fs.StringVar(&f.topic, "topic", "", "")
	fs.StringVar(&f.group, "group", "tripline-dlq-replay", "")
	fs.StringVar(&f.rules, "rules", "", "")
	path := fs.String("config", os.Getenv("TRIPLINE_CONFIG"), "")
	fs.BoolVar(&f.execute, "execute", false, "")
	fs.IntVar(&f.progress, "progress", 1000, "")
	fs.DurationVar(&f.maxAge, "max-age", 0, "")
	fs.BoolVar(&f.acceptUnsigned, "accept-unsigned", false, "")
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(s.out, dlqUsage)
			return 0
		}
		fmt.Fprintf(s.err, "consumer dlq replay: %v\n\n%s", err, dlqUsage)
		return 2
	}
	if fs.NArg() > 0 || f.group == "" {
		fmt.Fprintf(s.err, "consumer dlq replay: unexpected arguments %q or empty --group\n", fs.Args())
		return 2
	}
	cfg, err := config.Load(*path, os.LookupEnv)
	if err != nil {
		fmt.Fprintf(s.err, "consumer dlq replay: configuration problems:\n%v\n", indent(err))
		return 2
	}
	if _, err := runDLQReplay(ctx, cfg, f, Options{Log: s.err}, s); err != nil {
		fmt.Fprintf(s.err, "consumer dlq replay: %v\n", err)
		return 1
	}
	return 0
}

// runDLQReplay wires the pipeline over the DLQ and runs it to the end of
// the topic as it is now.
func runDLQReplay(ctx context.Context, cfg config.Config, f dlqFlags, opts Options, s streams) (dlq.Summary, error) {
	if f.topic != "" {
		cfg.Kafka.DLQTopic = f.topic
	}
	if f.rules != "" {
		cfg.Rules.Dir = f.rules
	}
	if f.maxAge > 0 {
		cfg.Event.MaxAge = f.maxAge
	}
	if opts.Lookup == nil {
		opts.Lookup = os.LookupEnv
	}
	r, err := newReplay(ctx, cfg, f, opts, s)
	if err != nil {
		return dlq.Summary{}, fmt.Errorf("cannot start:\n%v", indent(err))
	}
	defer r.close()
	return r.run(ctx)
}

// replay is one run of `consumer dlq replay`.
type replay struct {
	m       *Main
	f       dlqFlags
	s       streams
	src     *kafkaio.BoundedSource
	track   *dlq.Tracker
	started time.Time
}

func newReplay(ctx context.Context, cfg config.Config, f dlqFlags, opts Options, s streams) (r *replay, err error) {
	r = &replay{m: &Main{cfg: cfg}, f: f, s: s, started: time.Now()}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	m := r.m
	dec, formats, err := m.newCore(ctx, "tripline-dlq-replay", opts)
	if err != nil {
		return nil, err
	}
	if err := r.newKafka(ctx); err != nil {
		return nil, err
	}
	if err := m.loadLedger(ctx); err != nil {
		return nil, err
	}
	dry := cfg.DryRun || !f.execute
	var auditor remediate.Auditor = r.track
	var writer pipeline.DeadLetterWriter
	if f.execute {
		auditor = m.auditor(r.track)
		writer = m.dlq
	}
	if m.decider, err = m.newDecider(auditor, dry); err != nil {
		return nil, err
	}
	// Each record is decoded with the format pinned for the topic it came
	// from (its tripline.source.topic header), and only if tripline wrote
	// it (its signature).
	m.consumer, err = m.newConsumer(dec, formats, r.src, r.track.DeadLetters(writer), replayPipeline{
		topicHeader: pipeline.HeaderSourceTopic,
		verify:      pipeline.SignatureCheck(m.keys, f.acceptUnsigned),
	})
	return r, err
}

// newKafka checks the DLQ (and audit) topics, reads where the replay starts
// and ends, and creates the bounded source and the writers.
func (r *replay) newKafka(ctx context.Context) error {
	m, k := r.m, r.m.cfg.Kafka
	host, _ := os.Hostname()
	m.clientID = fmt.Sprintf("%s-dlq-replay-%s-%d", k.ClientID, host, os.Getpid())
	k.ClientID, k.GroupID, k.StartFromEarliest = m.clientID, r.f.group, true
	var err error
	if m.conn, err = kafkaio.NewConnection(kafkaConfig(k)); err != nil {
		return err
	}
	kafkaio.BoundDecompression(k.MaxBytes)
	var owned []string
	if r.f.execute && k.AuditTopic != "" {
		owned = append(owned, k.AuditTopic)
	}
	checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := m.conn.EnsureTopics(checkCtx, topicPlan(k, []string{k.DLQTopic}, owned)); err != nil {
		return err
	}
	bounds, err := m.conn.PartitionBounds(checkCtx, k.DLQTopic, k.GroupID)
	if err != nil {
		return err
	}
	r.track = dlq.NewTracker(r.s.out, r.s.err, r.f.progress, !r.f.execute)
	if r.src, err = m.conn.NewBoundedSource(bounds, kafkaio.BoundedConfig{
		Topic: k.DLQTopic, GroupID: k.GroupID, Commit: r.f.execute, SessionTimeout: k.SessionTimeout,
		MaxBytes: k.MaxBytes, MaxWait: k.MaxWait, OnFetch: r.track.Fetched, OnDone: r.track.Completed, Logger: m.log,
	}); err != nil {
		return err
	}
	if r.f.execute {
		m.dlq = m.conn.NewTopicWriter(k.DLQTopic, k.MaxBytes)
		if k.AuditTopic != "" {
			m.audit = m.conn.NewTopicWriter(k.AuditTopic, k.MaxBytes)
		}
	}
	return nil
}

// run replays until the end recorded at the start, then prints the summary.
func (r *replay) run(ctx context.Context) (dlq.Summary, error) {
	m := r.m
	if err := m.dir.Refresh(ctx); err != nil {
		if !isRetryable(err) {
			return dlq.Summary{}, fmt.Errorf("list 1Password users (check onepassword.* settings): %w", err)
		}
		m.log.Warn("cannot list 1Password users yet; will retry", "error", err)
	}
	mode := "execute"
	if !r.f.execute {
		mode = "dry run"
	}
	fmt.Fprintf(r.s.err, "dlq replay (%s): topic %s, group %s, %d records to replay\n", mode, m.cfg.Kafka.DLQTopic, r.f.group, r.src.Remaining())
	var err error
	if r.src.Remaining() > 0 {
		g, gctx := errgroup.WithContext(ctx)
		tailCtx, stopTail := context.WithCancel(gctx)
		g.Go(func() error { return ignoreCanceled(m.table.Run(tailCtx)) })
		g.Go(func() error { defer stopTail(); return m.consumer.Run(gctx) })
		err = g.Wait()
	}
	sum := r.track.Summary()
	fmt.Fprintf(r.s.err, "%sreplayed %d: %s %d, %s %d, nothing to do %d, refused %d (%s)\n", dryPrefix(!r.f.execute), sum.Replayed,
		verb(!r.f.execute, "acted", "would act"), sum.Acted, verb(!r.f.execute, "still failing", "would still fail"), sum.StillFailing,
		sum.NothingToDo, sum.Refused, time.Since(r.started).Round(time.Millisecond))
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("interrupted before the end of the topic: %w", ctx.Err())
	}
	return sum, err
}

func dryPrefix(dry bool) string {
	if dry {
		return "dry run, nothing done: "
	}
	return ""
}

func verb(dry bool, done, would string) string {
	if dry {
		return would
	}
	return done
}

func (r *replay) close() {
	if r.src != nil {
		r.src.Close()
	}
	r.m.Close()
}
