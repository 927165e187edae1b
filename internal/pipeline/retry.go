package pipeline

import (
	"context"
	"errors"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// RetryPolicy bounds the retries of one action: exponential backoff with
// jitter, at most MaxAttempts attempts and MaxElapsed in all. A Retry-After
// from the API stretches the next wait; a wait that would end past the
// budget ends the retries at once.
type RetryPolicy struct {
	InitialInterval time.Duration
	MaxInterval     time.Duration
	MaxElapsed      time.Duration
	MaxAttempts     int
}

func (p *RetryPolicy) setDefaults() {
	if p.InitialInterval <= 0 {
		p.InitialInterval = 250 * time.Millisecond
	}
	if p.MaxInterval < p.InitialInterval {
		p.MaxInterval = max(10*time.Second, p.InitialInterval)
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = time.Minute
	}
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 8
	}
}

// errShutdown ends a retry loop when the consumer is shutting down; the
// message is left uncommitted and redelivered.
var errShutdown = errors.New("shutting down")

// retryable is implemented by errors that may succeed when tried again
// (onepassword.APIError and its network errors).
type retryable interface{ Retryable() bool }

// retryAfter is implemented by errors that carry the server's Retry-After.
type retryAfter interface{ RetryAfterDelay() time.Duration }

// isRetryable reports whether err is marked retryable.
func isRetryable(err error) bool {
	var r retryable
	return errors.As(err, &r) && r.Retryable()
}

// retry calls op until it succeeds, fails permanently, or the policy's
// budget is spent; it returns the last error and the number of attempts.
// stop ends the waits early (shutdown) with errShutdown; ctx bounds op.
func (p RetryPolicy) retry(ctx, stop context.Context, op func(ctx context.Context) error, onRetry func(err error, wait time.Duration)) (attempts int, err error) {
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(p.InitialInterval),
		backoff.WithMaxInterval(p.MaxInterval),
		backoff.WithMaxElapsedTime(p.MaxElapsed),
		backoff.WithRandomizationFactor(0.3),
	)
	start := time.Now()
	for {
		attempts++
		err = op(ctx)
		if err == nil || !isRetryable(err) || attempts >= p.MaxAttempts {
			return attempts, err
		}
		wait := b.NextBackOff()
		if wait == backoff.Stop {
			return attempts, err
		}
		var ra retryAfter
		if errors.As(err, &ra) && ra.RetryAfterDelay() > wait {
			wait = ra.RetryAfterDelay()
		}
		if time.Since(start)+wait > p.MaxElapsed {
			return attempts, err
		}
		onRetry(err, wait)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-stop.Done():
			t.Stop()
			return attempts, errShutdown
		case <-ctx.Done():
			t.Stop()
			return attempts, ctx.Err()
		}
	}
}
