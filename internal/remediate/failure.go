package remediate

import (
	"context"
	"errors"
	"time"
)

// Dead-letter classes of the failures Decide returns.
const (
	ClassUserNotFound     = "user_not_found"          // the identity is not a user of the account
	ClassCannotSuspend    = "cannot_suspend"          // last owner, externally managed administrator
	ClassPermissionDenied = "permission_denied"       // the OAuth application lacks the permission
	ClassRetriesExhausted = "retries_exhausted"       // transient failures outlasted the retry budget
	ClassAPIError         = "api_error"               // another permanent Users API error
	ClassBreakerOpen      = string(ResultBreakerOpen) // held by an open breaker, replay after review
	ClassInvalid          = "invalid_decision"        // a decision the service cannot carry out (unknown action)
	ClassIdentityMismatch = "identity_mismatch"       // the event's email and 1Password user id are two different users
	ClassAmbiguous        = "ambiguous_identity"      // the identity names more than one user of the account
)

// Failure is a decision that could not reach an acting outcome and must be
// dead-lettered with its class. It is the only error kind Decide returns
// besides ErrInterrupted and a failed ledger or audit write.
type Failure struct {
	Class     string
	Retryable bool
	Attempts  int
	Err       error
}

// Error returns the underlying error's message.
func (f *Failure) Error() string { return f.Err.Error() }

// Unwrap returns the underlying error.
func (f *Failure) Unwrap() error { return f.Err }

// classify turns an error of the ports into a Failure, once, by behaviour.
func classify(err error, attempts int) *Failure {
	f := &Failure{Err: err, Attempts: attempts}
	switch {
	case errors.Is(err, ErrAmbiguousIdentity):
		f.Class = ClassAmbiguous
	case errors.Is(err, ErrUserNotFound):
		f.Class = ClassUserNotFound
	case errors.Is(err, ErrCannotSuspend):
		f.Class = ClassCannotSuspend
	case errors.Is(err, ErrPermissionDenied):
		f.Class = ClassPermissionDenied
	case isRetryable(err) || errors.Is(err, context.DeadlineExceeded):
		f.Class, f.Retryable = ClassRetriesExhausted, true
	default:
		f.Class = ClassAPIError
	}
	return f
}

// retryable is implemented by errors that may succeed when tried again.
type retryable interface{ Retryable() bool }

// retryAfter is implemented by errors that carry the server's Retry-After.
type retryAfter interface{ RetryAfterDelay() time.Duration }

func isRetryable(err error) bool {
	var r retryable
	return errors.As(err, &r) && r.Retryable()
}
