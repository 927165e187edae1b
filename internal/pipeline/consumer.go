package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/rules"
)

// Source is where messages come from: *kafka.Reader in a consumer group.
// FetchMessage blocks until a message arrives or ctx is done; it does not
// commit. CommitMessages commits, per partition, the offset after the
// highest message given.
type Source interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	CommitMessages(ctx context.Context, msgs ...kafka.Message) error
}

// DeadLetterWriter writes dead-letter records. WriteDeadLetter gets the
// source message that failed and the record to write for it (its key and
// value, with the tripline.* headers saying why), and returns only once the
// record is acknowledged, or with an error. kafkaio.TopicWriter writes to
// the DLQ topic; the DLQ replay's writer also learns from the source which
// record failed again.
type DeadLetterWriter interface {
	WriteDeadLetter(ctx context.Context, source, record kafka.Message) error
}

// Decoder normalizes one message value into sign-in events (*event.Decoder).
// On a partial failure it returns the events it could decode and an error.
type Decoder interface {
	Decode(value []byte, format event.Format) ([]event.Event, error)
}

// Evaluator evaluates the current rule set against one event (the rules
// watcher's current set). It is safe for concurrent use.
type Evaluator interface {
	Evaluate(ev *event.Event) rules.Result
}

// Decider takes a rule's decision to its final outcome (*remediate.Service):
// it returns nil for an outcome, a *remediate.Failure to dead-letter,
// remediate.ErrInterrupted when shutdown came first (the message is left for
// redelivery), and any other error when the consumer must stop.
type Decider interface {
	Decide(ctx context.Context, d remediate.Decision) (remediate.Outcome, error)
}

// ErrEndOfInput, returned by a Source's FetchMessage, says there is nothing
// more to read (a bounded source such as the DLQ replay's): Run stops
// fetching, lets every message already fetched finish, commits and returns
// nil.
var ErrEndOfInput = errors.New("end of input")

// Config configures a Consumer.
type Config struct {
	// Formats pins a format per source topic; topics not listed are
	// auto-detected.
	Formats map[string]event.Format
	// TopicHeader, when set, names a header holding the topic a message
	// came from originally (the DLQ replay: tripline.source.topic); its
	// value, when present, picks the format instead of the message's topic.
	TopicHeader string
	// CommitInterval is the longest time a finished offset waits to be
	// committed; CommitBatch commits sooner after that many messages.
	CommitInterval time.Duration
	CommitBatch    int
	// PartitionBuffer is how many fetched messages may wait per partition.
	PartitionBuffer int
	// BufferBytes bounds the bytes of the messages fetched and not yet
	// finished, across partitions: past it, fetching waits. It keeps memory
	// bounded whatever the size of the messages (a message larger than the
	// whole budget takes all of it).
	BufferBytes int64
	// ShutdownGrace bounds how long the in-flight messages may take once
	// the context passed to Run is cancelled.
	ShutdownGrace time.Duration
	// FetchRetry bounds how long fetching may keep failing (broker down,
	// network cut) before Run gives up with an error.
	FetchRetry time.Duration
	// MaxEventAge: an event whose time, or whose Kafka record's timestamp,
	// is older than this is evaluated, but its decisions act in shadow only
	// (the decision service's outcome stale). 0 turns the check off.
	MaxEventAge time.Duration
	// MaxClockSkew: an event whose time, or whose record's timestamp, is
	// further ahead of the clock is dead-lettered (decode/future_time)
	// before it is evaluated, so it never counts in a window. 0 turns the
	// check off.
	MaxClockSkew time.Duration
	// Now is the clock of the event-time checks (default time.Now).
	Now func() time.Time
	// SigningKey signs every dead-letter record (HeaderSignature); empty,
	// records are unsigned and a replay refuses them unless told otherwise.
	SigningKey []byte
	// Verify, when set, is asked about each message before it is decoded;
	// a message it refuses is not decoded or acted on, and is handed to
	// the dead-letter writer with class refused and the reason (the DLQ
	// replay: records that are not signed, or not signed right).
	Verify Verifier
}

// Verifier admits a message (nil) or says why not.
type Verifier func(kafka.Message) error

func (c *Config) setDefaults() {
	if c.CommitInterval <= 0 {
		c.CommitInterval = time.Second
	}
	if c.CommitBatch <= 0 {
		c.CommitBatch = 1000
	}
	if c.PartitionBuffer <= 0 {
		c.PartitionBuffer = 256
	}
	if c.BufferBytes <= 0 {
		c.BufferBytes = DefaultBufferBytes
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 30 * time.Second
	}
	if c.FetchRetry <= 0 {
		c.FetchRetry = 5 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// DefaultBufferBytes is the default of Config.BufferBytes.
const DefaultBufferBytes = 16 << 20

// Deps are the collaborators of a Consumer. Source, DeadLetters, Decoder,
// Rules and Decider are required; the rest have no-op defaults.
type Deps struct {
	Source      Source
	DeadLetters DeadLetterWriter
	Decoder     Decoder
	Rules       Evaluator
	Decider     Decider
	Logger      *slog.Logger
	Tracer      trace.Tracer
	Propagator  propagation.TextMapPropagator
	Metrics     *Metrics
}

// Consumer runs the pipeline.
type Consumer struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	mu    sync.Mutex
	stats Stats
}

// Stats are running totals, for summaries and readiness.
type Stats struct {
	Consumed int64
	// Decisions counts the decisions handed to the decider.
	Decisions int64
	// Actions counts the decisions whose outcome changed a user
	// (suspended, reactivated).
	Actions      int64
	DeadLettered int64
	Committed    int64
}

// New returns a Consumer.
func New(cfg Config, deps Deps) (*Consumer, error) {
	cfg.setDefaults()
	var errs []error
	if deps.Source == nil {
		errs = append(errs, errors.New("source is required"))
	}
	if deps.DeadLetters == nil {
		errs = append(errs, errors.New("dead-letter writer is required"))
	}
	if deps.Decoder == nil || deps.Rules == nil || deps.Decider == nil {
		errs = append(errs, errors.New("decoder, rules and decider are required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new consumer: %w", err)
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Tracer == nil {
		deps.Tracer = noop.NewTracerProvider().Tracer("tripline")
	}
	if deps.Propagator == nil {
		deps.Propagator = propagation.TraceContext{}
	}
	if deps.Metrics == nil {
		m, err := NewMetrics(nil)
		if err != nil {
			return nil, err
		}
		deps.Metrics = m
	}
	return &Consumer{cfg: cfg, deps: deps, log: deps.Logger}, nil
}

// Stats returns the running totals.
func (c *Consumer) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *Consumer) count(f func(*Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

// partitionKey names one partition of one topic.
type partitionKey struct {
	topic     string
	partition int
}

// Run consumes until ctx is cancelled, the source reports ErrEndOfInput, or
// a fatal error occurs. On cancellation it stops fetching, lets in-flight
// messages finish within the shutdown grace, commits what finished, and
// returns nil; at the end of input it lets every fetched message finish,
// commits and returns nil. A fatal error (a dead-letter, audit or ledger
// write that failed, a fetch error) is returned after committing what
// finished before it.
func (c *Consumer) Run(ctx context.Context) error {
	// Work continues past ctx's cancellation for the shutdown grace.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	stopGrace := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(c.cfg.ShutdownGrace, cancelWork)
		context.AfterFunc(workCtx, func() { t.Stop() })
	})
	defer stopGrace()

	commits := newCommitter(c.deps.Source, c.cfg.CommitBatch, c.log, c.deps.Metrics, func(n int64) {
		c.count(func(s *Stats) { s.Committed += n })
	})
	workers, gctx := errgroup.WithContext(workCtx)
	fetchCtx, cancelFetch := context.WithCancel(ctx)
	defer cancelFetch()
	context.AfterFunc(gctx, cancelFetch)

	commitDone := make(chan struct{})
	go func() {
		defer close(commitDone)
		commits.run(fetchCtx, c.cfg.CommitInterval)
	}()

	queues := map[partitionKey]chan kafka.Message{}
	buffered := semaphore.NewWeighted(c.cfg.BufferBytes)
	fetchErr := c.fetchLoop(fetchCtx, func(msg kafka.Message) {
		key := partitionKey{msg.Topic, msg.Partition}
		q, ok := queues[key]
		if !ok {
			q = make(chan kafka.Message, c.cfg.PartitionBuffer)
			queues[key] = q
			workers.Go(func() error { return c.work(gctx, ctx, q, commits, buffered) })
		}
		// Memory: wait until the messages in flight leave room for this one.
		if buffered.Acquire(fetchCtx, c.weight(msg)) != nil {
			return
		}
		select {
		case q <- msg:
		case <-fetchCtx.Done():
		}
	})
	for _, q := range queues {
		close(q)
	}
	workErr := workers.Wait()
	cancelFetch()
	<-commitDone
	finalCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	commitErr := commits.flush(finalCtx)
	if workErr != nil {
		return workErr
	}
	if fetchErr != nil {
		return fetchErr
	}
	return commitErr
}

// fetchLoop fetches until ctx is done, handing each message to dispatch.
func (c *Consumer) fetchLoop(ctx context.Context, dispatch func(kafka.Message)) error {
	m := c.deps.Metrics
	labels := map[partitionKey]partitionLabels{} // built once per partition, not per message
	fetchBackoff := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(100*time.Millisecond),
		backoff.WithMaxInterval(5*time.Second),
		backoff.WithMaxElapsedTime(c.cfg.FetchRetry),
	)
	for {
		msg, err := c.deps.Source.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, ErrEndOfInput) {
				return nil
			}
			if err := c.fetchFailed(ctx, fetchBackoff, err); err != nil {
				return err
			}
			continue
		}
		fetchBackoff.Reset()
		c.count(func(s *Stats) { s.Consumed++ })
		key := partitionKey{msg.Topic, msg.Partition}
		l, ok := labels[key]
		if !ok {
			l = partitionLabels{topic: attrs("topic", msg.Topic), partition: attrs("topic", msg.Topic, "partition", strconv.Itoa(msg.Partition))}
			labels[key] = l
		}
		m.consumed.Add(ctx, 1, l.topic)
		if msg.HighWaterMark > 0 {
			m.lag.Record(ctx, max(0, msg.HighWaterMark-msg.Offset-1), l.partition)
		}
		dispatch(msg)
	}
}

// fetchFailed waits before the next fetch after a failure (the broker is
// restarting, a rebalance failed, the network dropped). It returns an error,
// which stops the consumer, when the reader was closed or fetching kept
// failing for longer than the FetchRetry budget.
func (c *Consumer) fetchFailed(ctx context.Context, b *backoff.ExponentialBackOff, err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("fetch: reader closed: %w", err)
	}
	wait := b.NextBackOff()
	if wait == backoff.Stop {
		return fmt.Errorf("fetch: failing for over %s: %w", c.cfg.FetchRetry, err)
	}
	c.deps.Metrics.fetchErrors.Add(ctx, 1)
	c.log.WarnContext(ctx, "fetch failed; retrying", "wait", wait.String(), "error", err.Error())
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	return nil
}

// weight is what a message counts against Config.BufferBytes: its key,
// value and headers, at most the whole budget.
func (c *Consumer) weight(msg kafka.Message) int64 {
	n := len(msg.Key) + len(msg.Value)
	for _, h := range msg.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return min(int64(n)+64, c.cfg.BufferBytes)
}

// partitionLabels are the metric attributes of one partition.
type partitionLabels struct {
	topic, partition metric.MeasurementOption
}

// work processes one partition's messages in order. It stops taking new
// messages once stop is done (shutdown) and returns an error only for a
// fatal failure.
func (c *Consumer) work(ctx, stop context.Context, q <-chan kafka.Message, commits *committer, buffered *semaphore.Weighted) error {
	for msg := range q {
		if stop.Err() != nil {
			return nil // shutdown: leave the rest uncommitted, they are redelivered
		}
		err := c.process(ctx, stop, msg)
		buffered.Release(c.weight(msg))
		if errors.Is(err, errShutdown) {
			return nil
		}
		if err != nil {
			return err
		}
		commits.done(msg)
	}
	return nil
}
