package notify

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Reasons a notification is dropped (the reason label of
// tripline_notifications_dropped).
const (
	DropQueueFull = "queue_full" // the sink's queue was full when Notify ran
	DropFailed    = "failed"     // retryable failures outlasted the retry budget
	DropRejected  = "rejected"   // the receiver refused it (4xx other than 429, Slack error code)
	DropShutdown  = "shutdown"   // Close's context ended before it was sent
	DropClosed    = "closed"     // Notify ran after Close
	DropInvalid   = "invalid"    // a notification without a known type (a wiring bug)
)

// metrics are the Notifier's instruments. Labels carry sink names, types
// and reasons only: never a user, an email, a URL or a secret.
type metrics struct {
	sent    metric.Int64Counter
	dropped metric.Int64Counter
}

func newMetrics(meter metric.Meter) (*metrics, error) {
	if meter == nil {
		meter = noop.NewMeterProvider().Meter("tripline")
	}
	m := &metrics{}
	var err error
	if m.sent, err = meter.Int64Counter("tripline_notifications_sent",
		metric.WithDescription("Notifications delivered, by sink (slack, webhook, pagerduty) and type.")); err != nil {
		return nil, err
	}
	if m.dropped, err = meter.Int64Counter("tripline_notifications_dropped",
		metric.WithDescription("Notifications not delivered, by sink and reason (queue_full, failed, rejected, shutdown, closed, invalid).")); err != nil {
		return nil, err
	}
	return m, nil
}

func labels(kv ...string) metric.MeasurementOption {
	a := make([]attribute.KeyValue, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		a = append(a, attribute.String(kv[i], kv[i+1]))
	}
	return metric.WithAttributes(a...)
}
