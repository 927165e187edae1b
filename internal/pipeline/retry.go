package pipeline

import (
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tripline-dev/tripline/internal/deadletter"
	"github.com/tripline-dev/tripline/internal/remediate"
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
// the record ahead of it. Whether parking is on is the caller's decision
// (internal/app: the retry topic and the signing key are configured); the
// pipeline parks exactly when Topic is set. Parking needs a signing key
// (Config.Keys), without which a record anyone wrote to Topic could not be
// told from tripline's, and the retry topic's writer (Deps.Parked): New
// refuses a Topic without them.
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

// exhausted returns the failure of a parked record whose time ran out
// (Retry.Max since its first failure) while it waited, however long
// tripline was down: it is dead-lettered as retries_exhausted, and
// notified, without being decided again. Nil when it may be decided.
func (c *Consumer) exhausted(e *envelope, now time.Time) *failure {
	first := e.own.FirstFailure
	if now.Sub(first) < c.cfg.Retry.Max {
		return nil
	}
	return &failure{class: remediate.ClassRetriesExhausted, reason: "park_max", ruleID: e.own.RuleID, attempts: 1, first: first, retryable: true,
		message: fmt.Sprintf("parked %d times since its first failure at %s, past retry.park_max (%s): dead-lettered without deciding it again; "+
			"replay it from the dead-letter topic if it still applies (the last failure: %s)", e.own.Parks, first.UTC().Format(time.RFC3339), c.cfg.Retry.Max,
			e.own.Message)}
}

// nextPark returns when to re-drive the failures of e and the park count,
// or ok false when they must be dead-lettered: not all retryable, parking
// off, or parked for Retry.Max already.
func (c *Consumer) nextPark(e *envelope, fails []failure, now time.Time) (due time.Time, parks int, ok bool) {
	if c.cfg.Retry.Topic == "" {
		return time.Time{}, 0, false
	}
	for _, f := range fails {
		if !f.retryable {
			return time.Time{}, 0, false
		}
	}
	first := now
	if e.kind == kindParked {
		// Admitted: tripline parked it, and its counts are its own.
		parks, first = e.own.Parks, e.own.FirstFailure
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

// park writes rec (m's message, or a batch item of it) to the retry topic,
// due then.
func (c *Consumer) park(m *message, rec kafka.Message, fails []failure, due time.Time, parks int) error {
	f, msg := fails[0], m.env.msg
	ctx, span := c.deps.Tracer.Start(m.ctx, "retry.park", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("tripline.error.class", f.class), attribute.String("tripline.rule_id", f.ruleID), attribute.Int("tripline.retry.parks", parks)))
	defer span.End()
	r := recordOf(&m.env, fails)
	r.Kind, r.Due, r.Parks = deadletter.KindParked, due, parks
	out := kafka.Message{Key: rec.Key, Value: rec.Value, Headers: append(producerHeaders(msg), r.Encode()...)}
	c.deps.Propagator.Inject(ctx, HeaderCarrier{&out.Headers})
	deadletter.Sign(&out, c.cfg.Keys)
	if err := c.deps.Parked.WriteDeadLetter(ctx, msg, out); err != nil {
		span.SetStatus(codes.Error, err.Error())
		return fmt.Errorf("park %s/%d@%d on %s: %w", msg.Topic, msg.Partition, msg.Offset, c.cfg.Retry.Topic, err)
	}
	m.parked = append(m.parked, r)
	c.deps.Metrics.add(ctx, c.deps.Metrics.parked, "class", f.class)
	c.count(func(s *Stats) { s.Parked++ })
	c.log.WarnContext(ctx, "decision parked for retry", append([]any{"topic", msg.Topic, "partition", msg.Partition, "offset", msg.Offset,
		"item", f.item, "due", due.UTC().Format(time.RFC3339), "parks", parks}, f.logAttrs()...)...)
	return nil
}

// waitDue waits until an admitted parked record is due (at most
// Retry.IntervalMax, whatever it says). It returns false when fetching
// must stop.
func (r *run) waitDue(e *envelope) bool {
	c := r.c
	c.deps.Metrics.parkAge.Record(r.stop, time.Since(e.own.FirstFailure).Seconds(), attrs("partition", strconv.Itoa(e.msg.Partition)))
	wait := min(time.Until(e.own.Due), c.cfg.Retry.IntervalMax)
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
