package remediate

import (
	"context"
	"time"
)

// call is one decision on its way through the chain: what is known so far
// and the outcome being built.
type call struct {
	d   Decision
	now time.Time
	out Outcome
	// approval is set when the call carries out an approved action.
	approval *Approval
	// hold is the time of the breaker hold the call took (zero: none).
	hold time.Time
	// endDetail is the detail of a reactivation that ends a timed
	// suspension.
	endDetail string
	// answered is when the Users API last answered the call, by the
	// service's clock (zero: the call never reached the API).
	answered time.Time
}

// handler carries a call one step further. It returns nil when the call
// reached an outcome (c.out.Result is set), a *Failure to dead-letter, or
// another error that stops the consumer (a ledger write that failed,
// ErrInterrupted).
type handler func(ctx context.Context, c *call) error

// middleware wraps a handler with one step: a guard that may answer with an
// outcome instead of calling next, or a step that prepares the call.
type middleware func(next handler) handler

// chain composes middlewares around last; the first runs first.
func chain(last handler, mws ...middleware) handler {
	h := last
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}
