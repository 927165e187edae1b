package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/kafkaio"
	"github.com/tripline-dev/tripline/internal/pipeline"
)

const dlqUsage = `Usage: consumer dlq replay [--topic DLQ] [--group G] [--rules DIR] [--config FILE]
                          [--execute] [--progress N]

Re-reads the records of the dead-letter topic, decodes each again and
evaluates it with the current rules, then:

  without --execute (the default, a dry run): prints, per record, what it
  would do, and a summary. It resolves users through the Users API (read
  only) and never suspends or reactivates anyone, commits no offset and
  writes nothing to Kafka.

  with --execute: carries out enforce-mode decisions through the same
  executor and retry policy as 'consumer run', records them as the consumer
  does (log, and the audit topic when configured), and writes records that
  still fail back to the dead-letter topic with tripline.attempts increased
  (tripline.first.failure and the original tripline.source.* are kept).

The replay is the consumer's pipeline with the dead-letter topic as its
source. It reads as the consumer group --group (default tripline-dlq-replay)
from its committed offsets (a new group starts at the beginning of the
topic), so repeated runs continue where the last --execute run left off. It
stops at the end of the topic as it was when the run started: records it
dead-letters again land after that end and are replayed by the next run.
Do not run two replays of the same group at once.

Never acting twice: there is no action ledger yet. Idempotency comes from
the Users API and the executor: the executor resolves the user's current
state first, and suspending a user who is already suspended is a no-op that
is reported as already_suspended (reactivate: already_active). A record
replayed twice (for example after a crash before its offset was committed)
can therefore repeat a call, but never changes a user's state twice.

Formats: a dead-letter record is decoded with the format pinned for its
source topics when every configured topic pins the same format, and
auto-detected otherwise.

Output: one line per record on stdout,
  <source topic>/<partition>@<offset> dlq=<partition>@<offset> class=<class>
  attempts=<n> -> <outcome> [rule=<id> action=<a> user=<identity> result=<r>]...
where outcome is acted, still_failing (with the new class) or nothing_to_do;
progress every --progress records and the summary on stderr:
  replayed N: acted A, still failing F, nothing to do Z
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
  --progress N    report progress on stderr every N records (default 1000)
`

// dlqFlags are the flags of `consumer dlq replay`.
type dlqFlags struct {
	topic, group, rules string
	execute             bool
	progress            int
}

// cmdDLQ runs `consumer dlq replay`.
func cmdDLQ(ctx context.Context, args []string, s streams) int {
	if len(args) == 0 || args[0] != "replay" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(s.out, dlqUsage)
			return 0
		}
		fmt.Fprint(s.err, dlqUsage)
		return 2
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
	if err := fs.Parse(args[1:]); err != nil {
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

// replaySummary counts the outcomes of one replay run.
type replaySummary struct {
	Replayed, Acted, StillFailing, NothingToDo int
}

// runDLQReplay wires the pipeline over the DLQ and runs it to the end of
// the topic as it is now.
func runDLQReplay(ctx context.Context, cfg config.Config, f dlqFlags, opts Options, s streams) (replaySummary, error) {
	if f.topic != "" {
		cfg.Kafka.DLQTopic = f.topic
	}
	if f.rules != "" {
		cfg.Rules.Dir = f.rules
	}
	if opts.Lookup == nil {
		opts.Lookup = os.LookupEnv
	}
	r, err := newReplay(ctx, cfg, f, opts, s)
	if err != nil {
		return replaySummary{}, fmt.Errorf("cannot start:\n%v", indent(err))
	}
	defer r.close()
	return r.run(ctx)
}

// replay is one run of `consumer dlq replay`.
type replay struct {
	m       *Main
	f       dlqFlags
	s       streams
	writer  topicWriter
	src     *kafkaio.BoundedSource
	track   *replayTracker
	runner  *pipeline.Consumer
	started time.Time
}

func newReplay(ctx context.Context, cfg config.Config, f dlqFlags, opts Options, s streams) (r *replay, err error) {
	r = &replay{m: &Main{cfg: cfg}, f: f, s: s, started: time.Now()}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	dec, _, err := r.m.newCore(ctx, "tripline-dlq-replay", opts)
	if err != nil {
		return nil, err
	}
	if err := r.newKafka(ctx); err != nil {
		return nil, err
	}
	return r, r.newPipeline(dec)
}

// newKafka checks the DLQ (and audit) topics, reads where the replay starts
// and ends, and creates the group reader and the writers.
func (r *replay) newKafka(ctx context.Context) error {
	m, k := r.m, r.m.cfg.Kafka
	host, _ := os.Hostname()
	m.clientID = fmt.Sprintf("%s-dlq-replay-%s-%d", k.ClientID, host, os.Getpid())
	k.ClientID, k.GroupID, k.StartFromEarliest = m.clientID, r.f.group, true
	var err error
	if m.conn, err = kafkaio.NewConnection(kafkaConfig(k)); err != nil {
		return err
	}
	var owned []string
	if r.f.execute && k.AuditTopic != "" {
		owned = append(owned, k.AuditTopic)
	}
	checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := m.ensureTopics(checkCtx, topicPlan(k, []string{k.DLQTopic}, owned)); err != nil {
		return err
	}
	bounds, err := m.conn.PartitionBounds(checkCtx, k.DLQTopic, k.GroupID)
	if err != nil {
		return err
	}
	r.track = newReplayTracker(r.s.out, r.s.err, r.f.progress, !r.f.execute)
	r.src = kafkaio.NewBoundedSource(m.conn.NewReader(readerConfig(k, []string{k.DLQTopic}, m.log)), bounds,
		kafkaio.BoundedConfig{Commit: r.f.execute, OnFetch: r.track.fetched, OnDone: r.track.completed})
	if r.f.execute {
		r.writer = m.conn.NewWriter(k.DLQTopic, k.MaxBytes)
		if k.AuditTopic != "" {
			m.audit = m.conn.NewWriter(k.AuditTopic, k.MaxBytes)
		}
	}
	return nil
}

// newPipeline wires the consumer's pipeline with the DLQ as its source.
func (r *replay) newPipeline(dec *event.Decoder) error {
	m, cfg := r.m, r.m.cfg
	var recorder pipeline.Recorder = r.track
	dead := kafkaio.RefWriter{OnDeadLetter: r.track.deadLettered}
	if r.f.execute {
		var durable pipeline.Recorder = pipeline.LogRecorder{Logger: m.log}
		if m.audit != nil {
			durable = pipeline.TopicRecorder{Log: pipeline.LogRecorder{Logger: m.log}, Writer: m.audit}
		}
		recorder = teeRecorder{durable, r.track}
		dead.W = r.writer
	}
	formats := map[string]event.Format{cfg.Kafka.DLQTopic: commonFormat(cfg)}
	var err error
	r.runner, err = m.newConsumer(dec, formats, r.src, dead, recorder, cfg.DryRun || !r.f.execute)
	return err
}

// commonFormat is the format every configured source topic pins, or auto.
func commonFormat(cfg config.Config) event.Format {
	var common event.Format
	for i, t := range cfg.TopicSpecs() {
		f, err := event.ParseFormat(t.Format)
		if err != nil || (i > 0 && f != common) {
			return event.FormatAuto
		}
		common = f
	}
	return common
}

// run replays until the end recorded at the start, then prints the summary.
func (r *replay) run(ctx context.Context) (replaySummary, error) {
	if err := r.m.dir.Refresh(ctx); err != nil {
		if !isRetryable(err) {
			return replaySummary{}, fmt.Errorf("list 1Password users (check onepassword.* settings): %w", err)
		}
		r.m.log.Warn("cannot list 1Password users yet; will retry", "error", err)
	}
	mode := "execute"
	if !r.f.execute {
		mode = "dry run"
	}
	fmt.Fprintf(r.s.err, "dlq replay (%s): topic %s, group %s, %d records to replay\n", mode, r.m.cfg.Kafka.DLQTopic, r.f.group, r.src.Remaining())
	var err error
	if r.src.Remaining() > 0 {
		runCtx, cancel := r.src.UntilComplete(ctx)
		err = r.runner.Run(runCtx)
		cancel()
	}
	sum := r.track.finish()
	fmt.Fprintf(r.s.err, "%sreplayed %d: %s %d, %s %d, nothing to do %d (%s)\n", dryPrefix(!r.f.execute), sum.Replayed,
		verb(!r.f.execute, "acted", "would act"), sum.Acted, verb(!r.f.execute, "still failing", "would still fail"), sum.StillFailing,
		sum.NothingToDo, time.Since(r.started).Round(time.Millisecond))
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
	if r.writer != nil {
		r.writer.Close()
	}
	if r.m.audit != nil {
		r.m.audit.Close()
	}
	if r.m.conn != nil {
		r.m.conn.Close()
	}
	if r.m.tel != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.m.tel.Shutdown(ctx)
	}
}
