package directory

import (
	"context"

	"go.opentelemetry.io/otel/metric"
)

// RegisterMetrics exports the directory's figures on meter:
// tripline_directory_users (users in the current listing; 0 is worth an
// alert) and tripline_directory_conflicts (emails two or more users share
// once folded: tripline acts on none of them by email).
func (d *Directory) RegisterMetrics(meter metric.Meter) error {
	users, err := meter.Int64ObservableGauge("tripline_directory_users", metric.WithDescription("1Password users in the directory's current listing."))
	if err != nil {
		return err
	}
	conflicts, err := meter.Int64ObservableGauge("tripline_directory_conflicts",
		metric.WithDescription("Email addresses that two or more users of the account share once case and Unicode forms are folded: tripline acts on none of those users by email."))
	if err != nil {
		return err
	}
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(users, int64(d.Len()))
		o.ObserveInt64(conflicts, int64(d.Conflicts()))
		return nil
	}, users, conflicts)
	return err
}
