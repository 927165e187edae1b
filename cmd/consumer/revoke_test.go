package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/opsim"
)

// endpointRequests returns the simulator's requests to endpoint.
func (e *e2e) endpointRequests(endpoint string) []opsim.Request {
	var out []opsim.Request
	for _, r := range e.sb.Sim().Requests() {
		if r.Endpoint == endpoint {
			out = append(out, r)
		}
	}
	return out
}

// TestShutdownRevokesTheToken checks that stopping Main (Run, then Close)
// revokes the access token it obtained, once, as its last Users API call.
func TestShutdownRevokesTheToken(t *testing.T) {
	e := newE2E(t, "signins", opsim.Seed{})
	_, stop := e.run()
	waitFor(t, "a token", func() bool { return len(e.endpointRequests(opsim.EndpointToken)) > 0 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	revokes := e.endpointRequests(opsim.EndpointRevoke)
	if len(revokes) != 1 || revokes[0].Status != http.StatusOK {
		t.Fatalf("revoke requests after stop = %+v, want one answered 200", revokes)
	}
	reqs := e.sb.Sim().Requests()
	if last := reqs[len(reqs)-1]; last.Endpoint != opsim.EndpointRevoke {
		t.Errorf("last Users API request is %s %s, want the revocation", last.Method, last.Path)
	}
}

// TestStopWhileStartingIsClean: a stop (SIGTERM) that arrives while the
// consumer still lists the 1Password users at start is a clean stop, not a
// start-up failure.
func TestStopWhileStartingIsClean(t *testing.T) {
	e := newE2E(t, "signins", opsim.Seed{})
	e.sb.Sim().SetFaults(opsim.Faults{opsim.EndpointList: {Latency: 2 * time.Second}})
	_, stop := e.run()
	// The token comes just before the list, which takes 2 s: the stop
	// lands while the consumer is starting.
	waitFor(t, "a token", func() bool { return len(e.endpointRequests(opsim.EndpointToken)) > 0 })
	if err := stop(); err != nil {
		t.Fatalf("stop while starting: %v, want a clean stop", err)
	}
}

// TestShutdownRevocationFailureIsLoggedAndCounted checks that a revoke the
// server refuses is logged and counted as an error, and does not make Close
// fail; and that Main without a token sends no revocation.
func TestShutdownRevocationFailureIsLoggedAndCounted(t *testing.T) {
	e := newE2E(t, "signins", opsim.Seed{})
	e.sb.Sim().SetFaults(opsim.Faults{opsim.EndpointRevoke: {Rate503: 1}})
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(t.Context())
	m, err := app.NewMain(ctx, e.cfg, app.Options{Log: logs, Lookup: func(string) (string, bool) { return "", false }})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	waitFor(t, "a token", func() bool { return len(e.endpointRequests(opsim.EndpointToken)) > 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// What Close does first, here on its own so the metric can be read
	// before Close shuts telemetry down.
	m.RevokeToken()
	rec := httptest.NewRecorder()
	m.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if want := `tripline_token_revocations_total{result="error"} 1`; !strings.Contains(rec.Body.String(), want) {
		t.Errorf("/metrics lacks %s:\n%s", want, rec.Body.String())
	}
	if err := m.Close(); err != nil {
		t.Errorf("Close after a failed revocation: %v", err)
	}
	if !strings.Contains(logs.String(), "cannot revoke the Users API token") {
		t.Errorf("the failed revocation was not logged:\n%s", logs.String())
	}
	// The token was dropped even though the server refused: Close sent no
	// second revocation.
	if n := len(e.endpointRequests(opsim.EndpointRevoke)); n != 1 {
		t.Errorf("%d revoke requests, want 1", n)
	}

	// A Main that never obtained a token revokes nothing.
	before := len(e.sb.Sim().Requests())
	idle, err := app.NewMain(t.Context(), e.cfg, app.Options{Log: logs, Lookup: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(e.sb.Sim().Requests()); n != before {
		t.Errorf("Main without a token made %d Users API requests on Close", n-before)
	}
}
