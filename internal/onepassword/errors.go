package onepassword

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/retryafter"
)

// Operation names carried in APIError.Op and NetworkError.Op, and used as
// the prefix of every error message this package returns.
const (
	OpListUsers      = "list users"
	OpGetUser        = "get user"
	OpSuspendUser    = "suspend user"
	OpReactivateUser = "reactivate user"
	OpFetchToken     = "fetch token"
	OpRevokeToken    = "revoke token"
)

// The errors this package returns match the decision service's sentinels
// with errors.Is, through (*APIError).Is, so a caller can branch on the
// condition without knowing the status code:
//   - remediate.ErrUserNotFound: the user id is not in the account (404 on a
//     call that names a user);
//   - remediate.ErrPermissionDenied: the OAuth application lacks the
//     permission, or the token belongs to another account (403 other than the
//     refusals below);
//   - remediate.ErrCannotSuspend: the API refuses to change this user, the
//     last remaining owner (403 no_owner_remain), an externally managed
//     administrator (403 externally_managed_admin), or any 400
//     FAILED_PRECONDITION;
//   - remediate.ErrUnauthenticated: the credentials were refused (401 from
//     the token endpoint, or from a resource call even after a fresh token).

// gRPC status codes that the API's error bodies carry.
const (
	codePermissionDenied   = 7
	codeFailedPrecondition = 9
)

// API error messages that mean "this user cannot be suspended".
const (
	msgNoOwnerRemain          = "no_owner_remain"
	msgExternallyManagedAdmin = "externally_managed_admin"
)

// maxMessageLen bounds how much of the API's error message is kept.
const maxMessageLen = 200

// APIError is a non-2xx answer from the Users API or its token endpoint.
// It carries only the status, the API's numeric code and its short message:
// never a header, a token or the raw response body.
type APIError struct {
	// Op is the operation that failed, one of the Op constants.
	Op string
	// Status is the HTTP status code.
	Status int
	// Code is the numeric gRPC code of the error body, 0 when absent.
	Code int
	// Message is the API's short error identifier (e.g. "no_owner_remain",
	// or the OAuth "error" value such as "invalid_client"), possibly empty.
	Message string
	// RetryAfter is the wait the server asked for in Retry-After, 0 when
	// absent or unparseable.
	RetryAfter time.Duration
}

// Error returns "<op>: <status> <status text>[ (code N)][: <message>]".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.Status))
	if t := http.StatusText(e.Status); t != "" {
		b.WriteByte(' ')
		b.WriteString(strings.ToLower(t))
	}
	if e.Code != 0 {
		b.WriteString(" (code ")
		b.WriteString(strconv.Itoa(e.Code))
		b.WriteByte(')')
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if perm := Permission(e.Op); perm != "" && e.Status == http.StatusForbidden && !e.cannotSuspend() {
		b.WriteString(` (the OAuth application may lack the "`)
		b.WriteString(perm)
		b.WriteString(`" permission, or belong to another account: check it in the 1Password admin console, Integrations)`)
	}
	return b.String()
}

// Permission is the permission of the OAuth application that an operation
// needs, as the 1Password admin console names it ("" for the token
// operations, which need none).
func Permission(op string) string {
	switch op {
	case OpListUsers:
		return "list users"
	case OpGetUser:
		return "get user"
	case OpSuspendUser:
		return "suspend users"
	case OpReactivateUser:
		return "reactivate users"
	}
	return ""
}

// Retryable reports whether the same call may succeed later: 429, 500, 502,
// 503 and 504, and any 5xx from the token endpoint. Everything else
// (400, 401, 403, 404, other 4xx) is permanent.
func (e *APIError) Retryable() bool {
	switch e.Status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return e.Op == OpFetchToken && e.Status >= 500 && e.Status <= 599
}

// RetryAfterDelay returns the wait the server asked for, 0 when it did not.
func (e *APIError) RetryAfterDelay() time.Duration { return e.RetryAfter }

// Is matches the decision service's sentinel errors (see above).
func (e *APIError) Is(target error) bool {
	switch target {
	case remediate.ErrUserNotFound:
		return e.Status == http.StatusNotFound && e.Op != OpListUsers && e.Op != OpFetchToken && e.Op != OpRevokeToken
	case remediate.ErrUnauthenticated:
		return e.Status == http.StatusUnauthorized
	case remediate.ErrCannotSuspend:
		return e.cannotSuspend()
	case remediate.ErrPermissionDenied:
		return e.Status == http.StatusForbidden && !e.cannotSuspend()
	}
	return false
}

func (e *APIError) cannotSuspend() bool {
	switch e.Status {
	case http.StatusForbidden:
		return e.Message == msgNoOwnerRemain || e.Message == msgExternallyManagedAdmin
	case http.StatusBadRequest:
		return e.Code == codeFailedPrecondition
	}
	return false
}

// NetworkError is a failure to get any HTTP answer: connection refused or
// reset, DNS failure, TLS failure, a timeout. It is always retryable. Its
// message names the operation and the cause, never the request URL.
type NetworkError struct {
	// Op is the operation that failed, one of the Op constants.
	Op string
	// Err is the underlying transport error.
	Err error
}

// Error returns "<op>: <cause>".
func (e *NetworkError) Error() string { return e.Op + ": " + e.Err.Error() }

// Unwrap returns the underlying transport error.
func (e *NetworkError) Unwrap() error { return e.Err }

// Retryable reports true: a network failure may go away.
func (e *NetworkError) Retryable() bool { return true }

// statusBody is the google.rpc.Status body of the resource API's errors and
// the RFC 6749 body of the token endpoint's errors.
type statusBody struct {
	Code    json.RawMessage `json:"code"`
	Message string          `json:"message"`
	Error   string          `json:"error"`
}

// newAPIError builds the APIError for a non-2xx response from its status,
// headers and (already size-limited) body. A body that is not JSON keeps
// the status and yields no message. The message goes through redact (nil:
// kept as is) before it is shortened, so no part of a credential the server
// echoed back is stored.
func newAPIError(op string, status int, header http.Header, body []byte, now time.Time, redact func(string) string) *APIError {
	e := &APIError{Op: op, Status: status, RetryAfter: retryafter.Parse(header.Get("Retry-After"), now)}
	var sb statusBody
	if json.Unmarshal(body, &sb) == nil {
		if n, err := strconv.Atoi(string(sb.Code)); err == nil && n > 0 && n < 1<<16 {
			e.Code = n
		}
		msg := sb.Message
		if msg == "" {
			msg = sb.Error
		}
		if redact != nil {
			msg = redact(msg)
		}
		e.Message = cleanMessage(msg)
	}
	return e
}

// cleanMessage keeps a short, printable, single-line form of an API message.
func cleanMessage(s string) string {
	if len(s) > maxMessageLen {
		s = s[:maxMessageLen]
	}
	return strings.Map(func(r rune) rune {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
}

// opError prefixes err with op unless err already names an operation of
// this package (APIError, NetworkError), in which case the op is added as
// outer context only when it differs.
func opError(op string, err error) error {
	var ae *APIError
	if errors.As(err, &ae) && ae.Op == op {
		return err
	}
	var ne *NetworkError
	if errors.As(err, &ne) && ne.Op == op {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
