package onepassword_test

import (
	"math/rand/v2"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/fakeclock"
	"github.com/tripline-dev/tripline/internal/onepassword"
	"github.com/tripline-dev/tripline/internal/opsim"
)

type fakeClock = fakeclock.Clock

func newFakeClock() *fakeClock { return fakeclock.New(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)) }

// simEnv is a simulator served over real HTTP plus a client pointed at it.
type simEnv struct {
	sim    *opsim.Server
	ts     *httptest.Server
	clock  *fakeClock
	client *onepassword.Client
}

// newSim starts a simulator on a loopback listener with a fake clock.
func newSim(t testing.TB, cfg opsim.Config) (*opsim.Server, *httptest.Server, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	cfg.Now = clock.Now
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(1, 2))
	}
	sim, err := opsim.New(cfg)
	if err != nil {
		t.Fatalf("opsim.New: %v", err)
	}
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	return sim, ts, clock
}

// clientFor builds a client for the simulator; edit adjusts the config.
func clientFor(t testing.TB, ts *httptest.Server, account string, clock *fakeClock, edit func(*onepassword.Config)) *onepassword.Client {
	t.Helper()
	cfg := onepassword.Config{
		BaseURL:               ts.URL,
		AccountID:             account,
		ClientID:              opsim.DefaultClientID,
		ClientSecret:          opsim.DefaultClientSecret,
		AllowInsecureLoopback: true,
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := onepassword.New(t.Context(), cfg, onepassword.WithTransport(ts.Client().Transport), onepassword.WithClock(clock.Now))
	if err != nil {
		t.Fatalf("onepassword.New: %v", err)
	}
	return c
}

func newSimEnv(t testing.TB, cfg opsim.Config, edit func(*onepassword.Config)) *simEnv {
	t.Helper()
	sim, ts, clock := newSim(t, cfg)
	return &simEnv{sim: sim, ts: ts, clock: clock, client: clientFor(t, ts, sim.Account(), clock, edit)}
}

// count returns how many logged requests hit endpoint, and with status if
// status is not 0.
func count(sim *opsim.Server, endpoint string, status int) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Endpoint == endpoint && (status == 0 || r.Status == status) {
			n++
		}
	}
	return n
}
