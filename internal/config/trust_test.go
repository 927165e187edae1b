package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestParkMaxMustEndBeforeEventsGoStale: a parked decision is aged from its
// first failure; a retry.park_max not shorter than event.max_age would let
// one end as stale instead of dead-lettered, so it is refused naming both
// settings. The defaults are consistent.
func TestParkMaxMustEndBeforeEventsGoStale(t *testing.T) {
	t.Parallel()
	if _, err := Load("", mapLookup(validEnv())); err != nil {
		t.Fatalf("defaults refused: %v", err)
	}
	env := validEnv()
	env["TRIPLINE_RETRY_PARK_MAX"], env["TRIPLINE_MAX_EVENT_AGE"] = "24h", "24h"
	_, err := Load("", mapLookup(env))
	if err == nil || !strings.Contains(err.Error(), "retry.park_max") || !strings.Contains(err.Error(), "event.max_age") {
		t.Fatalf("park_max = max_age: %v, want an error naming both", err)
	}
	env["TRIPLINE_MAX_EVENT_AGE"] = "0"
	if _, err := Load("", mapLookup(env)); err != nil {
		t.Errorf("with the event-age limit off any park_max goes: %v", err)
	}
}

// TestPreviousSigningKey: the previous key needs a current one, differs
// from it and is as long as a key must be; the ring verifies under both.
func TestPreviousSigningKey(t *testing.T) {
	t.Parallel()
	env := validEnv()
	env["TRIPLINE_DLQ_SIGNING_KEY_PREVIOUS"] = "the-old-signing-key-0123456789"
	if _, err := Load("", mapLookup(env)); err == nil || !strings.Contains(err.Error(), "needs kafka.dlq_signing_key") {
		t.Errorf("previous without current: %v", err)
	}
	env["TRIPLINE_DLQ_SIGNING_KEY"] = "the-old-signing-key-0123456789"
	if _, err := Load("", mapLookup(env)); err == nil || !strings.Contains(err.Error(), "is the same as") {
		t.Errorf("previous equal to current: %v", err)
	}
	env["TRIPLINE_DLQ_SIGNING_KEY"] = "the-new-signing-key-9876543210"
	cfg, err := Load("", mapLookup(env))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := cfg.Kafka.SigningKeys()
	if err != nil || !keys.Signs() || !keys.HasPrevious() {
		t.Fatalf("SigningKeys = %v, %v", keys, err)
	}
	if printed := fmt.Sprintf("%v %+v", cfg, cfg); strings.Contains(printed, "the-old-signing-key") {
		t.Error("the previous key is printed with the configuration")
	}
}
