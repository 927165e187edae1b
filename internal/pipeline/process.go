package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tripline-dev/tripline/internal/deadletter"
	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/identity"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/rules"
	"github.com/tripline-dev/tripline/internal/signing"
)

// message is one fetched message on its way to a final outcome: its
// envelope, what its decode and evaluation found (failures, decisions to
// hand over), how many decisions are still being decided, and what became
// of it (for Deps.OnOutcome).
type message struct {
	env    envelope
	tp     TopicPartition
	weight int64
	ctx    context.Context // carries the message's span
	span   trace.Span

	fails     []failure
	decisions []handover

	mu        sync.Mutex
	pending   int  // decisions not decided yet
	abandoned bool // a decision was interrupted: leave the message for redelivery
	fatal     error
	outcomes  []remediate.Outcome // of the decisions that reached one

	// The records written for it (by finish, alone).
	deadLettered, parked []deadletter.Record
}

// handover is one decision to hand to the decider, with the batch item it
// is about (dead-lettered alone if the decision fails).
type handover struct {
	d     remediate.Decision
	item  int
	value []byte
	// answer, when set, is an answer to a pending approval to apply
	// instead of a decision.
	answer *remediate.Answer
}

// key is the keyed executor's key of the handover: one user's decisions
// and answers run one at a time.
func (h handover) key() string {
	if h.answer != nil {
		return "answer:" + h.answer.UserID
	}
	return identity.Fold(h.d.Identity)
}

// prepare decodes and evaluates a classified message: everything up to the
// decisions, which run later, keyed by user. It never blocks on the Users
// API, so messages are prepared on every core at once. A panic becomes a
// failure of class panic.
func (c *Consumer) prepare(ctx context.Context, env envelope) (m *message) {
	msg := env.msg
	ctx = c.deps.Propagator.Extract(ctx, HeaderCarrier{&msg.Headers})
	ctx, span := c.deps.Tracer.Start(ctx, "process "+msg.Topic,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.destination.name", msg.Topic),
			attribute.Int("messaging.destination.partition.id", msg.Partition),
			attribute.Int64("messaging.kafka.offset", msg.Offset),
		))
	m = &message{env: env, tp: TopicPartition{msg.Topic, msg.Partition}, weight: c.weight(msg), ctx: ctx, span: span}
	defer func() {
		if r := recover(); r != nil {
			c.log.ErrorContext(ctx, "panic while processing a message", "topic", msg.Topic, "partition", msg.Partition, "offset", msg.Offset, "panic", fmt.Sprint(r))
			m.fails = append(m.fails, failure{class: ClassPanic, message: fmt.Sprintf("panic: %v", r), attempts: 1, first: time.Now()})
			m.decisions = nil
		}
	}()
	m.fails, m.decisions = c.handle(ctx, &m.env)
	return m
}

// handle decodes and evaluates one classified message. It returns the
// failures to dead-letter and the decisions to hand over. A refused
// message is neither decoded nor decided; a parked decision whose time ran
// out is dead-lettered without being decided again.
func (c *Consumer) handle(ctx context.Context, e *envelope) ([]failure, []handover) {
	switch e.kind {
	case kindRefused:
		return []failure{{class: ClassRefused, reason: refusalReason(e.refusal), message: e.refusal.Error(), attempts: 1, first: time.Now()}}, nil
	case kindParked:
		if f := c.exhausted(e, c.cfg.Now()); f != nil {
			return []failure{*f}, nil
		}
	}
	if e.isAnswer() {
		return c.handleAnswer(e)
	}
	if cut := e.cutOff; cut != nil {
		return []failure{{class: ClassDecode, reason: event.ReasonTooLarge, attempts: 1, first: time.Now(),
			message: fmt.Sprintf("value inflates to %d bytes, past kafka.max_bytes: cut off while decompressing (compressed batch of %d bytes), never held whole",
				cut.Size, cut.Compressed)}}, nil
	}
	var fails []failure
	var handovers []handover
	span := startChild(ctx, c.deps.Tracer, "normalize")
	events, err := c.deps.Decoder.Decode(e.msg.Value, c.cfg.Formats[e.formatTopic()])
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("tripline.events", len(events)))
	}
	if err != nil {
		span.SetStatus(codes.Error, event.Reason(err))
		fails = append(fails, decodeFailures(err)...)
	}
	span.End()
	for i := range events {
		f, h := c.handleEvent(ctx, e, &events[i])
		for k := range f {
			// A failure about an event of a batch is dead-lettered with
			// that item alone.
			f[k].item, f[k].value = events[i].Item, events[i].ItemRaw
		}
		fails, handovers = append(fails, f...), append(handovers, h...)
	}
	return fails, handovers
}

// decodeFailures are the failures of a decode error: one per failed batch
// item (with the item's own bytes), or one for the whole message.
func decodeFailures(err error) []failure {
	var de *event.Error
	if errors.As(err, &de) && len(de.Items) > 0 {
		fails := make([]failure, 0, len(de.Items))
		for _, it := range de.Items {
			if it.Raw == nil {
				return []failure{{class: ClassDecode, reason: event.Reason(err), message: err.Error(), attempts: 1, first: time.Now()}}
			}
			fails = append(fails, failure{class: ClassDecode, reason: it.Err.Reason, message: it.Err.Error(), attempts: 1, first: time.Now(), item: it.Index + 1, value: it.Raw})
		}
		return fails
	}
	return []failure{{class: ClassDecode, reason: event.Reason(err), message: err.Error(), attempts: 1, first: time.Now()}}
}

// handleEvent checks an event's time and evaluates the rules on it: the
// failures (future-dated, rule errors) and the decisions to hand over.
func (c *Consumer) handleEvent(ctx context.Context, e *envelope, ev *event.Event) ([]failure, []handover) {
	c.eventDelay(ctx, e, ev)
	now := c.cfg.Now()
	if f := c.future(e, ev, now); f != nil {
		return []failure{*f}, nil
	}
	stale := c.stale(e, ev, now)
	span := startChild(ctx, c.deps.Tracer, "rules.evaluate")
	res := c.deps.Rules.Evaluate(ev)
	if span.IsRecording() {
		span.SetAttributes(attribute.String("tripline.event_id", ev.EventID), attribute.Int("tripline.decisions", len(res.Decisions)))
	}
	span.End()

	var fails []failure
	for _, re := range res.Errors {
		c.deps.Metrics.add(ctx, c.deps.Metrics.ruleErrors, "rule", re.RuleID)
		fails = append(fails, failure{class: ClassRuleError, ruleID: re.RuleID, message: re.Err.Error(), attempts: 1, first: time.Now()})
	}
	var out []handover
	for _, d := range res.Decisions {
		if d.Action == "" || d.Action == remediate.ActionNone {
			c.log.DebugContext(ctx, "decision needs no action", "rule_id", d.RuleID, "event_id", ev.EventID)
			continue
		}
		rd := decisionOf(e.msg, ev, d)
		rd.Stale, rd.RecordTime = stale, e.recordTime()
		out = append(out, handover{d: rd, item: ev.Item, value: ev.ItemRaw})
	}
	return fails, out
}

// eventDelay records how late the SIEM delivered a source event, from its
// own time to its Kafka record's timestamp (tripline_event_delay), once per
// event: a parked decision's event and a replayed one were counted when
// first read. An event or record without a time is not counted; an event
// dated after its record (the SIEM's clock ahead) counts as 0.
func (c *Consumer) eventDelay(ctx context.Context, e *envelope, ev *event.Event) {
	if e.kind != kindEvent || c.cfg.Replay != nil || ev.Time.IsZero() || e.msg.Time.IsZero() {
		return
	}
	c.deps.Metrics.eventDelay.Record(ctx, max(e.msg.Time.Sub(ev.Time), 0).Seconds(), c.deps.Metrics.topic(e.msg.Topic))
}

// decide hands one decision to the decider and turns its answer into the
// outcome it reached (zero when none: an answer that changed nothing, an
// interruption), a failure to dead-letter (nil when the decision reached
// an outcome), or an error: errShutdown to leave the message for
// redelivery, anything else to stop the consumer.
func (c *Consumer) decide(ctx, stop context.Context, h handover) (remediate.Outcome, *failure, error) {
	var out remediate.Outcome
	var err error
	if h.answer != nil {
		out, err = c.deps.Decider.Answer(remediate.WithStop(ctx, stop), *h.answer)
		if errors.Is(err, remediate.ErrApprovalUnknown) || errors.Is(err, remediate.ErrApprovalDecided) ||
			errors.Is(err, remediate.ErrApprovalExpired) || errors.Is(err, remediate.ErrAnswerRefused) ||
			errors.Is(err, remediate.ErrContainmentUnknown) {
			c.log.InfoContext(ctx, "answer changed nothing", "approval_id", h.answer.ApprovalID, "kind", string(h.answer.Kind), "by", h.answer.By, "reason", err.Error())
			return remediate.Outcome{}, nil, nil
		}
	} else {
		out, err = c.deps.Decider.Decide(remediate.WithStop(ctx, stop), h.d)
	}
	var f *remediate.Failure
	switch {
	case err == nil:
		if out.Result == remediate.ResultSuspended || out.Result == remediate.ResultReactivated {
			c.count(func(s *Stats) { s.Actions++ })
		}
		return out, nil, nil
	case errors.Is(err, remediate.ErrInterrupted) || ctx.Err() != nil:
		// The shutdown grace ran out mid-decision: leave the message for
		// redelivery rather than dead-letter a failure that is ours.
		return remediate.Outcome{}, nil, errShutdown
	case errors.As(err, &f):
		return out, &failure{class: f.Class, ruleID: h.d.RuleID, message: f.Error(), attempts: max(f.Attempts, 1), retryable: f.Retryable, first: time.Now(),
			item: h.item, value: h.value, userID: out.User.ID}, nil
	}
	return remediate.Outcome{}, nil, fmt.Errorf("decide on event %s (rule %s): %w", h.d.EventID, h.d.RuleID, err)
}

// refusalReason is the reason code of a refusal: the signature's
// (signing.Reason), future_time, or refused.
func refusalReason(err error) string {
	switch {
	case errors.Is(err, signing.ErrUnsigned), errors.Is(err, signing.ErrOtherKey),
		errors.Is(err, signing.ErrNoKey), errors.Is(err, signing.ErrBadSignature):
		return signing.Reason(err)
	case errors.Is(err, errFutureTime):
		return ReasonFutureTime
	case errors.Is(err, errRefusedBefore):
		return "refused_before"
	}
	return "refused"
}

// ReasonFutureTime is the decode reason of an event dated too far ahead.
const ReasonFutureTime = "future_time"

// future returns the failure of an event, or of the record it came in,
// dated more than MaxClockSkew ahead of now: such an event could fill a
// count() window so that real events no longer count.
func (c *Consumer) future(e *envelope, ev *event.Event, now time.Time) *failure {
	if c.cfg.MaxClockSkew <= 0 {
		return nil
	}
	limit := now.Add(c.cfg.MaxClockSkew)
	for _, t := range times(e, ev) {
		if !t.at.IsZero() && t.at.After(limit) {
			return &failure{class: ClassDecode, reason: ReasonFutureTime, attempts: 1, first: now,
				message: fmt.Sprintf("%s %s is more than %s (kafka max clock skew) ahead of the clock", t.what, t.at.UTC().Format(time.RFC3339), c.cfg.MaxClockSkew)}
		}
	}
	return nil
}

// stale says why an event, or the record it came in, is older than
// MaxEventAge ("" when it is not): its decisions act in shadow only. A
// parked decision is aged from its first failure instead (it was fresh
// enough when it first failed; Retry.Max, shorter than MaxEventAge, ends
// it with a dead-letter first).
func (c *Consumer) stale(e *envelope, ev *event.Event, now time.Time) string {
	if c.cfg.MaxEventAge <= 0 {
		return ""
	}
	limit := now.Add(-c.cfg.MaxEventAge)
	checked := times(e, ev)
	if e.kind == kindParked {
		checked = []dated{{"first failure", e.own.FirstFailure}}
	}
	for _, t := range checked {
		if !t.at.IsZero() && t.at.Before(limit) {
			return fmt.Sprintf("%s %s is older than %s (max event age)", t.what, t.at.UTC().Format(time.RFC3339), c.cfg.MaxEventAge)
		}
	}
	return ""
}

// dated is one of the times an event-time limit checks.
type dated struct {
	what string
	at   time.Time
}

// times are the event's time and its Kafka record's timestamp: for a
// replayed dead-letter record or a parked one, the original record's.
func times(e *envelope, ev *event.Event) []dated {
	return []dated{{"event time", ev.Time}, {"kafka record timestamp", e.recordTime()}}
}

// decisionOf is the decision service's view of a rule's decision. Every
// field of rules.Decision must reach it (TestDecisionOfCopiesEveryField).
func decisionOf(msg kafka.Message, ev *event.Event, d rules.Decision) remediate.Decision {
	return remediate.Decision{
		RuleID: d.RuleID, Mode: d.Mode, Action: d.Action,
		Identity: d.User, Reason: d.Reason, Severity: d.Severity,
		Cooldown: d.Cooldown, Grace: d.Grace,
		MaxActions:      remediate.Limit{Count: d.MaxActions.Count, Window: d.MaxActions.Window},
		ApprovalTimeout: d.ApprovalTimeout, SuspendFor: d.SuspendFor,
		EventID: ev.EventID, EventTime: ev.Time, UserEmail: ev.UserEmail, EventOPUserID: ev.OPUserID,
		Source: remediate.Source{Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset},
	}
}

// logAttrs is the log view of a failure.
func (f failure) logAttrs() []any {
	return []any{slog.String("class", f.class), slog.String("reason", f.reason), slog.String("rule_id", f.ruleID), slog.Int("attempts", f.attempts), slog.String("error", f.message)}
}

// noSpan is a span that records nothing.
var noSpan = trace.SpanFromContext(context.Background())

// startChild starts a child of ctx's span, or returns noSpan when that
// span is not recorded (no exporter, or the trace is not sampled): its
// children would not be recorded either, and starting them costs ids and
// allocations for every message. The trace id lives on in ctx's span.
func startChild(ctx context.Context, t trace.Tracer, name string) trace.Span {
	if !trace.SpanFromContext(ctx).IsRecording() {
		return noSpan
	}
	_, span := t.Start(ctx, name)
	return span
}
