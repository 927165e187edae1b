package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/pipeline"
)

// limitedClient seeds the simulator with one OAuth client holding only
// perms.
func limitedClient(perms ...string) opsim.Seed {
	return opsim.Seed{Clients: []opsim.ClientSeed{{ID: "limited", Secret: "limited-client-secret", Permissions: perms}}}
}

// TestStartRefusesAnAppThatCannotGetUsers: an OAuth application without
// the "get user" permission stops tripline at start, and the error names
// the permission.
func TestStartRefusesAnAppThatCannotGetUsers(t *testing.T) {
	e := newE2E(t, "signins", limitedClient("list", "suspend"))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	m, err := app.NewMain(ctx, e.cfg, app.Options{Log: io.Discard, Lookup: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	err = m.Run(ctx)
	if err == nil || !strings.Contains(err.Error(), `"get user" permission`) {
		t.Fatalf("Run = %v, want an error naming the get user permission", err)
	}
}

// TestA403OnSuspendNamesThePermission: without "suspend users", the risky
// sign-in is dead-lettered as permission_denied with a message naming it.
func TestA403OnSuspendNamesThePermission(t *testing.T) {
	e := newE2E(t, "signins", limitedClient("list", "get"))
	e.produce("signins", kafka.Message{Value: oktaSignIn("r1", "user00002@example.com", "HIGH")})
	m, stop := e.run()
	waitFor(t, "the message committed", func() bool { return m.Stats().Committed >= 1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	d := e.deadLetters(1)[0]
	if pipeline.HeaderValue(d, pipeline.HeaderErrorClass) != "permission_denied" || !strings.Contains(pipeline.HeaderValue(d, pipeline.HeaderErrorMessage), `"suspend users" permission`) {
		t.Errorf("dlq headers %v", d.Headers)
	}
}
