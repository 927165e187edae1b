package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tripline-dev/tripline/internal/deadletter"
)

// Error classes the pipeline writes to the tripline.error.class header.
// The decision service's failures carry their own classes
// (remediate.ClassUserNotFound, ClassBreakerOpen, ...).
const (
	ClassDecode    = "decode"     // the value could not be normalized; see tripline.error.reason
	ClassRuleError = "rule_error" // a rule failed at run time
	ClassPanic     = "panic"      // a bug; the message is kept for replay
	ClassRefused   = "refused"    // a record tripline did not write (or not as it claims): a forged parked record, answer, or replayed dead letter
)

// errShutdown ends the handling of a message when the consumer is shutting
// down; the message is left uncommitted and redelivered.
var errShutdown = errors.New("shutting down")

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

// deadLetter writes the failures of m to the DLQ: the message, unchanged,
// with headers describing its first whole-message failure (and how many
// there were), and each failed batch item alone, with its index. Records
// whose failures are all retryable are parked on the retry topic instead,
// while parking lasts (Config.Retry). It returns an error, which stops the
// consumer, if a write was not acknowledged.
func (c *Consumer) deadLetter(m *message) error {
	var whole []failure
	for _, f := range m.fails {
		if f.item == 0 {
			whole = append(whole, f)
			continue
		}
		item := m.env.msg
		item.Value = f.value
		if err := c.settle(m, item, []failure{f}); err != nil {
			return err
		}
	}
	if len(whole) == 0 {
		return nil
	}
	return c.settle(m, m.env.msg, whole)
}

// settle parks rec (m's message, or a batch item of it) or dead-letters it.
func (c *Consumer) settle(m *message, rec kafka.Message, fails []failure) error {
	if due, parks, ok := c.nextPark(&m.env, fails, time.Now()); ok {
		err := c.park(m, rec, fails, due, parks)
		if !isTooLarge(err) {
			return err
		}
		// Too large for the retry topic: the dead-letter topic keeps what fits.
	}
	return c.deadLetterOne(m, rec, fails)
}

// deadLetterOne writes one dead-letter record: rec's key and value (m's,
// or a batch item's) with headers describing fails[0]. A replay
// (Config.Replay) writes no refused record back: it is in the dead-letter
// topic already, and its refusal is reported through Deps.OnOutcome.
func (c *Consumer) deadLetterOne(m *message, rec kafka.Message, fails []failure) error {
	f, msg := fails[0], m.env.msg
	if f.class == ClassRefused && c.cfg.Replay != nil {
		c.log.WarnContext(m.ctx, "replayed record refused; left in the dead-letter topic", append([]any{"topic", msg.Topic, "partition", msg.Partition, "offset", msg.Offset}, f.logAttrs()...)...)
		return nil
	}
	ctx, span := c.deps.Tracer.Start(m.ctx, "dlq.publish", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("tripline.error.class", f.class), attribute.String("tripline.rule_id", f.ruleID)))
	defer span.End()
	r := recordOf(&m.env, fails)
	out := kafka.Message{Key: rec.Key, Value: rec.Value, Headers: append(producerHeaders(msg), r.Encode()...)}
	c.deps.Propagator.Inject(ctx, HeaderCarrier{&out.Headers})
	keys := c.cfg.Keys
	if f.class == ClassRefused {
		// Refused: tripline did not write it (a forged parked record or
		// answer). Signing it would launder it for a replay.
		keys = nil
	}
	deadletter.Sign(&out, keys)
	err := c.deps.DeadLetters.WriteDeadLetter(ctx, msg, out)
	if isTooLarge(err) {
		// The DLQ cannot hold the record: keep it without its value, key and
		// the producer's headers (all of which the sender controls), with
		// tripline's own bounded headers saying where the original is and
		// how to recognise it.
		c.log.WarnContext(ctx, "record too large for the dead-letter topic; dead-lettering it without its value, key and headers",
			"topic", msg.Topic, "partition", msg.Partition, "offset", msg.Offset, "bytes", len(rec.Value))
		sum := sha256.Sum256(rec.Value)
		r.Omitted = deadletter.Omitted{Reason: deadletter.OmittedTooLarge, Size: int64(len(rec.Value)), SHA256: hex.EncodeToString(sum[:])}
		out = kafka.Message{Headers: r.Encode()}
		c.deps.Propagator.Inject(ctx, HeaderCarrier{&out.Headers})
		deadletter.Sign(&out, keys)
		err = c.deps.DeadLetters.WriteDeadLetter(ctx, msg, out)
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		return fmt.Errorf("dead-letter %s/%d@%d: %w", msg.Topic, msg.Partition, msg.Offset, err)
	}
	m.deadLettered = append(m.deadLettered, r)
	c.deps.Metrics.add(ctx, c.deps.Metrics.dlq, "class", f.class)
	if c.deps.OnDeadLetter != nil {
		c.deps.OnDeadLetter(ctx, r, f.userID)
	}
	c.count(func(s *Stats) { s.DeadLettered++ })
	c.log.WarnContext(ctx, "message dead-lettered", append([]any{"topic", msg.Topic, "partition", msg.Partition, "offset", msg.Offset, "item", f.item, "failures", len(fails)}, f.logAttrs()...)...)
	return nil
}

// recordOf is the record of tripline's that describes the failures of e
// (fails[0] first, and how many there were), for the dead-letter topic: a
// parked or replayed record keeps its original source, its first failure,
// its batch index and the attempts made before these, and an answer keeps
// its marker.
func recordOf(e *envelope, fails []failure) deadletter.Record {
	f := fails[0]
	r := deadletter.Record{Kind: deadletter.KindDeadLetter, Source: e.source(), Class: f.class, Reason: f.reason,
		Message: truncate(f.message, maxErrorMessage), RuleID: f.ruleID, Attempts: max(f.attempts, 1), FirstFailure: f.first,
		Retryable: f.retryable, Failures: len(fails), BatchItem: f.item, Answer: e.answer}
	if e.trusted {
		r.Attempts += e.own.Attempts
		if !e.own.FirstFailure.IsZero() {
			r.FirstFailure = e.own.FirstFailure
		}
		if r.BatchItem == 0 && e.own.Source.Topic != "" {
			r.BatchItem = e.own.BatchItem // a replayed item keeps its index
		}
	}
	if e.cutOff != nil {
		r.Omitted = deadletter.Omitted{Reason: deadletter.OmittedTooLarge, Size: e.cutOff.Size}
	}
	return r
}

// producerHeaders are the headers of msg a dead-letter record keeps: the
// producer's own. tripline's (a replayed record's signature included) and
// the trace context are written afresh.
func producerHeaders(msg kafka.Message) []kafka.Header {
	var kept []kafka.Header
	for _, h := range msg.Headers {
		if !deadletter.IsOwn(h.Key) && h.Key != "traceparent" && h.Key != "tracestate" {
			kept = append(kept, h)
		}
	}
	return kept
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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
