package opsim_test

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/fakeclock"
	"github.com/tripline-dev/tripline/internal/opsim"
)

const testUA = "tripline-test/1.0"

type fakeClock = fakeclock.Clock

func newFakeClock() *fakeClock { return fakeclock.New(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)) }

// env is a simulator behind a real HTTP server.
type env struct {
	srv   *opsim.Server
	ts    *httptest.Server
	clock *fakeClock
}

// newEnv starts a simulator with a fake clock and a seeded Rand.
func newEnv(t testing.TB, cfg opsim.Config) *env {
	t.Helper()
	clock := newFakeClock()
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(1, 2))
	}
	srv, err := opsim.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &env{srv: srv, ts: ts, clock: clock}
}

// smallSeed has two owners, an externally managed admin, an externally
// managed member, and members.
func smallSeed() opsim.Seed {
	return opsim.Seed{
		Account: "ACCT0000000000000000000001",
		Users: []opsim.UserSeed{
			{ID: "OWNER1AAAAAAAAAAAAAAAAAAAA", Email: "owner1@example.com", DisplayName: "Owner One", Role: "owner"},
			{ID: "OWNER2AAAAAAAAAAAAAAAAAAAA", Email: "owner2@example.com", DisplayName: "Owner Two", Role: "owner"},
			{ID: "EAMADMINAAAAAAAAAAAAAAAAAA", Email: "eam@example.com", DisplayName: "EAM Admin", Role: "admin", ExternallyManaged: true},
			{ID: "EAMMEMBERAAAAAAAAAAAAAAAAA", Email: "eam-member@example.com", DisplayName: "EAM Member", ExternallyManaged: true},
			{ID: "MEMBER1AAAAAAAAAAAAAAAAAAA", Email: "member1@example.com", DisplayName: "Member One"},
			{Email: "member2@example.com", DisplayName: "Member Two", State: "SUSPENDED"},
		},
	}
}

// response is a read HTTP response.
type response struct {
	status int
	header http.Header
	body   []byte
}

// statusBody decodes a grpc-style error body.
func (r response) statusBody(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("decode status body %q: %v", r.body, err)
	}
	return m
}

// do sends one request.
func do(t testing.TB, req *http.Request) response {
	t.Helper()
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", testUA)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// newRequest builds a request or fails the test.
func newRequest(t testing.TB, method, u string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	return req
}

// tokenRequest posts a token request with Basic credentials (when id is
// not empty) and the given form.
func (e *env) tokenRequest(t testing.TB, path, id, secret string, form url.Values) response {
	t.Helper()
	req := newRequest(t, http.MethodPost, e.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(id, secret)
	}
	return do(t, req)
}

// token fetches a token for the client, failing the test on error.
func (e *env) token(t testing.TB, id, secret string) string {
	t.Helper()
	res := e.tokenRequest(t, "/v1beta1/users/oauth2/token", id, secret, url.Values{"grant_type": {"client_credentials"}})
	if res.status != http.StatusOK {
		t.Fatalf("token: status %d body %s", res.status, res.body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(res.body, &tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("token body %s: %v", res.body, err)
	}
	return tr.AccessToken
}

// defaultToken fetches a token for the default client.
func (e *env) defaultToken(t testing.TB) string {
	t.Helper()
	return e.token(t, opsim.DefaultClientID, opsim.DefaultClientSecret)
}

// api sends a resource request with a bearer token (none when empty).
func (e *env) api(t testing.TB, method, path, token string) response {
	t.Helper()
	req := newRequest(t, method, e.ts.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

// usersPath is the v1beta1 users collection path of the env's account.
func (e *env) usersPath() string {
	return "/v1beta1/accounts/" + e.srv.Account() + "/users"
}

// wantStatusBody checks the HTTP status and the exact grpc-style body.
func wantStatusBody(t testing.TB, res response, httpStatus, code int, message string) {
	t.Helper()
	if res.status != httpStatus {
		t.Fatalf("status = %d, want %d (body %s)", res.status, httpStatus, res.body)
	}
	want := map[string]any{"code": float64(code), "message": message, "details": []any{}}
	got := res.statusBody(t)
	if len(got) != 3 || got["code"] != want["code"] || got["message"] != want["message"] {
		t.Fatalf("body = %s, want code %d message %q details []", res.body, code, message)
	}
	if d, ok := got["details"].([]any); !ok || len(d) != 0 {
		t.Fatalf("details = %v, want []", got["details"])
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
}

// wantOAuthError checks an RFC 6749 error answer.
func wantOAuthError(t testing.TB, res response, httpStatus int, errCode string) {
	t.Helper()
	if res.status != httpStatus {
		t.Fatalf("status = %d, want %d (body %s)", res.status, httpStatus, res.body)
	}
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(res.body, &body); err != nil || body.Error != errCode {
		t.Fatalf("body = %s, want error %q (%v)", res.body, errCode, err)
	}
}

// decodeUser decodes a User body.
func decodeUser(t testing.TB, res response) opsim.User {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("status = %d body %s", res.status, res.body)
	}
	var u opsim.User
	if err := json.Unmarshal(res.body, &u); err != nil {
		t.Fatalf("decode user %s: %v", res.body, err)
	}
	return u
}
