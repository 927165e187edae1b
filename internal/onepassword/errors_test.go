package onepassword_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/onepassword"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/remediate"
)

const knownToken = "tok-0123456789-never-printed"

// fakeAPI serves the v1beta1 token endpoint (always issuing knownToken) and
// hands every other request to api. It covers answers the simulator cannot
// give. tokenCalls counts token requests.
func fakeAPI(t *testing.T, api http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var tokenCalls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1beta1/users/oauth2/token" {
			tokenCalls.Add(1)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":900}`, knownToken)
			return
		}
		if got := r.Header.Get("Authorization"); got != "Bearer "+knownToken {
			t.Errorf("Authorization = %q", got)
		}
		api(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts, &tokenCalls
}

func writeStatus(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

type retryable interface{ Retryable() bool }

func isRetryable(err error) bool {
	var r retryable
	return errors.As(err, &r) && r.Retryable()
}

func retryAfter(err error) time.Duration {
	var r interface{ RetryAfterDelay() time.Duration }
	if errors.As(err, &r) {
		return r.RetryAfterDelay()
	}
	return 0
}

var sentinels = []error{remediate.ErrUserNotFound, remediate.ErrPermissionDenied, remediate.ErrCannotSuspend, remediate.ErrUnauthenticated}

// TestErrorClassification maps every status path to (sentinel, Retryable,
// RetryAfter), over the simulator where it can produce the answer.
func TestErrorClassification(t *testing.T) {
	t.Parallel()
	seed := opsim.Seed{
		Account: "ACCT0000000000000000000001",
		Clients: []opsim.ClientSeed{
			{ID: opsim.DefaultClientID, Secret: opsim.DefaultClientSecret},
			{ID: "read-only", Secret: "read-only-secret", Permissions: []string{opsim.PermissionGet, opsim.PermissionList}},
		},
		Users: []opsim.UserSeed{
			{ID: "OWNER", Email: "owner@example.com", Role: opsim.RoleOwner},
			{ID: "EAM", Email: "eam@example.com", Role: opsim.RoleAdmin, ExternallyManaged: true},
			{ID: "MEMBER", Email: "member@example.com"},
		},
	}
	type call func(ctx context.Context, c *onepassword.Client) error
	suspend := func(id string) call {
		return func(ctx context.Context, c *onepassword.Client) error { _, err := c.SuspendUser(ctx, id); return err }
	}
	get := func(id string) call {
		return func(ctx context.Context, c *onepassword.Client) error { _, err := c.GetUser(ctx, id); return err }
	}
	tests := []struct {
		name       string
		sim        opsim.Config
		faults     opsim.Faults
		edit       func(*onepassword.Config)
		call       call
		status     int
		sentinel   error
		retryable  bool
		retryAfter time.Duration
	}{
		{name: "404 unknown user", call: get("NOSUCHUSER"), status: 404, sentinel: remediate.ErrUserNotFound},
		{name: "403 missing permission", edit: func(c *onepassword.Config) { c.ClientID, c.ClientSecret = "read-only", "read-only-secret" },
			call: suspend("MEMBER"), status: 403, sentinel: remediate.ErrPermissionDenied},
		{name: "403 wrong account", edit: func(c *onepassword.Config) { c.AccountID = "ACCT0000000000000000000002" },
			call: get("MEMBER"), status: 403, sentinel: remediate.ErrPermissionDenied},
		{name: "403 last owner", call: suspend("OWNER"), status: 403, sentinel: remediate.ErrCannotSuspend},
		{name: "403 externally managed admin", call: suspend("EAM"), status: 403, sentinel: remediate.ErrCannotSuspend},
		{name: "400 failed precondition", sim: opsim.Config{EAMStatus: 400, EAMCode: 9, EAMMessage: "failed_precondition"},
			call: suspend("EAM"), status: 400, sentinel: remediate.ErrCannotSuspend},
		{name: "400 invalid filter", call: func(ctx context.Context, c *onepassword.Client) error {
			_, err := c.ListUsers(ctx, onepassword.ListOptions{Filter: "user.isAdmin()"})
			return err
		}, status: 400},
		{name: "429 with retry-after seconds", faults: opsim.Faults{opsim.EndpointSuspend: {Rate429: 1, RetryAfter: 2}},
			call: suspend("MEMBER"), status: 429, retryable: true, retryAfter: 2 * time.Second},
		{name: "429 without retry-after", faults: opsim.Faults{opsim.EndpointGet: {Rate429: 1}},
			call: get("MEMBER"), status: 429, retryable: true},
		{name: "500", faults: opsim.Faults{opsim.EndpointAny: {Rate500: 1}, opsim.EndpointToken: {}},
			call: get("MEMBER"), status: 500, retryable: true},
		{name: "503", faults: opsim.Faults{opsim.EndpointList: {Rate503: 1}},
			call: func(ctx context.Context, c *onepassword.Client) error {
				_, err := c.ListUsers(ctx, onepassword.ListOptions{})
				return err
			}, status: 503, retryable: true},
		{name: "token 401 invalid client", edit: func(c *onepassword.Config) { c.ClientSecret = "wrong" },
			call: get("MEMBER"), status: 401, sentinel: remediate.ErrUnauthenticated},
		{name: "token 503", faults: opsim.Faults{opsim.EndpointToken: {Rate503: 1}},
			call: get("MEMBER"), status: 503, retryable: true},
		{name: "token 500", faults: opsim.Faults{opsim.EndpointToken: {Rate500: 1}},
			call: func(ctx context.Context, c *onepassword.Client) error { return c.Token(ctx) }, status: 500, retryable: true},
		{name: "token 429", faults: opsim.Faults{opsim.EndpointToken: {Rate429: 1, RetryAfter: 5}},
			call: func(ctx context.Context, c *onepassword.Client) error { return c.Token(ctx) }, status: 429, retryable: true, retryAfter: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.sim
			cfg.Seed = seed
			env := newSimEnv(t, cfg, tt.edit)
			if tt.faults != nil {
				env.sim.SetFaults(tt.faults)
			}
			err := tt.call(t.Context(), env.client)
			checkError(t, err, tt.status, tt.sentinel, tt.retryable, tt.retryAfter)
		})
	}
}

func checkError(t *testing.T, err error, status int, sentinel error, wantRetryable bool, wantRetryAfter time.Duration) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var ae *onepassword.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *APIError", err, err)
	}
	if ae.Status != status {
		t.Errorf("status = %d, want %d (%v)", ae.Status, status, err)
	}
	for _, s := range sentinels {
		if got, want := errors.Is(err, s), s == sentinel; got != want {
			t.Errorf("errors.Is(%v, %v) = %v, want %v", err, s, got, want)
		}
	}
	if got := isRetryable(err); got != wantRetryable {
		t.Errorf("Retryable = %v, want %v (%v)", got, wantRetryable, err)
	}
	if got := retryAfter(err); got != wantRetryAfter {
		t.Errorf("RetryAfterDelay = %s, want %s", got, wantRetryAfter)
	}
	if msg := err.Error(); msg != strings.ToLower(msg[:1])+msg[1:] || strings.Contains(msg, "failed to") {
		t.Errorf("error text %q does not start lowercase with the operation", msg)
	}
}

// TestErrorClassificationFake covers answers the simulator cannot give.
func TestErrorClassificationFake(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		sentinel   error
		retryable  bool
		retryAfter time.Duration
	}{
		{name: "502 html body", status: 502, body: "<html><body>Bad Gateway " + strings.Repeat("x", 5000) + "</body></html>", retryable: true},
		{name: "504 empty body", status: 504, retryable: true},
		{name: "500 retry-after http date", status: 500, header: map[string]string{"Retry-After": clock.Now().Add(45 * time.Second).Format(http.TimeFormat)},
			body: `{"code":13,"message":"internal","details":[]}`, retryable: true, retryAfter: 45 * time.Second},
		{name: "429 retry-after http date", status: 429, header: map[string]string{"Retry-After": clock.Now().Add(2 * time.Minute).Format(http.TimeFormat)},
			retryable: true, retryAfter: 2 * time.Minute},
		{name: "429 retry-after date in the past", status: 429, header: map[string]string{"Retry-After": clock.Now().Add(-time.Minute).Format(http.TimeFormat)},
			retryable: true},
		{name: "501 not implemented", status: 501},
		{name: "409 other 4xx", status: 409, body: `{"code":10,"message":"aborted"}`},
		{name: "418 non-json", status: 418, body: "teapot"},
		{name: "404 with unknown fields", status: 404, body: `{"code":5,"message":"user_not_found","details":[{"@type":"x"}],"extra":true}`, sentinel: remediate.ErrUserNotFound},
		{name: "403 other message", status: 403, body: `{"code":7,"message":"forbidden"}`, sentinel: remediate.ErrPermissionDenied},
		{name: "400 code 9", status: 400, body: `{"code":9,"message":"user_is_provisioned"}`, sentinel: remediate.ErrCannotSuspend},
		{name: "400 code 3", status: 400, body: `{"code":3,"message":"invalid id"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				writeStatus(w, tt.status, tt.body)
			})
			c := clientFor(t, ts, testAccount, clock, nil)
			_, err := c.GetUser(t.Context(), "U1")
			checkError(t, err, tt.status, tt.sentinel, tt.retryable, tt.retryAfter)
			if len(err.Error()) > 300 || strings.Contains(err.Error(), "<html") {
				t.Errorf("error text carries the raw body: %q", err)
			}
		})
	}
}

func TestNetworkErrorRetryableWithoutURL(t *testing.T) {
	t.Parallel()
	ts, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		// Cut the connection without an answer.
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	c := clientFor(t, ts, testAccount, newFakeClock(), nil)
	_, err := c.ListUsers(t.Context(), onepassword.ListOptions{Filter: onepassword.FilterActive, PageToken: "PAGE-TOKEN-IN-QUERY"})
	var ne *onepassword.NetworkError
	if !errors.As(err, &ne) || !isRetryable(err) {
		t.Fatalf("err = %v (%T), want a retryable *NetworkError", err, err)
	}
	if ne.Op != onepassword.OpListUsers || strings.Contains(err.Error(), "PAGE-TOKEN") || strings.Contains(err.Error(), "/accounts/") {
		t.Errorf("network error text leaks the url: %q", err)
	}

	// Token endpoint unreachable: retryable too.
	ts.Close()
	c = clientFor(t, ts, testAccount, newFakeClock(), nil)
	_, err = c.GetUser(t.Context(), "U1")
	if !errors.As(err, &ne) || !isRetryable(err) || ne.Op != onepassword.OpFetchToken {
		t.Fatalf("err = %v (%T), want a retryable *NetworkError from fetch token", err, err)
	}
	if !strings.HasPrefix(err.Error(), "get user: fetch token: ") {
		t.Errorf("error text %q does not name both operations", err)
	}
}

func TestCanceledContextNotRetryable(t *testing.T) {
	t.Parallel()
	env := newSimEnv(t, opsim.Config{Generate: 1}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := env.client.GetUser(ctx, "X")
	if !errors.Is(err, context.Canceled) || isRetryable(err) {
		t.Fatalf("err = %v, want context.Canceled, not retryable", err)
	}
}
