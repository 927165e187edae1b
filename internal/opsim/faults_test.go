package opsim_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/opsim"
)

// Item 33: 429 with code 8 and an optional Retry-After, per endpoint, with
// "*" as the fallback.
func TestRateLimit_Item33(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: smallSeed()})
	tok := e.defaultToken(t)
	e.srv.SetFaults(opsim.Faults{"list": {Rate429: 1, RetryAfter: 7}})
	res := e.api(t, http.MethodGet, e.usersPath(), tok)
	wantStatusBody(t, res, 429, 8, "rate_limited")
	if ra := res.header.Get("Retry-After"); ra != "7" {
		t.Fatalf("Retry-After = %q", ra)
	}
	if res := e.api(t, http.MethodGet, e.usersPath()+"/MEMBER1AAAAAAAAAAAAAAAAAAA", tok); res.status != 200 {
		t.Fatalf("get without fault: %d", res.status)
	}

	e.srv.SetFaults(opsim.Faults{"*": {Rate429: 1}, "get": {}})
	res = e.api(t, http.MethodGet, e.usersPath(), tok)
	wantStatusBody(t, res, 429, 8, "rate_limited")
	if _, ok := res.header["Retry-After"]; ok {
		t.Fatal("Retry-After sent with retry_after 0")
	}
	if res := e.api(t, http.MethodGet, e.usersPath()+"/MEMBER1AAAAAAAAAAAAAAAAAAA", tok); res.status != 200 {
		t.Fatalf("get with its own empty entry: %d", res.status)
	}
	// The token endpoint answers faults in RFC 6749 style.
	wantOAuthError(t, e.tokenRequest(t, "/v1/oauth/token", opsim.DefaultClientID, opsim.DefaultClientSecret, ccForm), 429, "temporarily_unavailable")

	e.srv.SetFaults(nil)
	if res := e.api(t, http.MethodGet, e.usersPath(), tok); res.status != 200 {
		t.Fatalf("after clearing faults: %d", res.status)
	}
}

// Item 34: 500 and 503 injection, deterministic with rate 1, and a rate of
// 0.5 with a seeded Rand fails some requests but not all.
func TestServerErrors_Item34(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: smallSeed()})
	tok := e.defaultToken(t)
	suspend := e.usersPath() + "/MEMBER1AAAAAAAAAAAAAAAAAAA:suspend"
	e.srv.SetFaults(opsim.Faults{"suspend": {Rate500: 1}})
	wantStatusBody(t, e.api(t, http.MethodPost, suspend, tok), 500, 13, "internal")
	if u, _ := e.srv.User("MEMBER1AAAAAAAAAAAAAAAAAAA"); u.State != "ACTIVE" {
		t.Fatal("faulted suspend changed state")
	}
	e.srv.SetFaults(opsim.Faults{"suspend": {Rate503: 1}})
	wantStatusBody(t, e.api(t, http.MethodPost, suspend, tok), 503, 14, "unavailable")
	e.srv.SetFaults(opsim.Faults{"revoke": {Rate500: 1}})
	wantOAuthError(t, e.tokenRequest(t, "/v1/oauth/revoke", opsim.DefaultClientID, opsim.DefaultClientSecret, url.Values{"token": {tok}}), 500, "server_error")

	e.srv.SetFaults(opsim.Faults{"get": {Rate503: 0.5}})
	counts := map[int]int{}
	for range 40 {
		counts[e.api(t, http.MethodGet, e.usersPath()+"/MEMBER1AAAAAAAAAAAAAAAAAAA", tok).status]++
	}
	if counts[200] == 0 || counts[503] == 0 || counts[200]+counts[503] != 40 {
		t.Fatalf("rate 0.5 outcomes %v", counts)
	}
	reqs := e.srv.Requests()
	if last := reqs[len(reqs)-1]; last.Endpoint != "get" || (last.Status != 200 && last.Status != 503) {
		t.Fatalf("log entry %+v", last)
	}
}

// Latency is added to matching requests only.
func TestLatency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: smallSeed()})
	tok := e.defaultToken(t)
	const d = 30 * time.Millisecond
	e.srv.SetFaults(opsim.Faults{"get": {Latency: d}})
	start := time.Now()
	if res := e.api(t, http.MethodGet, e.usersPath()+"/MEMBER1AAAAAAAAAAAAAAAAAAA", tok); res.status != 200 {
		t.Fatalf("status %d", res.status)
	}
	if el := time.Since(start); el < d {
		t.Fatalf("elapsed %v < latency %v", el, d)
	}
}

// Fault validation rejects unknown endpoints and out-of-range values.
func TestFaultsValidate(t *testing.T) {
	t.Parallel()
	good := opsim.Faults{"*": {Rate429: 0.1, RetryAfter: 2}, "token": {Latency: time.Millisecond}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]opsim.Faults{
		"unknown endpoint": {"delete": {}},
		"rate above 1":     {"get": {Rate500: 1.5}},
		"negative rate":    {"get": {Rate503: -0.1}},
		"negative latency": {"get": {Latency: -1}},
		"negative retry":   {"get": {RetryAfter: -1}},
		"list narrowed":    {"list:U1": {}},
		"empty user id":    {"suspend:": {}},
	} {
		if err := f.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// A fault narrowed to one user applies to that user's requests only, before
// the endpoint's own entry and "*".
func TestFaultNarrowedToAUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: smallSeed()})
	tok := e.defaultToken(t)
	const one, other = "MEMBER1AAAAAAAAAAAAAAAAAAA", "EAMMEMBERAAAAAAAAAAAAAAAAA"
	e.srv.SetFaults(opsim.Faults{"get:" + one: {Rate503: 1}, "*": {Rate500: 1}, "get": {}})
	wantStatusBody(t, e.api(t, http.MethodGet, e.usersPath()+"/"+one, tok), 503, 14, "unavailable")
	if res := e.api(t, http.MethodGet, e.usersPath()+"/"+other, tok); res.status != 200 {
		t.Fatalf("get of another user: %d, want 200 (the endpoint's own entry)", res.status)
	}
	e.srv.SetFaults(opsim.Faults{"*:" + one: {Rate503: 1}})
	wantStatusBody(t, e.api(t, http.MethodPost, e.usersPath()+"/"+one+":suspend", tok), 503, 14, "unavailable")
	if res := e.api(t, http.MethodGet, e.usersPath(), tok); res.status != 200 {
		t.Fatalf("list with a user's fault: %d", res.status)
	}
}
