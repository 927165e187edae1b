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

	"github.com/tripline-dev/tripline/internal/deadletter"
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
// remediate.ErrApprovalUnknown, ErrApprovalDecided, ErrApprovalExpired,
// ErrAnswerRefused or ErrContainmentUnknown (an end of a timed suspension
// that ended already) when the answer changed nothing, for good.
type Decider interface {
	Decide(ctx context.Context, d remediate.Decision) (remediate.Outcome, error)
	Answer(ctx context.Context, a remediate.Answer) (remediate.Outcome, error)
}

// Config configures a Consumer.
type Config struct {
	// Formats pins a format per source topic; topics not listed are
	// auto-detected. A parked or replayed record is decoded with the
	// format of its original source topic.
	Formats map[string]event.Format
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
	// (deadletter.Sign) and verify those read back (the current key or
	// the previous one); without a current key, records are unsigned and
	// a replay refuses them unless told otherwise.
	Keys *signing.Keyring
	// Retry parks retryable failures on a retry topic and re-drives them
	// (see Parking); its zero value dead-letters them at once. Whether
	// parking is on is the caller's decision: the pipeline parks when
	// Retry.Topic is set, and New refuses it without Keys and
	// Deps.Parked.
	Retry Parking
	// AnswersTopic is the topic of the answers to pending approvals
	// (signed records with the answer marker, see AnswerRecord); every
	// record of it must be one. Set it when approvals are on (the
	// caller's decision); New refuses it without Keys.
	AnswersTopic string
	// Replay, when set, makes this the pipeline of a replay of the
	// dead-letter topic (see Replay); nil, it is the consumer's.
	Replay *Replay
}

// Replay configures a pipeline over the dead-letter topic (`consumer dlq
// replay`). Every record it reads must be a dead-letter record tripline
// signed: it is decoded with the format of its original source topic, its
// event-time limits are checked against the original record's timestamp,
// and a decision that fails again is dead-lettered again with the
// original source and the attempts added up. A record that is not (no
// signature, a signature that does not verify, headers that do not parse)
// is refused: neither decoded nor decided, and not written back (it is in
// the dead-letter topic already); Deps.OnOutcome reports it. A replay
// parks nothing and reads no answers topic.
type Replay struct {
	// AcceptUnsigned also admits records without a signature (written
	// before signing was on). A signature that does not verify is always
	// refused, and so is an answer without one.
	AcceptUnsigned bool
}

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
	// Parked writes to the retry topic; required when Config.Retry.Topic
	// is set.
	Parked  DeadLetterWriter
	Decoder Decoder
	// OnDeadLetter, when set, hears of each record dead-lettered (after the
	// write was acknowledged), with the 1Password user its failed decision
	// was about, when it resolved (the record never names a user); it must
	// not block (the notifications: notify.Notifier.DeadLetter).
	OnDeadLetter func(ctx context.Context, rec deadletter.Record, userID string)
	// OnOutcome, when set, is called once for each message that reached
	// its final outcome (decided, nothing to do, dead-lettered or parked,
	// refused), with what became of it, once every earlier message of its
	// partition did too: so in offset order within a partition, before
	// its offset is committed. It is never called for a message left for
	// redelivery (shutdown, a fatal error), nor for any later message of
	// its partition in the same generation. It must not block (the DLQ
	// replay's report: dlq.Tracker.Outcome).
	OnOutcome  func(ctx context.Context, o MessageOutcome)
	Rules      Evaluator
	Decider    Decider
	Logger     *slog.Logger
	Tracer     trace.Tracer
	Propagator propagation.TextMapPropagator
	Metrics    *Metrics
}

// Consumer runs the pipeline.
type Consumer struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	// verify checks a record's signature (deadletter.Verify under
	// cfg.Keys): once per record of tripline's, at fetch (classify). A
	// test seam.
	verify func(kafka.Message) error

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
	if cfg.Retry.Topic != "" && !cfg.Keys.Signs() {
		errs = append(errs, errors.New("parking needs the signing key: without it a record anyone wrote to the retry topic could not be told from tripline's"))
	}
	if cfg.Retry.Topic != "" && deps.Parked == nil {
		errs = append(errs, errors.New("parking needs the retry topic's writer"))
	}
	if cfg.AnswersTopic != "" && !cfg.Keys.Signs() {
		errs = append(errs, errors.New("answers need the signing key: without it an answer anyone wrote could not be told from tripline's"))
	}
	if cfg.Replay != nil && (cfg.Retry.Topic != "" || cfg.AnswersTopic != "") {
		errs = append(errs, errors.New("a replay parks nothing and reads no answers topic"))
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
	c := &Consumer{cfg: cfg, deps: deps, log: deps.Logger}
	c.verify = func(m kafka.Message) error { return deadletter.Verify(m, c.cfg.Keys) }
	return c, nil
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
	joinRetry := outageBackOff(200*time.Millisecond, c.cfg.FetchRetry)
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
