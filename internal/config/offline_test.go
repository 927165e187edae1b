package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLoadOffline: an offline command needs no Kafka or 1Password
// settings, takes event settings from the file and the environment (the
// environment wins), and still refuses a bad value.
func TestLoadOffline(t *testing.T) {
	t.Parallel()
	cfg, err := LoadOffline("", mapLookup(nil))
	if err != nil || cfg.Event.MaxClockSkew != 5*time.Minute {
		t.Fatalf("defaults: max clock skew %s, error %v", cfg.Event.MaxClockSkew, err)
	}
	if _, err := Load("", mapLookup(nil)); err == nil {
		t.Fatal("Load accepts an empty configuration: this test needs one that only LoadOffline accepts")
	}
	file := filepath.Join(t.TempDir(), "tripline.yaml")
	if err := os.WriteFile(file, []byte("event:\n  max_clock_skew: 0s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err := LoadOffline(file, mapLookup(nil)); err != nil || cfg.Event.MaxClockSkew != 0 {
		t.Errorf("file: max clock skew %s, error %v", cfg.Event.MaxClockSkew, err)
	}
	if cfg, err := LoadOffline(file, mapLookup(map[string]string{"TRIPLINE_MAX_CLOCK_SKEW": "90s"})); err != nil || cfg.Event.MaxClockSkew != 90*time.Second {
		t.Errorf("environment over file: max clock skew %s, error %v", cfg.Event.MaxClockSkew, err)
	}
	_, err = LoadOffline("", mapLookup(map[string]string{"TRIPLINE_MAX_CLOCK_SKEW": "-1m", "TRIPLINE_MAX_EVENT_AGE": "soon"}))
	for _, want := range []string{"TRIPLINE_MAX_EVENT_AGE", "event.max_clock_skew (TRIPLINE_MAX_CLOCK_SKEW)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad values: error %v, want it to name %s", err, want)
		}
	}
}
