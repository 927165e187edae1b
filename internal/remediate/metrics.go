package remediate

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// metrics are the decision service's instruments. Labels never carry
// emails or user ids: rule ids, modes, actions, outcomes and scopes only.
type metrics struct {
	decisions       metric.Int64Counter
	retries         metric.Int64Counter
	apiLatency      metric.Float64Histogram
	timeToAction    metric.Float64Histogram
	answersRefused  metric.Int64Counter
	containmentEnds metric.Int64Counter
}

func newMetrics(meter metric.Meter, s *Service) (*metrics, error) {
	if meter == nil {
		meter = noop.NewMeterProvider().Meter("tripline")
	}
	m := &metrics{}
	var err error
	if m.decisions, err = meter.Int64Counter("tripline_decisions",
		metric.WithDescription("Rule decisions by rule, mode, action and outcome (suspended, shadow, blocked_protected, duplicate, breaker_open, failed, ...).")); err != nil {
		return nil, err
	}
	if m.retries, err = meter.Int64Counter("tripline_retries", metric.WithDescription("Retries of transient Users API failures, by operation.")); err != nil {
		return nil, err
	}
	if m.answersRefused, err = meter.Int64Counter("tripline_answers_refused",
		metric.WithDescription("Signed answers to pending approvals refused, by reason (mismatch: they name another approval; replayed: their nonce was applied before; expired; future: dated ahead of the clock).")); err != nil {
		return nil, err
	}
	for _, reason := range []string{AnswerRefusedMismatch, AnswerRefusedReplayed, AnswerRefusedExpired, AnswerRefusedFuture} {
		m.answersRefused.Add(context.Background(), 0, attrs("reason", reason)) // exported from the start, so rates and alerts see 0
	}
	if m.apiLatency, err = meter.Float64Histogram("tripline_api_latency", metric.WithUnit("s"),
		metric.WithDescription("Latency of one Users API attempt (lookup, get, suspend, reactivate)."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)); err != nil {
		return nil, err
	}
	if m.timeToAction, err = meter.Float64Histogram("tripline_time_to_action", metric.WithUnit("s"),
		metric.WithDescription("Time from the Kafka record's timestamp of an event to the Users API's answer that settled its decision, by action and result "+
			"(suspended, already_suspended, reactivated, already_active, containment_extended, failed); a parked decision counts from its original record. "+
			"Approved actions and ends of timed suspensions are not timed."),
		metric.WithExplicitBucketBoundaries(DelayBuckets()...)); err != nil {
		return nil, err
	}
	open, err := meter.Int64ObservableGauge("tripline_breaker_open",
		metric.WithDescription("1 while a blast-radius breaker scope is open (held until re-armed), 0 once re-armed."))
	if err != nil {
		return nil, err
	}
	pending, err := meter.Int64ObservableGauge("tripline_approvals_pending",
		metric.WithDescription("Pending actions of approve rules waiting for an answer."))
	if err != nil {
		return nil, err
	}
	if m.containmentEnds, err = meter.Int64Counter("tripline_containment_ends",
		metric.WithDescription("Timed suspensions that ended, by result (reactivated: the time was up; kept: a person made it permanent; lifted: a person ended it early; refused: no undo, a person intervened or it was no longer tripline's suspension).")); err != nil {
		return nil, err
	}
	for _, r := range []string{EndReactivated, EndKept, EndLifted, EndRefused} {
		m.containmentEnds.Add(context.Background(), 0, attrs("result", r))
	}
	if err := containmentGauges(meter, s); err != nil {
		return nil, err
	}
	refused, err := meter.Int64ObservableCounter("tripline_state_records_refused",
		metric.WithDescription("State topic records refused, by reason (unsigned, other_key, bad_signature, oversized, undecodable, future_time): each is ignored for every decision."))
	if err != nil {
		return nil, err
	}
	waiting, err := meter.Int64ObservableGauge("tripline_breaker_waiting",
		metric.WithDescription("Suspension decisions waiting for breaker holds in flight (on any instance) to be confirmed or released: near a cap, whether those succeed decides whether these may act."))
	if err != nil {
		return nil, err
	}
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(pending, int64(s.ledger.PendingApprovals()))
		o.ObserveInt64(waiting, int64(s.ledger.Waiting()))
		for reason, n := range s.ledger.RefusedCounts() {
			o.ObserveInt64(refused, n, metric.WithAttributes(attribute.String("reason", reason)))
		}
		seenGlobal := false
		for _, b := range s.ledger.Breakers() {
			seenGlobal = seenGlobal || b.Scope == ScopeGlobal
			o.ObserveInt64(open, boolInt(b.Open), metric.WithAttributes(attribute.String("scope", b.Scope)))
		}
		if !seenGlobal {
			o.ObserveInt64(open, 0, metric.WithAttributes(attribute.String("scope", ScopeGlobal)))
		}
		return nil
	}, open, pending, waiting, refused)
	return m, err
}

// DelayBuckets are the bucket boundaries, in seconds, of the histograms of
// delays from an event to tripline (tripline_event_delay_seconds) and from
// an event to its action (tripline_time_to_action_seconds): tens of
// milliseconds, finely up to a second (the consumer's own share, and the
// Users API's: a goal of 100 ms plus the API's latency must read as such
// on a p99), then up to ten minutes (a SIEM that delivers late, a decision
// parked on the retry topic), with a boundary at the alert's 30 s.
func DelayBuckets() []float64 {
	return []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func attrs(kv ...string) metric.MeasurementOption {
	a := make([]attribute.KeyValue, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		a = append(a, attribute.String(kv[i], kv[i+1]))
	}
	return metric.WithAttributes(a...)
}

// containmentGauges exports the timed suspensions and exceptions in force,
// and how late the most overdue end is.
func containmentGauges(meter metric.Meter, s *Service) error {
	active, err := meter.Int64ObservableGauge("tripline_containments_active", metric.WithDescription("Users under a timed suspension tripline will undo."))
	if err != nil {
		return err
	}
	overdue, err := meter.Float64ObservableGauge("tripline_containment_overdue", metric.WithUnit("s"),
		metric.WithDescription("How long past its end the most overdue timed suspension still is (0: none): an end that does not happen is worth an alert."))
	if err != nil {
		return err
	}
	exceptions, err := meter.Int64ObservableGauge("tripline_exceptions_active", metric.WithDescription("Exceptions in force: users spared from a rule until they expire."))
	if err != nil {
		return err
	}
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		now := s.now()
		cs := s.ledger.Containments()
		late := 0.0
		for _, c := range cs {
			late = max(late, now.Sub(c.Ends).Seconds())
		}
		o.ObserveInt64(active, int64(len(cs)))
		o.ObserveFloat64(overdue, late)
		n := 0
		for _, x := range s.ledger.Exceptions() {
			if x.Active(now) {
				n++
			}
		}
		o.ObserveInt64(exceptions, int64(n))
		return nil
	}, active, overdue, exceptions)
	return err
}
