package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tripline-dev/tripline/internal/remediate"
)

// Headers of a parked record (on the retry topic), besides the dead-letter
// headers it carries like any dead-letter record.
const (
	// HeaderRetryDue is when the parked record is re-driven (RFC 3339).
	HeaderRetryDue = "tripline.retry.due"
	// HeaderRetryParks is how many times the decision was parked.
	HeaderRetryParks = "tripline.retry.parks"
)

// Parking configures where retryable failures wait to be re-driven.
//
// A decision that failed for a reason that may pass (the Users API down,
// rate limiting past the retry budget: remediate's retryable failures) is
// not dead-lettered at once: its record is written to Topic, signed like a
// dead-letter record, with a due time, and the source offset is committed.
// The consumer reads Topic like a source topic (the group subscribes to
// it): it waits for each record's due time, checks its signature, and
// decides again, through the same guards and ledger. A decision that fails
// again is parked again, with a longer delay (Initial, doubling up to
// IntervalMax), until Max after its first failure: then it is
// dead-lettered, class and headers as without parking.
//
// Records of Topic are read in order, so one waits at most IntervalMax for
// the record ahead of it. Parking needs a signing key (Config.Keys): without it, a
// record anyone wrote to Topic could not be told from tripline's, and
// retryable failures are dead-lettered at once.
type Parking struct {
	// Topic is the retry topic; empty turns parking off.
	Topic string
	// Max is how long after its first failure a decision may stay parked
	// (default 24h).
	Max time.Duration
	// Initial is the first delay (default 30s); IntervalMax the longest
	// (default 10m).
	Initial, IntervalMax time.Duration
}

func (p *Parking) setDefaults() {
	if p.Max <= 0 {
		p.Max = 24 * time.Hour
	}
	if p.Initial <= 0 {
		p.Initial = 30 * time.Second
	}
	if p.IntervalMax <= 0 {
		p.IntervalMax = 10 * time.Minute
	}
	p.IntervalMax = max(p.IntervalMax, p.Initial)
}

// parking reports whether retryable failures are parked.
func (c *Consumer) parking() bool {
	return c.cfg.Retry.Topic != "" && c.cfg.Keys.Signs() && c.deps.Parked != nil
}

// parked reports whether msg was read from the retry topic.
func (c *Consumer) parked(msg kafka.Message) bool {
	return c.cfg.Retry.Topic != "" && msg.Topic == c.cfg.Retry.Topic
}

// verifyParked admits a record of the retry topic only if tripline wrote
// it: signed under the signing key, with a due time (a dead-letter record
// copied there has none, and adding one breaks its signature) and a first
// failure, neither of them further ahead of this instance's clock than a
// parked record can be (MaxClockSkew, plus Retry.IntervalMax for the due
// time): an instance whose clock runs ahead cannot make a decision wait
// longer, or never run out.
func (c *Consumer) verifyParked(msg kafka.Message) error {
	if err := VerifyDeadLetter(msg, c.cfg.Keys); err != nil {
		return err
	}
	due, err := time.Parse(time.RFC3339Nano, HeaderValue(msg, HeaderRetryDue))
	if err != nil {
		return errors.New("not a parked record: no valid tripline.retry.due header")
	}
	first, err := time.Parse(time.RFC3339Nano, HeaderValue(msg, HeaderFirstFailure))
	if err != nil {
		return errors.New("not a parked record: no valid tripline.first.failure header")
	}
	if c.cfg.MaxClockSkew <= 0 {
		return nil
	}
	now := c.cfg.Now()
	switch {
	case first.After(now.Add(c.cfg.MaxClockSkew)):
		return fmt.Errorf("%w: parked record's first failure %s is more than %s ahead of the clock", errFutureTime, first.UTC().Format(time.RFC3339), c.cfg.MaxClockSkew)
	case due.After(now.Add(c.cfg.MaxClockSkew + c.cfg.Retry.IntervalMax)):
		return fmt.Errorf("%w: parked record's due time %s is more than %s ahead of the clock", errFutureTime, due.UTC().Format(time.RFC3339), c.cfg.MaxClockSkew+c.cfg.Retry.IntervalMax)
	}
	return nil
}

// errFutureTime marks a record of tripline's own refused for a time ahead
// of the clock.
var errFutureTime = errors.New("dated ahead of the clock")

// parkedSince is when a verified parked record's decision first failed.
func parkedSince(msg kafka.Message) time.Time {
	first, _ := time.Parse(time.RFC3339Nano, HeaderValue(msg, HeaderFirstFailure))
	return first
}

// exhausted returns the failure of a parked record whose time ran out
// (Retry.Max since its first failure) while it waited, however long
// tripline was down: it is dead-lettered as retries_exhausted, and
// notified, without being decided again. Nil when it may be decided.
func (c *Consumer) exhausted(msg kafka.Message, now time.Time) *failure {
	first := parkedSince(msg)
	if now.Sub(first) < c.cfg.Retry.Max {
		return nil
	}
	parks, _ := strconv.Atoi(HeaderValue(msg, HeaderRetryParks))
	return &failure{class: remediate.ClassRetriesExhausted, reason: "park_max", ruleID: HeaderValue(msg, HeaderRuleID), attempts: 1, first: first, retryable: true,
		message: fmt.Sprintf("parked %d times since its first failure at %s, past retry.park_max (%s): dead-lettered without deciding it again; "+
			"replay it from the dead-letter topic if it still applies (the last failure: %s)", parks, first.UTC().Format(time.RFC3339), c.cfg.Retry.Max,
			HeaderValue(msg, HeaderErrorMessage))}
}

// nextPark returns when to re-drive the failures of msg and the park count,
// or ok false when they must be dead-lettered: not all retryable, parking
// off, or parked for Retry.Max already.
func (c *Consumer) nextPark(msg kafka.Message, fails []failure, now time.Time) (due time.Time, parks int, ok bool) {
	if !c.parking() {
		return time.Time{}, 0, false
	}
	for _, f := range fails {
		if !f.retryable {
			return time.Time{}, 0, false
		}
	}
	first := now
	if c.parked(msg) {
		// Only a verified parked record gets here with its own counts.
		parks, _ = strconv.Atoi(HeaderValue(msg, HeaderRetryParks))
		first = parkedSince(msg)
	}
	if now.Sub(first) >= c.cfg.Retry.Max {
		return time.Time{}, 0, false
	}
	delay := c.cfg.Retry.Initial
	for i := 0; i < parks && delay < c.cfg.Retry.IntervalMax; i++ {
		delay *= 2
	}
	return now.Add(min(delay, c.cfg.Retry.IntervalMax)), parks + 1, true
}

// park writes rec (msg's, or a batch item's) to the retry topic, due then.
func (c *Consumer) park(ctx context.Context, msg, rec kafka.Message, fails []failure, due time.Time, parks int) error {
	f := fails[0]
	ctx, span := c.deps.Tracer.Start(ctx, "retry.park", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("tripline.error.class", f.class), attribute.String("tripline.rule_id", f.ruleID), attribute.Int("tripline.retry.parks", parks)))
	defer span.End()
	out := kafka.Message{Key: rec.Key, Value: rec.Value, Headers: append(dlqHeaders(msg, fails, true),
		kafka.Header{Key: HeaderRetryDue, Value: []byte(due.UTC().Format(time.RFC3339Nano))},
		kafka.Header{Key: HeaderRetryParks, Value: []byte(strconv.Itoa(parks))})}
	c.deps.Propagator.Inject(ctx, HeaderCarrier{&out.Headers})
	signDeadLetter(&out, c.cfg.Keys)
	if err := c.deps.Parked.WriteDeadLetter(ctx, msg, out); err != nil {
		span.SetStatus(codes.Error, err.Error())
		return fmt.Errorf("park %s/%d@%d on %s: %w", msg.Topic, msg.Partition, msg.Offset, c.cfg.Retry.Topic, err)
	}
	c.deps.Metrics.add(ctx, c.deps.Metrics.parked, "class", f.class)
	c.count(func(s *Stats) { s.Parked++ })
	c.log.WarnContext(ctx, "decision parked for retry", append([]any{"topic", msg.Topic, "partition", msg.Partition, "offset", msg.Offset,
		"item", f.item, "due", due.UTC().Format(time.RFC3339), "parks", parks}, f.logAttrs()...)...)
	return nil
}

// waitDue waits until a parked record is due (at most Retry.IntervalMax,
// whatever its header says). A record that fails verification does not
// wait: it is refused at once. It returns false when fetching must stop.
func (r *run) waitDue(msg kafka.Message) bool {
	c := r.c
	if c.verifyParked(msg) != nil {
		return true
	}
	due, _ := time.Parse(time.RFC3339Nano, HeaderValue(msg, HeaderRetryDue))
	if first, err := time.Parse(time.RFC3339Nano, HeaderValue(msg, HeaderFirstFailure)); err == nil {
		c.deps.Metrics.parkAge.Record(r.stop, time.Since(first).Seconds(), attrs("partition", strconv.Itoa(msg.Partition)))
	}
	wait := min(time.Until(due), c.cfg.Retry.IntervalMax)
	if wait <= 0 {
		return true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.stop.Done():
		return false
	}
}
