package remediate

import (
	"context"
	"errors"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// RetryPolicy bounds the retries of one Users API call: exponential backoff
// with jitter, at most MaxAttempts attempts and MaxElapsed in all. A
// Retry-After from the API stretches the next wait; a wait that would end
// past the budget ends the retries at once.
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

type stopKey struct{}

// WithStop returns a context whose retry waits end early, with
// ErrInterrupted, once stop is done (the consumer is shutting down), while
// calls already in flight keep ctx's own deadline. The pipeline uses it so
// that a shutdown does not wait out a backoff.
func WithStop(ctx, stop context.Context) context.Context {
	return context.WithValue(ctx, stopKey{}, stop)
}

func stopOf(ctx context.Context) <-chan struct{} {
	if s, ok := ctx.Value(stopKey{}).(context.Context); ok {
		return s.Done()
	}
	return nil
}

// retry calls op until it succeeds, fails permanently, or the budget is
// spent; it returns the number of attempts and the last error. onRetry is
// told about each wait. A shutdown during a wait returns ErrInterrupted;
// ctx's end returns ErrInterrupted wrapping ctx's error.
func (p RetryPolicy) retry(ctx context.Context, op func(context.Context) error, onRetry func(err error, wait time.Duration)) (attempts int, err error) {
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
		if err != nil && ctx.Err() != nil {
			return attempts, errors.Join(ErrInterrupted, ctx.Err())
		}
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
		case <-stopOf(ctx):
			t.Stop()
			return attempts, ErrInterrupted
		case <-ctx.Done():
			t.Stop()
			return attempts, errors.Join(ErrInterrupted, ctx.Err())
		}
	}
}
