package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tripline-dev/tripline/internal/retryafter"
	"github.com/tripline-dev/tripline/internal/secret"
)

// SendError is how a sink's delivery attempt failed: its text is redacted
// (no URL path or query, no token, key or secret), Retryable says whether
// another attempt may succeed (network errors, 429, 5xx) and RetryAfter is
// the wait the receiver asked for. OnFailed receives it, wrapped.
type SendError struct {
	// Sink is the sink's name (slack, webhook, pagerduty).
	Sink string
	// Status is the HTTP status of the answer, 0 when there was none.
	Status int
	// RetryAfter is the receiver's Retry-After, 0 when absent.
	RetryAfter time.Duration
	msg        string
	retryable  bool
	cause      error // redacted or free of secrets; nil for an HTTP answer
}

// Error returns the redacted message.
func (e *SendError) Error() string { return e.msg }

// Unwrap returns the cause without any URL (context errors, net errors).
func (e *SendError) Unwrap() error { return e.cause }

// Retryable reports whether another attempt may succeed.
func (e *SendError) Retryable() bool { return e.retryable }

// RetryAfterDelay is the wait the receiver asked for.
func (e *SendError) RetryAfterDelay() time.Duration { return e.RetryAfter }

// maxErrorBody bounds what is read of an error answer's body.
const maxErrorBody = 512

// transportError turns an error of an HTTP round trip into a SendError.
// *url.Error quotes the full URL, which is a credential for webhooks, so
// only its inner error is kept, with where naming the target. Context
// cancellation (shutdown) is not retried.
func transportError(sink, where string, err error, secrets ...secret.Value) *SendError {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	retryable := !errors.Is(err, context.Canceled)
	return &SendError{
		Sink: sink, retryable: retryable,
		msg:   fmt.Sprintf("%s: post %s: %s", sink, where, secret.Redact(err.Error(), secrets...)),
		cause: redactedCause(err, secrets...),
	}
}

// statusError turns a non-success HTTP answer into a SendError: 429 and
// 5xx are retryable, every other status is not.
func statusError(sink, where string, resp *http.Response, now time.Time, secrets ...secret.Value) *SendError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	body := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "")), " ")
	msg := fmt.Sprintf("%s: post %s: %s", sink, where, resp.Status)
	if body != "" {
		msg += ": " + secret.Redact(body, secrets...)
	}
	code := resp.StatusCode
	return &SendError{
		Sink: sink, Status: code, msg: msg,
		retryable:  code == http.StatusTooManyRequests || code >= 500,
		RetryAfter: retryafter.Parse(resp.Header.Get("Retry-After"), now),
	}
}

// redactedCause keeps err in the chain when its text holds no secret
// (so errors.Is works on context and net errors), else a redacted copy.
func redactedCause(err error, secrets ...secret.Value) error {
	if s := err.Error(); secret.Redact(s, secrets...) != s {
		return errors.New(secret.Redact(s, secrets...))
	}
	return err
}

// urlSecrets lists the forms of a URL holding a credential that an error
// text could quote: the whole URL, its path and query when they are long
// enough to hold a token, and each path segment that is long enough to be
// one (the last segment of a Slack incoming webhook's path is its secret).
func urlSecrets(raw secret.Value) []secret.Value {
	out := []secret.Value{raw}
	u, err := url.Parse(raw.Reveal())
	if err != nil {
		return out
	}
	for _, part := range []string{u.EscapedPath(), u.RawQuery} {
		if len(part) >= 8 {
			out = append(out, secret.Value(part))
		}
	}
	for seg := range strings.SplitSeq(u.EscapedPath(), "/") {
		if len(seg) >= 16 {
			out = append(out, secret.Value(seg))
		}
	}
	return out
}
