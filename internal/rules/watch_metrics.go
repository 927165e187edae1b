package rules

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// RegisterMetrics exports the watcher's figures on meter:
// tripline_rules_reloads_total{result} (loaded, rejected) and
// tripline_protected_entries (the protected identities in force, whose fall
// is worth an alert).
func (w *Watcher) RegisterMetrics(meter metric.Meter) error {
	reloads, err := meter.Int64ObservableCounter("tripline_rules_reloads", metric.WithDescription("Rule set loads, by result (loaded, rejected)."))
	if err != nil {
		return err
	}
	protected, err := meter.Int64ObservableGauge("tripline_protected_entries",
		metric.WithDescription("Entries of the protected-identities list in force (rules/protected.yaml: emails, domains, globs, user_ids), which the decision service never acts on."))
	if err != nil {
		return err
	}
	loadedAttr := metric.WithAttributes(attribute.String("result", "loaded"))
	rejectedAttr := metric.WithAttributes(attribute.String("result", "rejected"))
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		loaded, rejected := w.Stats()
		o.ObserveInt64(reloads, int64(loaded), loadedAttr)
		o.ObserveInt64(reloads, int64(rejected), rejectedAttr)
		o.ObserveInt64(protected, int64(w.Current().Protected().Len()))
		return nil
	}, reloads, protected)
	return err
}
