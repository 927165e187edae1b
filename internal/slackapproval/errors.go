package slackapproval

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/slack-go/slack"

	"github.com/tripline-dev/tripline/internal/secret"
)

// Errors a Decider returns; see Decider for their meaning.
var (
	// ErrAlreadyDecided means an earlier answer won. Return an
	// *AlreadyDecidedError to let the Handler say who answered and when.
	ErrAlreadyDecided = errors.New("pending action already decided")
	// ErrExpired means the action expired before the answer: it was denied
	// and is never executed.
	ErrExpired = errors.New("pending action expired")
	// ErrUnknown means no pending action has this id.
	ErrUnknown = errors.New("unknown pending action")
)

// AlreadyDecidedError is ErrAlreadyDecided with the answer that won.
// errors.Is(err, ErrAlreadyDecided) is true for it.
type AlreadyDecidedError struct {
	// Outcome is the first answer, the one that counts.
	Outcome Outcome
}

// Error implements error.
func (e *AlreadyDecidedError) Error() string {
	verb := "denied"
	if e.Outcome.Approved {
		verb = "approved"
	}
	return fmt.Sprintf("pending action already %s by %s at %s", verb, e.Outcome.By, clock(e.Outcome.At))
}

// Is reports whether target is ErrAlreadyDecided.
func (e *AlreadyDecidedError) Is(target error) bool { return target == ErrAlreadyDecided }

// APIError is a failed Slack Web API (or response_url) call. Its text never
// contains the bot token or a response_url.
type APIError struct {
	// Method is the Web API method ("chat.postMessage") or "response_url".
	Method string
	// Code is Slack's error code ("channel_not_found", "not_in_channel",
	// "invalid_auth", "missing_scope", "ratelimited"), or "" when no Slack
	// answer was read.
	Code string
	// Status is the HTTP status when the call failed on it, else 0.
	Status int
	// RetryAfter is Slack's Retry-After for a rate-limited call.
	RetryAfter time.Duration
	msg        string
}

// Error implements error.
func (e *APIError) Error() string {
	if e.msg == "" {
		return "slack " + e.Method + ": " + e.Code
	}
	return "slack " + e.Method + ": " + e.msg
}

// Retryable reports whether the same call may succeed later: a rate limit,
// a server error, a timeout or a transport failure. Configuration errors
// (bad token, missing scope, unknown channel) are not retryable.
func (e *APIError) Retryable() bool {
	switch {
	case e.Code == "ratelimited", e.Status >= http.StatusInternalServerError:
		return true
	case e.Code == "internal_error", e.Code == "fatal_error", e.Code == "service_unavailable", e.Code == "request_timeout":
		return true
	}
	return e.Code == "" && e.Status == 0
}

// newAPIError classifies err from slack-go and rebuilds its text with every
// secret (and every response_url) removed. It does not wrap err, so no
// unredacted text is reachable through errors.Unwrap.
func newAPIError(method string, err error, secrets ...secret.Value) *APIError {
	e := &APIError{Method: method}
	var (
		slackErr slack.SlackErrorResponse
		rateErr  *slack.RateLimitedError
		codeErr  slack.StatusCodeError
	)
	switch {
	case errors.As(err, &rateErr):
		e.Code, e.Status, e.RetryAfter = "ratelimited", http.StatusTooManyRequests, rateErr.RetryAfter
		e.msg = fmt.Sprintf("rate limited, retry after %s", rateErr.RetryAfter)
	case errors.As(err, &slackErr):
		e.Code = secret.Redact(slackErr.Err, secrets...)
		if slackErr.Needed != "" {
			e.msg = fmt.Sprintf("%s (needed scope %s)", e.Code, secret.Redact(slackErr.Needed, secrets...))
		}
	case errors.As(err, &codeErr):
		e.Status = codeErr.Code
		e.msg = fmt.Sprintf("http status %d", codeErr.Code)
	default:
		e.msg = secret.Redact(err.Error(), secrets...)
	}
	return e
}
