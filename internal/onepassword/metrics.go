package onepassword

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// RegisterMetrics exports the client's token figures on meter:
// tripline_token_requests_total{result} (issued; refused: the credentials
// were refused; unavailable: no usable answer) and, from then on,
// tripline_token_revocations_total{result} (ok, error) for each Revoke that
// had a token to revoke.
func (c *Client) RegisterMetrics(meter metric.Meter) error {
	revocations, err := meter.Int64Counter("tripline_token_revocations", metric.WithDescription("Users API token revocations on shutdown, by result (ok, error)."))
	if err != nil {
		return err
	}
	tokens, err := meter.Int64ObservableCounter("tripline_token_requests",
		metric.WithDescription("Users API token requests to the OAuth token endpoint, by result (issued; refused: the credentials were refused; unavailable: no usable answer)."))
	if err != nil {
		return err
	}
	issued := metric.WithAttributes(attribute.String("result", "issued"))
	refused := metric.WithAttributes(attribute.String("result", "refused"))
	unavailable := metric.WithAttributes(attribute.String("result", "unavailable"))
	if _, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := c.TokenStats()
		o.ObserveInt64(tokens, st.Issued, issued)
		o.ObserveInt64(tokens, st.Refused, refused)
		o.ObserveInt64(tokens, st.Unavailable, unavailable)
		return nil
	}, tokens); err != nil {
		return err
	}
	c.revocations.Store(&revocations)
	return nil
}

// countRevocation counts one revocation by result, once metrics are
// registered.
func (c *Client) countRevocation(ctx context.Context, err error) {
	counter := c.revocations.Load()
	if counter == nil {
		return
	}
	result := "ok"
	if err != nil {
		result = "error"
	}
	(*counter).Add(ctx, 1, metric.WithAttributes(attribute.String("result", result)))
}

// revocationCounter holds the revocations counter once registered.
type revocationCounter = atomic.Pointer[metric.Int64Counter]
