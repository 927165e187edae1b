package pipeline

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/tripline-dev/tripline/internal/remediate"
)

// Metrics are the instruments the pipeline records (the decision service
// records decisions, outcomes, Users API latency and the time to action,
// from the record time the pipeline puts in each decision). Labels never
// carry emails or user ids: only topics, partitions, rule ids and error
// classes.
type Metrics struct {
	consumed    metric.Int64Counter
	dlq         metric.Int64Counter
	ruleErrors  metric.Int64Counter
	commits     metric.Int64Counter
	fetchErrors metric.Int64Counter
	lag         metric.Int64Gauge
	parked      metric.Int64Counter
	parkAge     metric.Float64Gauge
	eventDelay  metric.Float64Histogram

	// topics holds the topic attribute of each source topic (a
	// metric.MeasurementOption), built once: the per-event instruments
	// record on every core.
	topics sync.Map
}

// NewMetrics creates the instruments on meter (a no-op meter when nil).
func NewMetrics(meter metric.Meter) (*Metrics, error) {
	if meter == nil {
		meter = noop.NewMeterProvider().Meter("tripline")
	}
	m := &Metrics{}
	var err error
	counter := func(name, desc string) metric.Int64Counter {
		if err != nil {
			return nil
		}
		var c metric.Int64Counter
		c, err = meter.Int64Counter(name, metric.WithDescription(desc))
		return c
	}
	m.consumed = counter("tripline_messages_consumed", "Messages fetched from the source topics.")
	m.dlq = counter("tripline_dlq_records", "Records written to the dead-letter topic, by error class.")
	m.ruleErrors = counter("tripline_rule_errors", "Runtime errors of rules, by rule.")
	m.commits = counter("tripline_offset_commits", "Offset commits sent to the broker.")
	m.fetchErrors = counter("tripline_fetch_errors", "Failed fetches from the broker (each is retried with backoff).")
	m.parked = counter("tripline_retry_parked", "Decisions parked on the retry topic after a retryable failure, by error class.")
	if err != nil {
		return nil, err
	}
	if m.lag, err = meter.Int64Gauge("tripline_consumer_lag", metric.WithDescription("Messages behind the partition's high-water mark, at the last fetch.")); err != nil {
		return nil, err
	}
	if m.parkAge, err = meter.Float64Gauge("tripline_retry_park_age_seconds", metric.WithUnit("s"),
		metric.WithDescription("Time since the first failure of the parked decision last read from the retry topic, by partition (how many wait: tripline_consumer_lag of the retry topic).")); err != nil {
		return nil, err
	}
	if m.eventDelay, err = meter.Float64Histogram("tripline_event_delay", metric.WithUnit("s"),
		metric.WithDescription("How late the SIEM delivers: time from each source event's own time to its Kafka record's timestamp, by topic."),
		metric.WithExplicitBucketBoundaries(remediate.DelayBuckets()...)); err != nil {
		return nil, err
	}
	return m, nil
}

// topic is the measurement option of a topic attribute.
func (m *Metrics) topic(topic string) metric.MeasurementOption {
	if o, ok := m.topics.Load(topic); ok {
		return o.(metric.MeasurementOption)
	}
	o, _ := m.topics.LoadOrStore(topic, attrs("topic", topic))
	return o.(metric.MeasurementOption)
}

func attrs(kv ...string) metric.MeasurementOption {
	a := make([]attribute.KeyValue, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		a = append(a, attribute.String(kv[i], kv[i+1]))
	}
	return metric.WithAttributes(a...)
}

func (m *Metrics) add(ctx context.Context, c metric.Int64Counter, kv ...string) {
	c.Add(ctx, 1, attrs(kv...))
}
