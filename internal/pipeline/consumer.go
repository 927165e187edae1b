package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"golang.org/x/sync/semaphore"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/rules"
	"github.com/tripline-dev/tripline/internal/signing"
)

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
// redelivery), and any other error when the consumer must stop. Answer
// applies an answer to a pending approval, with the same errors, and
// remediate.ErrApprovalUnknown, ErrApprovalDecided or ErrApprovalExpired
// when the answer changed nothing, for good.
type Decider interface {
	Decide(ctx context.Context, d remediate.Decision) (remediate.Outcome, error)
	Answer(ctx context.Context, a remediate.Answer) (remediate.Outcome, error)
}

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
	// PartitionBuffer is how many fetched messages may wait per partition
	// to be decoded and handed over.
	PartitionBuffer int
	// MaxInFlight bounds the decisions queued or running in the process:
	// decisions about different users run in parallel, those about one
	// user in order. When it is reached, fetching waits.
	MaxInFlight int
	// Decoders is how many messages are decoded and evaluated at once
	// (default GOMAXPROCS); their decisions are handed over in offset
	// order all the same.
	Decoders int
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
	// Keys sign every dead-letter, parked and answer record
	// (HeaderSignature) and verify those read back (the current key or
	// the previous one); without a current key, records are unsigned, a
	// replay refuses them unless told otherwise, and nothing is parked.
	Keys *signing.Keyring
	// Retry parks retryable failures on a retry topic and re-drives them
	// (see Parking); its zero value dead-letters them at once.
	Retry Parking
	// AnswersTopic is the topic of the answers to pending approvals
	// (signed records with the tripline.approval header, see
	// HeaderApproval); every record of it must be one.
	AnswersTopic string
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
	c.Retry.setDefaults()
	if c.CommitBatch <= 0 {
		c.CommitBatch = 1000
	}
	if c.PartitionBuffer <= 0 {
		c.PartitionBuffer = 256
	}
	if c.BufferBytes <= 0 {
		c.BufferBytes = DefaultBufferBytes
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.Decoders <= 0 {
		c.Decoders = runtime.GOMAXPROCS(0)
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

// Defaults of Config.
const (
	DefaultBufferBytes = 16 << 20
	DefaultMaxInFlight = 64
)

// Deps are the collaborators of a Consumer. Source, DeadLetters, Decoder,
// Rules and Decider are required; the rest have no-op defaults.
type Deps struct {
	Source      Source
	DeadLetters DeadLetterWriter
	// Parked writes to the retry topic (Config.Retry); nil, nothing is
	// parked.
	Parked  DeadLetterWriter
	Decoder Decoder
	// OnDeadLetter, when set, hears of each record dead-lettered (after the
	// write was acknowledged); it must not block.
	OnDeadLetter func(ctx context.Context, d DeadLettered)
	Rules        Evaluator
	Decider      Decider
	Logger       *slog.Logger
	Tracer       trace.Tracer
	Propagator   propagation.TextMapPropagator
	Metrics      *Metrics
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
	// Parked counts the records parked on the retry topic.
	Parked    int64
	Committed int64
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

// Run consumes until ctx is cancelled, the source reports ErrEndOfInput,
// or a fatal error occurs. It runs generation after generation: each time
// the group rebalances, the partitions this member loses finish what they
// started (within the shutdown grace, the rebalance allowing), commit, and
// are never committed again by this member; the ones it gets start at their
// committed offsets. On cancellation it stops fetching, lets in-flight
// messages finish within the shutdown grace, commits what finished, and
// returns nil. A fatal error (a dead-letter, audit or ledger write that
// failed, fetching failing for longer than FetchRetry) is returned after
// committing what finished before it.
func (c *Consumer) Run(ctx context.Context) error {
	exec := newKeyed(c.cfg.MaxInFlight)
	defer exec.wait()
	buffered := semaphore.NewWeighted(c.cfg.BufferBytes)
	decoders := newDecoders(c, c.cfg.Decoders, c.cfg.PartitionBuffer)
	defer decoders.close()
	joinRetry := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(200*time.Millisecond),
		backoff.WithMaxInterval(5*time.Second),
		backoff.WithMaxElapsedTime(c.cfg.FetchRetry),
	)
	for {
		gen, err := c.deps.Source.Next(ctx)
		switch {
		case ctx.Err() != nil, errors.Is(err, ErrEndOfInput):
			return nil
		case err != nil:
			// A rebalance in progress, a coordinator loading after a broker
			// restart, a connection reset: join again, for as long as
			// fetching may fail.
			wait := joinRetry.NextBackOff()
			if wait == backoff.Stop || !joinRetryable(err) {
				return fmt.Errorf("join the consumer group: %w", err)
			}
			c.log.WarnContext(ctx, "joining the consumer group failed; trying again", "wait", wait.String(), "error", err.Error())
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			continue
		}
		joinRetry.Reset()
		r := &run{c: c, gen: gen, exec: exec, buffered: buffered, decoders: decoders}
		done := make(chan error, 1)
		gen.Start(func(genCtx context.Context) { done <- r.generation(ctx, genCtx) })
		if err := <-done; err != nil {
			return err
		}
	}
}

// joinRetryable reports whether joining the group may succeed if tried
// again: anything but a source closed or failed for good (ErrPermanent).
func joinRetryable(err error) bool {
	return !errors.Is(err, ErrPermanent) && !errors.Is(err, kafka.ErrGroupClosed) && !errors.Is(err, io.ErrClosedPipe)
}
