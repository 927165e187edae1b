package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/dlq"
	"github.com/tripline-dev/tripline/internal/kafkaio"
	"github.com/tripline-dev/tripline/internal/pipeline"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// ReplayOptions are the choices of one replay of the dead-letter topic
// (`consumer dlq replay`).
type ReplayOptions struct {
	// Topic, Rules and MaxAge override kafka.dlq_topic, rules.dir and
	// event.max_age when set.
	Topic, Rules string
	MaxAge       time.Duration
	// Group remembers the replay position.
	Group string
	// Execute acts on the decisions and writes failures back to the DLQ;
	// without it the replay is a dry run.
	Execute bool
	// AcceptUnsigned also replays records without a signature.
	AcceptUnsigned bool
	// Progress reports on Err every Progress records.
	Progress int
	// Out receives one line per record; Err the progress and the summary.
	Out, Err io.Writer
}

// ReplayDLQ replays the dead-letter topic to its end as it is when the
// call starts, through the consumer's own pipeline and decision service,
// and returns its summary.
func ReplayDLQ(ctx context.Context, cfg config.Config, f ReplayOptions, opts Options) (dlq.Summary, error) {
	if f.Topic != "" {
		cfg.Kafka.DLQTopic = f.Topic
	}
	if f.Rules != "" {
		cfg.Rules.Dir = f.Rules
	}
	if f.MaxAge > 0 {
		cfg.Event.MaxAge = f.MaxAge
	}
	if opts.Lookup == nil {
		opts.Lookup = os.LookupEnv
	}
	r, err := newReplay(ctx, cfg, f, opts)
	if err != nil {
		return dlq.Summary{}, fmt.Errorf("cannot start:\n%v", Indent(err))
	}
	defer r.close()
	return r.run(ctx)
}

// replay is one run of `consumer dlq replay`.
type replay struct {
	m       *Main
	f       ReplayOptions
	src     *kafkaio.BoundedSource
	track   *dlq.Tracker
	started time.Time
}

func newReplay(ctx context.Context, cfg config.Config, f ReplayOptions, opts Options) (r *replay, err error) {
	r = &replay{m: &Main{cfg: cfg, now: time.Now}, f: f, started: time.Now()}
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
	// A dry run audits nothing and writes nothing back; the tracker reports
	// each record's outcome either way.
	dry := cfg.DryRun || !f.Execute
	var auditor remediate.Auditor = remediate.Auditors{}
	var writer pipeline.DeadLetterWriter = dlq.DryRun{}
	if f.Execute {
		auditor, writer = m.auditor(nil), m.dlq
	}
	if m.decider, err = m.newDecider(auditor, dry); err != nil {
		return nil, err
	}
	// The pipeline of a replay acts only on records tripline signed (see
	// pipeline.Replay), parks nothing and notifies nothing.
	m.consumer, err = m.newPipeline(dec, formats, pipeline.Config{Replay: &pipeline.Replay{AcceptUnsigned: f.AcceptUnsigned}},
		pipeline.Deps{Source: r.src, DeadLetters: writer, OnOutcome: r.track.Outcome})
	return r, err
}

// newKafka checks the DLQ (and audit) topics, reads where the replay starts
// and ends, and creates the bounded source and the writers.
func (r *replay) newKafka(ctx context.Context) error {
	m, k := r.m, r.m.cfg.Kafka
	m.clientID = clientID(k.ClientID, "dlq-replay")
	k.ClientID, k.GroupID, k.StartFromEarliest = m.clientID, r.f.Group, true
	var err error
	if m.conn, err = kafkaio.NewConnection(kafkaConfig(k)); err != nil {
		return err
	}
	kafkaio.BoundDecompression(k.MaxBytes)
	var owned []string
	if r.f.Execute && k.AuditTopic != "" {
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
	r.track = dlq.NewTracker(r.f.Out, r.f.Err, r.f.Progress, !r.f.Execute)
	if r.src, err = m.conn.NewBoundedSource(bounds, kafkaio.BoundedConfig{
		Topic: k.DLQTopic, GroupID: k.GroupID, Commit: r.f.Execute, SessionTimeout: k.SessionTimeout,
		MaxBytes: k.MaxBytes, MaxWait: k.MaxWait, Logger: m.log,
	}); err != nil {
		return err
	}
	if r.f.Execute {
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
	if !r.f.Execute {
		mode = "dry run"
	}
	fmt.Fprintf(r.f.Err, "dlq replay (%s): topic %s, group %s, %d records to replay\n", mode, m.cfg.Kafka.DLQTopic, r.f.Group, r.src.Remaining())
	var err error
	if r.src.Remaining() > 0 {
		g, gctx := errgroup.WithContext(ctx)
		tailCtx, stopTail := context.WithCancel(gctx)
		g.Go(func() error { return ignoreCanceled(m.table.Run(tailCtx)) })
		g.Go(func() error { defer stopTail(); return m.consumer.Run(gctx) })
		err = g.Wait()
	}
	sum := r.track.Summary()
	fmt.Fprintf(r.f.Err, "%sreplayed %d: %s %d, %s %d, nothing to do %d, refused %d (%s)\n", dryPrefix(!r.f.Execute), sum.Replayed,
		verb(!r.f.Execute, "acted", "would act"), sum.Acted, verb(!r.f.Execute, "still failing", "would still fail"), sum.StillFailing,
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

// Indent lists the lines of err, one problem a line, as the commands print
// configuration and start-up problems.
func Indent(err error) string {
	var out []byte
	for _, line := range strings.Split(err.Error(), "\n") {
		out = fmt.Appendf(out, "  - %s\n", line)
	}
	return string(out)
}
