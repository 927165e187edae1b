package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/pipeline"
	"github.com/tripline-dev/tripline/internal/rules"
)

func TestPermissionsNeededFollowTheRules(t *testing.T) {
	t.Parallel()
	rule := func(mode, action string) rules.RuleInfo {
		return rules.RuleInfo{ID: mode + "_" + action, Mode: mode, Action: action, Enabled: true}
	}
	cases := []struct {
		rules []rules.RuleInfo
		want  string
	}{
		{nil, "[list users get user]"},
		{[]rules.RuleInfo{rule(rules.ModeShadow, rules.ActionSuspend), rule(rules.ModeShadow, rules.ActionReactivate)}, "[list users get user]"},
		{[]rules.RuleInfo{rule(rules.ModeEnforce, rules.ActionSuspend)}, "[list users get user suspend users]"},
		{[]rules.RuleInfo{rule(rules.ModeApprove, rules.ActionSuspend), rule(rules.ModeApprove, rules.ActionReactivate)}, "[list users get user suspend users reactivate users]"},
		{[]rules.RuleInfo{{ID: "off", Mode: rules.ModeEnforce, Action: rules.ActionSuspend}}, "[list users get user]"},
	}
	for i, c := range cases {
		if got := fmt.Sprint(permissionsNeeded(c.rules)); got != c.want {
			t.Errorf("case %d: %s, want %s", i, got, c.want)
		}
	}
}

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
	m, err := NewMain(ctx, e.cfg, Options{Log: io.Discard, Lookup: func(string) (string, bool) { return "", false }})
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
