package onepassword_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/onepassword"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/remediate"
)

func TestTokenCachedAndRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()
	env := newSimEnv(t, opsim.Config{Generate: 1}, nil)
	ctx := t.Context()
	get := func() {
		t.Helper()
		if _, err := env.client.ListUsers(ctx, onepassword.ListOptions{PageSize: 1}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		advance    time.Duration
		wantTokens int
	}{
		{0, 1},
		{0, 1},
		{14*time.Minute - time.Second, 1}, // 839s: outside the 60s margin
		{time.Second, 2},                  // 840s: within 60s of expiry, refreshed early
		{10 * time.Minute, 2},             // the second token is 600s old
		{4 * time.Minute, 3},              // 840s old: refreshed again
		{opsim.TokenTTL + time.Minute, 4}, // long idle: fetched again
	}
	for i, s := range steps {
		env.clock.Advance(s.advance)
		get()
		if got := count(env.sim, opsim.EndpointToken, http.StatusOK); got != s.wantTokens {
			t.Fatalf("step %d: %d token requests, want %d", i, got, s.wantTokens)
		}
	}
	if n := count(env.sim, opsim.EndpointList, http.StatusUnauthorized); n != 0 {
		t.Errorf("%d list calls were refused with 401: the token was not refreshed early", n)
	}
}

func TestConcurrentCallsShareOneToken(t *testing.T) {
	t.Parallel()
	env := newSimEnv(t, opsim.Config{Generate: 1}, nil)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if err := env.client.Token(t.Context()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := count(env.sim, opsim.EndpointToken, 0); n != 1 {
		t.Errorf("%d token requests for 16 concurrent callers, want 1", n)
	}
}

func TestUnauthorizedForcesOneRefresh(t *testing.T) {
	t.Parallel()
	env := newSimEnv(t, opsim.Config{Generate: 1}, nil)
	u, _ := env.sim.UserByEmail("user00001@example.com")
	ctx := t.Context()
	if _, err := env.client.GetUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	env.sim.RevokeAllTokens()
	if _, err := env.client.SuspendUser(ctx, u.ID); err != nil {
		t.Fatalf("SuspendUser after revoke: %v", err)
	}
	var got []string
	for _, r := range env.sim.Requests() {
		got = append(got, fmt.Sprintf("%s %d", r.Endpoint, r.Status))
	}
	want := "token 200,get 200,suspend 401,token 200,suspend 200"
	if strings.Join(got, ",") != want {
		t.Errorf("requests = %s, want %s", strings.Join(got, ","), want)
	}
}

func TestUnauthorizedTwiceIsPermanent(t *testing.T) {
	t.Parallel()
	var resourceCalls int
	var mu sync.Mutex
	ts, tokenCalls := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		resourceCalls++
		mu.Unlock()
		writeStatus(w, 401, `{"code":16,"message":"unauthenticated","details":[]}`)
	})
	c := clientFor(t, ts, testAccount, newFakeClock(), nil)
	_, err := c.SuspendUser(t.Context(), "U1")
	checkError(t, err, 401, remediate.ErrUnauthenticated, false, 0)
	mu.Lock()
	defer mu.Unlock()
	if resourceCalls != 2 || tokenCalls.Load() != 2 {
		t.Errorf("%d resource calls and %d token calls, want 2 and 2", resourceCalls, tokenCalls.Load())
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	env := newSimEnv(t, opsim.Config{Generate: 1}, nil)
	ctx := t.Context()
	if had, err := env.client.Revoke(ctx); err != nil || had { // nothing cached: no request
		t.Fatalf("Revoke without a token = %v, %v", had, err)
	}
	if n := len(env.sim.Requests()); n != 0 {
		t.Fatalf("Revoke without a token sent %d requests", n)
	}
	if err := env.client.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if had, err := env.client.Revoke(ctx); err != nil || !had {
		t.Fatalf("Revoke = %v, %v", had, err)
	}
	if _, err := env.client.ListUsers(ctx, onepassword.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range env.sim.Requests() {
		got = append(got, fmt.Sprintf("%s %d", r.Endpoint, r.Status))
	}
	// The cache was dropped: a new token, and no 401 on the way.
	if want := "token 200,revoke 200,token 200,list 200"; strings.Join(got, ",") != want {
		t.Errorf("requests = %s, want %s", strings.Join(got, ","), want)
	}

	bad := clientFor(t, env.ts, env.sim.Account(), env.clock, nil)
	if err := bad.Token(ctx); err != nil {
		t.Fatal(err)
	}
	env.sim.SetFaults(opsim.Faults{opsim.EndpointRevoke: {Rate503: 1}})
	had, err := bad.Revoke(ctx)
	if !had || !isRetryable(err) || !strings.HasPrefix(err.Error(), "revoke token: 503") {
		t.Errorf("Revoke with the endpoint down = %v", err)
	}
}

// TestSecretsNeverInErrorsOrLogs checks that neither the client secret nor
// an access token appears in any error text or log output.
func TestSecretsNeverInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	const secret = "client-secret-never-printed"
	sim, ts, clock := newSim(t, opsim.Config{Generate: 1, Seed: opsim.Seed{Clients: []opsim.ClientSeed{{ID: "app", Secret: secret, Permissions: []string{opsim.PermissionGet}}}}})
	ctx := t.Context()
	var errs []error

	wrong := clientFor(t, ts, sim.Account(), clock, func(c *onepassword.Config) { c.ClientID, c.ClientSecret = "app", secret+"x" })
	_, err := wrong.GetUser(ctx, "X")
	errs = append(errs, err, wrong.Token(ctx))

	c := clientFor(t, ts, sim.Account(), clock, func(c *onepassword.Config) { c.ClientID, c.ClientSecret = "app", secret })
	_, err = c.SuspendUser(ctx, "X") // 403: no suspend permission
	errs = append(errs, err)
	_, err = c.ListUsers(ctx, onepassword.ListOptions{})
	errs = append(errs, err)

	fake, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		// An API that echoes the Authorization header in its error body.
		writeStatus(w, 500, fmt.Sprintf(`{"code":13,"message":"bad header %s"}`, r.Header.Get("Authorization")))
	})
	fc := clientFor(t, fake, testAccount, clock, func(c *onepassword.Config) { c.ClientSecret = secret })
	_, err = fc.GetUser(ctx, "X")
	errs = append(errs, err)
	ts.Close()
	_, err = clientFor(t, ts, sim.Account(), clock, func(c *onepassword.Config) { c.ClientSecret = secret }).GetUser(ctx, "X")
	errs = append(errs, err)

	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	for _, err := range errs {
		if err == nil {
			t.Fatal("expected an error")
		}
		logger.Error("call failed", "error", err, "detail", fmt.Sprintf("%+v %#v", err, err))
		var ae *onepassword.APIError
		if errors.As(err, &ae) {
			logger.Error("api error", "api_error", ae)
		}
	}
	text := logs.String()
	for _, leak := range []string{secret, knownToken} {
		if strings.Contains(text, leak) {
			t.Errorf("%q appears in error output:\n%s", leak, text)
		}
	}
}

// TestTokenStatsCountEachResult: a token issued, a token request refused
// for bad credentials, and one the endpoint could not answer (503) are each
// counted under their result; a token served from the cache is not a
// request.
func TestTokenStatsCountEachResult(t *testing.T) {
	t.Parallel()
	env := newSimEnv(t, opsim.Config{Generate: 1}, nil)
	ctx := t.Context()
	for range 2 {
		if err := env.client.Token(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := env.client.TokenStats(); got != (onepassword.TokenStats{Issued: 1}) {
		t.Errorf("after one token and one cached: %+v, want 1 issued", got)
	}

	refused := clientFor(t, env.ts, env.sim.Account(), env.clock, func(c *onepassword.Config) { c.ClientSecret = "not-the-secret" })
	if err := refused.Token(ctx); err == nil {
		t.Fatal("a wrong client secret got a token")
	}
	if got := refused.TokenStats(); got != (onepassword.TokenStats{Refused: 1}) {
		t.Errorf("after a wrong secret: %+v, want 1 refused", got)
	}

	down := clientFor(t, env.ts, env.sim.Account(), env.clock, nil)
	env.sim.SetFaults(opsim.Faults{opsim.EndpointToken: {Rate503: 1}})
	if err := down.Token(ctx); err == nil {
		t.Fatal("got a token from an endpoint answering 503")
	}
	if got := down.TokenStats(); got != (onepassword.TokenStats{Unavailable: 1}) {
		t.Errorf("after a 503: %+v, want 1 unavailable", got)
	}
}
