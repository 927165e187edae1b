package config

import (
	"strings"
	"testing"
	"time"
)

// TestLedgerRetention: 90 days by default, set from
// TRIPLINE_LEDGER_RETENTION, and refused below 30 days or not longer than
// event.max_age.
func TestLedgerRetention(t *testing.T) {
	t.Parallel()
	env := validEnv()
	cfg, err := Load("", mapLookup(env))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Ledger.Retention; got != 90*24*time.Hour {
		t.Errorf("default retention %s, want 2160h (90 days)", got)
	}
	env["TRIPLINE_LEDGER_RETENTION"] = "4320h"
	if cfg, err = Load("", mapLookup(env)); err != nil || cfg.Ledger.Retention != 180*24*time.Hour {
		t.Errorf("TRIPLINE_LEDGER_RETENTION=4320h: retention %s, %v", cfg.Ledger.Retention, err)
	}
	for _, tc := range []struct {
		retention, maxAge time.Duration
		bad               string
	}{
		{30 * 24 * time.Hour, 24 * time.Hour, ""},
		{30*24*time.Hour - time.Second, 24 * time.Hour, "at least"},
		{0, 0, "at least"},
		{-time.Hour, 0, "at least"},
		{40 * 24 * time.Hour, 40 * 24 * time.Hour, "longer than event.max_age"},
		{40 * 24 * time.Hour, 0, ""},
	} {
		c := Default()
		c.Ledger.Retention, c.Event.MaxAge = tc.retention, tc.maxAge
		var problem string
		if err := c.Validate(); err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if strings.Contains(line, "ledger.retention") {
					problem = line
				}
			}
		}
		if (tc.bad == "") != (problem == "") || !strings.Contains(problem, tc.bad) {
			t.Errorf("retention %s, max age %s: problem %q, want one with %q", tc.retention, tc.maxAge, problem, tc.bad)
		}
	}
}
