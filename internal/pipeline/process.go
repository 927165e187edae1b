package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/rules"
)

// process takes one message to a final outcome. It returns nil when the
// message may be committed, errShutdown when it must be left for
// redelivery, and any other error when the consumer must stop.
func (c *Consumer) process(ctx, stop context.Context, msg kafka.Message) error {
	ctx = c.deps.Propagator.Extract(ctx, HeaderCarrier{&msg.Headers})
	ctx, span := c.deps.Tracer.Start(ctx, "process "+msg.Topic,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.destination.name", msg.Topic),
			attribute.Int("messaging.destination.partition.id", msg.Partition),
			attribute.Int64("messaging.kafka.offset", msg.Offset),
		))
	defer span.End()

	fails, err := c.handleSafely(ctx, stop, msg)
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
		return err
	}
	if len(fails) == 0 {
		return nil
	}
	span.SetStatus(codes.Error, fails[0].class)
	return c.deadLetter(ctx, msg, fails)
}

// handleSafely runs handle and turns a panic into a failure of class panic,
// so a poison message is dead-lettered instead of crashing the consumer.
func (c *Consumer) handleSafely(ctx, stop context.Context, msg kafka.Message) (fails []failure, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.ErrorContext(ctx, "panic while processing a message", "topic", msg.Topic, "partition", msg.Partition, "offset", msg.Offset, "panic", fmt.Sprint(r))
			fails = append(fails, failure{class: ClassPanic, message: fmt.Sprintf("panic: %v", r), attempts: 1, first: time.Now()})
			err = nil
		}
	}()
	return c.handle(ctx, stop, msg)
}

// handle decodes, evaluates and acts on one message. It returns the
// failures to dead-letter, and an error only for shutdown or a failed
// audit write.
func (c *Consumer) handle(ctx, stop context.Context, msg kafka.Message) ([]failure, error) {
	var fails []failure
	_, span := c.deps.Tracer.Start(ctx, "normalize")
	events, err := c.deps.Decoder.Decode(msg.Value, c.cfg.Formats[msg.Topic])
	span.SetAttributes(attribute.Int("tripline.events", len(events)))
	if err != nil {
		span.SetStatus(codes.Error, event.Reason(err))
		fails = append(fails, failure{class: ClassDecode, reason: event.Reason(err), message: err.Error(), attempts: 1, first: time.Now()})
	}
	span.End()
	for i := range events {
		f, err := c.handleEvent(ctx, stop, msg, &events[i])
		fails = append(fails, f...)
		if err != nil {
			return fails, err
		}
	}
	return fails, nil
}

func (c *Consumer) handleEvent(ctx, stop context.Context, msg kafka.Message, ev *event.Event) ([]failure, error) {
	_, span := c.deps.Tracer.Start(ctx, "rules.evaluate", trace.WithAttributes(attribute.String("tripline.event_id", ev.EventID)))
	res := c.deps.Rules.Evaluate(ev)
	span.SetAttributes(attribute.Int("tripline.decisions", len(res.Decisions)))
	span.End()

	var fails []failure
	for _, re := range res.Errors {
		c.deps.Metrics.add(ctx, c.deps.Metrics.ruleErrors, "rule", re.RuleID)
		fails = append(fails, failure{class: ClassRuleError, ruleID: re.RuleID, message: re.Err.Error(), attempts: 1, first: time.Now()})
	}
	for _, d := range res.Decisions {
		c.deps.Metrics.add(ctx, c.deps.Metrics.decisions, "rule", d.RuleID, "mode", d.Mode, "action", d.Action)
		c.count(func(s *Stats) { s.Decisions++ })
		f, err := c.decide(ctx, stop, msg, ev, d)
		if err != nil {
			return fails, err
		}
		if f != nil {
			fails = append(fails, *f)
		}
	}
	return fails, nil
}

// decide carries out one decision: shadow decisions are recorded, enforce
// decisions executed (with retries) and recorded.
func (c *Consumer) decide(ctx, stop context.Context, msg kafka.Message, ev *event.Event, d rules.Decision) (*failure, error) {
	if d.Suppressed || d.Action == "" || d.Action == "none" {
		c.log.DebugContext(ctx, "decision needs no action", "rule_id", d.RuleID, "event_id", ev.EventID, "suppressed", d.Suppressed)
		return nil, nil
	}
	rec := AuditRecord{
		Time: time.Now().UTC(), EventID: ev.EventID, RuleID: d.RuleID, Mode: d.Mode, Action: d.Action,
		Identity: d.User, UserEmail: ev.UserEmail, Reason: d.Reason, TraceID: traceID(ctx),
		Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset,
	}
	if d.Mode != rules.ModeEnforce {
		rec.Result = string(remediate.ResultShadow)
		return nil, c.record(ctx, rec)
	}
	req := remediate.Request{Action: remediate.Action(d.Action), Identity: d.User, RuleID: d.RuleID, EventID: ev.EventID, Reason: d.Reason}
	out, attempts, err := c.act(ctx, stop, req)
	if errors.Is(err, errShutdown) || ctx.Err() != nil {
		// The shutdown grace ran out mid-action: leave the message for
		// redelivery rather than dead-letter a failure that is ours.
		return nil, errShutdown
	}
	rec.Result, rec.UserID = string(out.Result), out.User.ID
	if out.User.Email != "" {
		rec.UserEmail = out.User.Email
	}
	var f *failure
	if err != nil {
		rec.Result = string(remediate.ResultFailed)
		if out.Result == remediate.ResultBlocked {
			rec.Result = string(remediate.ResultBlocked)
		}
		rec.Error = err.Error()
		f = classify(err, attempts)
		f.ruleID = d.RuleID
	}
	return f, c.record(ctx, rec)
}

// act executes a request under the retry policy.
func (c *Consumer) act(ctx, stop context.Context, req remediate.Request) (remediate.Outcome, int, error) {
	ctx, span := c.deps.Tracer.Start(ctx, "remediate."+string(req.Action),
		trace.WithAttributes(attribute.String("tripline.rule_id", req.RuleID), attribute.String("tripline.event_id", req.EventID)))
	defer span.End()
	var out remediate.Outcome
	m := c.deps.Metrics
	attempts, err := c.cfg.Retry.retry(ctx, stop, func(ctx context.Context) error {
		start := time.Now()
		var err error
		out, err = c.deps.Executor.Execute(ctx, req)
		status := "ok"
		if err != nil {
			status = "error"
		}
		m.apiLatency.Record(ctx, time.Since(start).Seconds(), attrs("action", string(req.Action), "status", status))
		return err
	}, func(err error, wait time.Duration) {
		m.add(ctx, m.retries, "action", string(req.Action))
		c.log.WarnContext(ctx, "retrying a transient Users API failure", "rule_id", req.RuleID, "event_id", req.EventID, "wait", wait.String(), "error", err.Error())
	})
	span.SetAttributes(attribute.Int("tripline.attempts", attempts), attribute.String("tripline.result", string(out.Result)))
	if out.User.ID != "" {
		span.SetAttributes(attribute.String("tripline.op_user_id", out.User.ID))
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return out, attempts, err
}

func (c *Consumer) record(ctx context.Context, rec AuditRecord) error {
	c.deps.Metrics.add(ctx, c.deps.Metrics.actions, "action", rec.Action, "result", rec.Result, "mode", rec.Mode)
	c.count(func(s *Stats) { s.Actions++ })
	if err := c.deps.Recorder.Record(ctx, rec); err != nil {
		return fmt.Errorf("record outcome of event %s: %w", rec.EventID, err)
	}
	return nil
}

func traceID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		return sc.TraceID().String()
	}
	return ""
}

// logAttrsOf is the log view of a failure.
func (f failure) logAttrs() []any {
	return []any{slog.String("class", f.class), slog.String("reason", f.reason), slog.String("rule_id", f.ruleID), slog.Int("attempts", f.attempts), slog.String("error", f.message)}
}
