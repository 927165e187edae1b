package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Error classes the pipeline writes to the tripline.error.class header.
// The decision service's failures carry their own classes
// (remediate.ClassUserNotFound, ClassBreakerOpen, ...).
const (
	ClassDecode    = "decode"     // the value could not be normalized; see tripline.error.reason
	ClassRuleError = "rule_error" // a rule failed at run time
	ClassPanic     = "panic"      // a bug; the message is kept for replay
	ClassRefused   = "refused"    // Config.Verify refused the message (a replay: unsigned, or a bad signature)
)

// errShutdown ends the handling of a message when the consumer is shutting
// down; the message is left uncommitted and redelivered.
var errShutdown = errors.New("shutting down")

// DLQ header names.
const (
	HeaderSourceTopic     = "tripline.source.topic"
	HeaderSourcePartition = "tripline.source.partition"
	HeaderSourceOffset    = "tripline.source.offset"
	// HeaderSourceTimestamp is the original record's Kafka timestamp
	// (RFC 3339), for the event-time limits of a replay.
	HeaderSourceTimestamp = "tripline.source.timestamp"
	HeaderErrorClass      = "tripline.error.class"
	HeaderErrorReason     = "tripline.error.reason"
	HeaderErrorMessage    = "tripline.error.message"
	HeaderRuleID          = "tripline.rule.id"
	HeaderAttempts        = "tripline.attempts"
	HeaderFirstFailure    = "tripline.first.failure"
	HeaderRetryable       = "tripline.retryable"
	HeaderFailures        = "tripline.failures"
	// HeaderBatchIndex is the index (from 0) in its batch of the item a
	// dead-letter record holds alone.
	HeaderBatchIndex = "tripline.batch.index"
	// HeaderValueOmitted is "too_large" when the value did not fit in the
	// DLQ topic and was left out; the original stays at its source offset
	// (until retention), identified by HeaderValueSize and HeaderValueSHA256.
	HeaderValueOmitted = "tripline.value.omitted"
	HeaderValueSize    = "tripline.value.size"
	HeaderValueSHA256  = "tripline.value.sha256"
	// HeaderInflateTooLarge marks a fetched record whose compressed value
	// inflated past kafka.max_bytes and was cut off while inflating
	// (kafkaio.BoundDecompression): it has no value, and the header holds
	// its declared size; HeaderInflateCompressed holds the compressed size
	// of its batch.
	HeaderInflateTooLarge   = "tripline.inflate.too_large"
	HeaderInflateCompressed = "tripline.inflate.compressed"
)

const maxErrorMessage = 1024

// failure is one reason a message could not be fully handled.
type failure struct {
	class     string
	reason    string
	message   string
	ruleID    string
	attempts  int
	retryable bool
	first     time.Time
	// item is the failed batch item's position, from 1 (0: the failure is
	// the whole message's), and value its own bytes: such a failure is
	// dead-lettered alone, never with the rest of its batch.
	item  int
	value []byte
	// userID is the 1Password user the failed decision was about, when it
	// resolved.
	userID string
}

// DeadLettered describes a record the pipeline dead-lettered, for
// Deps.OnDeadLetter (notifications).
type DeadLettered struct {
	Class, Reason, RuleID, UserID, Message string
	Attempts                               int
	Topic                                  string
	Partition                              int
	Offset                                 int64
}

// deadLetter writes the failures of msg to the DLQ: the message, unchanged,
// with headers describing its first whole-message failure (and how many
// there were), and each failed batch item alone, with its index. Records
// whose failures are all retryable are parked on the retry topic instead,
// while parking lasts (Config.Retry). It returns an error, which stops the
// consumer, if a write was not acknowledged.
func (c *Consumer) deadLetter(ctx context.Context, msg kafka.Message, fails []failure) error {
	var whole []failure
	for _, f := range fails {
		if f.item == 0 {
			whole = append(whole, f)
			continue
		}
		item := msg
		item.Value = f.value
		if err := c.settle(ctx, msg, item, []failure{f}); err != nil {
			return err
		}
	}
	if len(whole) == 0 {
		return nil
	}
	return c.settle(ctx, msg, msg, whole)
}

// settle parks rec or dead-letters it.
func (c *Consumer) settle(ctx context.Context, msg, rec kafka.Message, fails []failure) error {
	if due, parks, ok := c.nextPark(msg, fails, time.Now()); ok {
		err := c.park(ctx, msg, rec, fails, due, parks)
		if !isTooLarge(err) {
			return err
		}
		// Too large for the retry topic: the dead-letter topic keeps what fits.
	}
	return c.deadLetterOne(ctx, msg, rec, fails)
}

// deadLetterOne writes one dead-letter record: rec's key and value (msg's,
// or a batch item's) with headers describing fails[0].
func (c *Consumer) deadLetterOne(ctx context.Context, msg, rec kafka.Message, fails []failure) error {
	f := fails[0]
	ctx, span := c.deps.Tracer.Start(ctx, "dlq.publish", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("tripline.error.class", f.class), attribute.String("tripline.rule_id", f.ruleID)))
	defer span.End()
	out := kafka.Message{Key: rec.Key, Value: rec.Value, Headers: dlqHeaders(msg, fails, true)}
	c.deps.Propagator.Inject(ctx, HeaderCarrier{&out.Headers})
	keys := c.cfg.Keys
	if f.class == ClassRefused {
		// Refused: tripline did not write it (a forged parked record or
		// answer). Signing it would launder it for a replay.
		keys = nil
	}
	signDeadLetter(&out, keys)
	err := c.deps.DeadLetters.WriteDeadLetter(ctx, msg, out)
	if isTooLarge(err) {
		// The DLQ cannot hold the record: keep it without its value, key and
		// the producer's headers (all of which the sender controls), with
		// tripline's own bounded headers saying where the original is and
		// how to recognise it.
		c.log.WarnContext(ctx, "record too large for the dead-letter topic; dead-lettering it without its value, key and headers",
			"topic", msg.Topic, "partition", msg.Partition, "offset", msg.Offset, "bytes", len(rec.Value))
		out = kafka.Message{Headers: append(dlqHeaders(msg, fails, false), omittedValueHeaders(rec.Value)...)}
		c.deps.Propagator.Inject(ctx, HeaderCarrier{&out.Headers})
		signDeadLetter(&out, keys)
		err = c.deps.DeadLetters.WriteDeadLetter(ctx, msg, out)
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		return fmt.Errorf("dead-letter %s/%d@%d: %w", msg.Topic, msg.Partition, msg.Offset, err)
	}
	c.deps.Metrics.add(ctx, c.deps.Metrics.dlq, "class", f.class)
	if c.deps.OnDeadLetter != nil {
		c.deps.OnDeadLetter(ctx, DeadLettered{Class: f.class, Reason: f.reason, RuleID: f.ruleID, UserID: f.userID,
			Message: truncate(f.message, maxErrorMessage), Attempts: f.attempts, Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset})
	}
	c.count(func(s *Stats) { s.DeadLettered++ })
	c.log.WarnContext(ctx, "message dead-lettered", append([]any{"topic", msg.Topic, "partition", msg.Partition, "offset", msg.Offset, "item", f.item, "failures", len(fails)}, f.logAttrs()...)...)
	return nil
}

func dlqHeaders(msg kafka.Message, fails []failure, keepSource bool) []kafka.Header {
	f := fails[0]
	attempts, first := max(f.attempts, 1), f.first
	var kept []kafka.Header
	for _, h := range msg.Headers {
		switch {
		case h.Key == HeaderAttempts:
			if n, err := strconv.Atoi(string(h.Value)); err == nil {
				attempts += n
			}
		case h.Key == HeaderFirstFailure:
			if t, err := time.Parse(time.RFC3339Nano, string(h.Value)); err == nil {
				first = t
			}
		case h.Key == HeaderApproval:
			kept = append(kept, h) // an answer stays an answer, signed again below
		case strings.HasPrefix(h.Key, "tripline."), h.Key == "traceparent", h.Key == "tracestate":
			// tripline's own (including a replayed record's signature) are
			// written afresh below.
		case keepSource:
			kept = append(kept, h)
		}
	}
	if size := (HeaderCarrier{&msg.Headers}).Get(HeaderInflateTooLarge); size != "" && len(msg.Value) == 0 {
		kept = append(kept, kafka.Header{Key: HeaderValueOmitted, Value: []byte("too_large")}, kafka.Header{Key: HeaderValueSize, Value: []byte(size)})
	}
	source, partition, offset := msg.Topic, strconv.Itoa(msg.Partition), strconv.FormatInt(msg.Offset, 10)
	stamp := ""
	if !msg.Time.IsZero() {
		stamp = msg.Time.UTC().Format(time.RFC3339Nano)
	}
	if in := (HeaderCarrier{&msg.Headers}); in.Get(HeaderSourceTopic) != "" {
		// A replayed record keeps its original source position, not the DLQ's.
		source, partition, offset, stamp = in.Get(HeaderSourceTopic), in.Get(HeaderSourcePartition), in.Get(HeaderSourceOffset), in.Get(HeaderSourceTimestamp)
	}
	h := func(k, v string) kafka.Header { return kafka.Header{Key: k, Value: []byte(v)} }
	out := append(kept,
		h(HeaderSourceTopic, source),
		h(HeaderSourcePartition, partition),
		h(HeaderSourceOffset, offset),
		h(HeaderSourceTimestamp, stamp),
		h(HeaderErrorClass, f.class),
		h(HeaderErrorReason, f.reason),
		h(HeaderErrorMessage, truncate(f.message, maxErrorMessage)),
		h(HeaderRuleID, f.ruleID),
		h(HeaderAttempts, strconv.Itoa(attempts)),
		h(HeaderFirstFailure, first.UTC().Format(time.RFC3339Nano)),
		h(HeaderRetryable, strconv.FormatBool(f.retryable)),
		h(HeaderFailures, strconv.Itoa(len(fails))),
	)
	if f.item > 0 {
		out = append(out, h(HeaderBatchIndex, strconv.Itoa(f.item-1)))
	} else if i := (HeaderCarrier{&msg.Headers}).Get(HeaderBatchIndex); i != "" && (HeaderCarrier{&msg.Headers}).Get(HeaderSourceTopic) != "" {
		out = append(out, h(HeaderBatchIndex, i)) // a replayed item keeps its index
	}
	return out
}

// isTooLarge reports whether a write failed because a message exceeded the
// writer's or the topic's size limit.
func isTooLarge(err error) bool {
	if err == nil {
		return false
	}
	var we kafka.WriteErrors
	if errors.As(err, &we) {
		for _, e := range we {
			if isTooLarge(e) {
				return true
			}
		}
	}
	var mtl kafka.MessageTooLargeError
	return errors.As(err, &mtl) || errors.Is(err, kafka.MessageSizeTooLarge)
}

func omittedValueHeaders(value []byte) []kafka.Header {
	sum := sha256.Sum256(value)
	return []kafka.Header{
		{Key: HeaderValueOmitted, Value: []byte("too_large")},
		{Key: HeaderValueSize, Value: []byte(strconv.Itoa(len(value)))},
		{Key: HeaderValueSHA256, Value: []byte(hex.EncodeToString(sum[:]))},
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
