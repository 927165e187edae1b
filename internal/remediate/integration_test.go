package remediate_test

import (
	"net/http/httptest"
	"testing"

	"github.com/tripline-dev/tripline/internal/directory"
	"github.com/tripline-dev/tripline/internal/ledger"
	"github.com/tripline-dev/tripline/internal/onepassword"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/remediate"
)

var (
	_ remediate.API       = (*onepassword.Client)(nil)
	_ remediate.Directory = (*directory.Directory)(nil)
	_ remediate.Store     = (*ledger.Table)(nil)
	_ remediate.Store     = (*ledger.Memory)(nil)
)

// TestProvenanceAgainstTheUsersAPI runs the decision service on the real
// Users API client, directory and simulator: a reactivation of a user
// suspended outside tripline is refused without a call; a reactivation of
// a user tripline suspended goes through.
func TestProvenanceAgainstTheUsersAPI(t *testing.T) {
	t.Parallel()
	sim, err := opsim.New(opsim.Config{Seed: opsim.Seed{Users: []opsim.UserSeed{
		{Email: "held@example.com", State: opsim.StateSuspended}, // suspended by a person
		{Email: "dana@example.com"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	client, err := onepassword.New(t.Context(), onepassword.Config{BaseURL: ts.URL, AllowInsecureLoopback: true,
		AccountID: sim.Account(), ClientID: opsim.DefaultClientID, ClientSecret: opsim.DefaultClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := directory.New(directory.Config{}, client)
	led := remediate.NewLedger(nil, remediate.LedgerConfig{Instance: "it"})
	led.SetStore(ledger.NewMemory(led.Apply))
	svc, err := remediate.New(remediate.Config{}, remediate.Deps{Directory: dir, API: client, Ledger: led})
	if err != nil {
		t.Fatal(err)
	}
	decide := func(action remediate.Action, email, event string) remediate.Outcome {
		t.Helper()
		out, err := svc.Decide(t.Context(), remediate.Decision{RuleID: "r", Mode: remediate.ModeEnforce, Action: action, Identity: email, EventID: event})
		if err != nil {
			t.Fatalf("%s %s: %v", action, email, err)
		}
		return out
	}
	calls := func() int {
		n := 0
		for _, r := range sim.Requests() {
			if r.Endpoint == opsim.EndpointReactivate || r.Endpoint == opsim.EndpointSuspend || r.Endpoint == opsim.EndpointGet {
				n++
			}
		}
		return n
	}
	if out := decide(remediate.ActionReactivate, "held@example.com", "e1"); out.Result != remediate.ResultBlockedProvenance || calls() != 0 {
		t.Errorf("reactivating a user a person suspended = %s with %d calls", out.Result, calls())
	}
	if u, _ := sim.UserByEmail("held@example.com"); u.State != opsim.StateSuspended {
		t.Errorf("held@ is %s", u.State)
	}
	if out := decide(remediate.ActionSuspend, "dana@example.com", "e2"); out.Result != remediate.ResultSuspended || out.Before != remediate.StateActive {
		t.Fatalf("suspend = %+v", out)
	}
	if out := decide(remediate.ActionReactivate, "dana@example.com", "e3"); out.Result != remediate.ResultReactivated {
		t.Errorf("reactivating a user tripline suspended = %s", out.Result)
	}
	if u, _ := sim.UserByEmail("dana@example.com"); u.State != opsim.StateActive {
		t.Errorf("dana@ is %s after the reactivation", u.State)
	}
}
