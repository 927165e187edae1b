package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/eventtest"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// approveRule asks for approval before suspending the user of a risky
// sign-in.
const approveRule = `
rules:
  - id: risky_approve
    description: successful sign-in with high or critical risk, suspended once a person approves
    severity: high
    mode: approve
    approval_timeout: 30m
    when: outcome == "success" && risk in ["high", "critical"]
    action: suspend
    reason: "risky sign-in"
    tests:
      - name: risky
        event: {user_email: a@example.com, outcome: success, risk: high}
        expect: {match: true}
      - name: benign
        event: {user_email: a@example.com, outcome: success, risk: low}
        expect: {match: false}
`

// approvalWorld is an end-to-end world with the approve rule and a running
// consumer whose clock the test moves.
func approvalWorld(t *testing.T) (*e2e, *app.Main, *app.OffsetClock, string) {
	t.Helper()
	e := newE2E(t, "signins", opsim.Seed{})
	if err := eventtest.WriteRulesDir(e.cfg.Rules.Dir, approveRule); err != nil {
		t.Fatal(err)
	}
	clk := &app.OffsetClock{}
	ctx, cancel := context.WithCancel(t.Context())
	m, err := app.NewMain(ctx, e.cfg, app.Options{Log: io.Discard, Lookup: func(string) (string, bool) { return "", false }, Now: clk.Now, ApprovalTick: 50 * time.Millisecond})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		m.Close()
	})
	return e, m, clk, writeCLIConfig(t, t.TempDir(), e.cfg)
}

// pendingFor waits for the pending approval of a user and returns it.
func pendingFor(t *testing.T, m *app.Main, email string) remediate.Approval {
	t.Helper()
	var found remediate.Approval
	waitFor(t, "the approval of "+email, func() bool {
		for _, a := range m.Ledger().Approvals() {
			if a.UserEmail == email && a.State == remediate.ApprovalPending {
				found = a
				return true
			}
		}
		return false
	})
	return found
}

func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cmdApprovals(t.Context(), args, streams{out: &out, err: &errb})
	return code, out.String() + errb.String()
}

// TestEndToEndApprovalThroughTheCLI: an approve rule's decision waits as a
// pending action (listed by the CLI, no call made); `approvals approve`
// has the running consumer carry it out once; a second answer, and an
// answer to an unknown action, exit non-zero and change nothing.
func TestEndToEndApprovalThroughTheCLI(t *testing.T) {
	e, m, _, cfgPath := approvalWorld(t)
	t.Setenv("TRIPLINE_DLQ_SIGNING_KEY", e.cfg.Kafka.DLQSigningKey.Reveal())
	e.produce("signins", kafka.Message{Value: oktaSignIn("r1", "user00003@example.com", "HIGH")})
	a := pendingFor(t, m, "user00003@example.com")
	if n := len(e.suspendCalls()); n != 0 {
		t.Fatalf("%d suspend calls before the approval", n)
	}
	code, out := runCLI(t, "list", "--json", "--config", cfgPath)
	var listed map[string]any
	if code != 0 || json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &listed) != nil ||
		listed["id"] != a.ID || listed["rule_id"] != "risky_approve" || listed["user"] != "user00003@example.com" || listed["op_user_id"] != a.UserID || listed["expires"] == nil {
		t.Fatalf("approvals list --json: exit %d\n%s", code, out)
	}
	code, out = runCLI(t, "approve", a.ID, "--by", "dana", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "approved "+a.ID+" by dana") || !strings.Contains(out, "suspended") {
		t.Fatalf("approvals approve: exit %d\n%s", code, out)
	}
	if e.state("user00003@example.com") != "SUSPENDED" || len(e.suspendCalls()) != 1 {
		t.Errorf("user %s after %d suspend calls, want SUSPENDED after 1", e.state("user00003@example.com"), len(e.suspendCalls()))
	}
	// The CLI may read the consumer's write before the consumer applies it
	// itself: wait for the consumer's own ledger.
	waitFor(t, "the consumer's ledger to hold the outcome", func() bool { got, _ := m.Ledger().Approval(a.ID); return got.Result != "" })
	got, _ := m.Ledger().Approval(a.ID)
	if got.DecidedBy != "dana" || got.Channel != "cli" || got.Result != remediate.ResultSuspended {
		t.Errorf("approval after approve %+v", got)
	}
	if code, out := runCLI(t, "deny", a.ID, "--by", "lee", "--reason", "late", "--config", cfgPath); code != 1 || !strings.Contains(out, "already approved by dana") {
		t.Errorf("deny after approve: exit %d\n%s", code, out)
	}
	if code, _ := runCLI(t, "approve", "ap_nosuchthing", "--by", "dana", "--config", cfgPath); code != 1 {
		t.Errorf("approve of an unknown action: exit %d, want 1", code)
	}
	if len(e.suspendCalls()) != 1 {
		t.Errorf("%d suspend calls in all, want 1", len(e.suspendCalls()))
	}
}

// TestEndToEndFirstAnswerWins: two answers written back to back (approve,
// then deny) to the approvals topic: the first decides, the second changes
// nothing, and the user is suspended once.
func TestEndToEndFirstAnswerWins(t *testing.T) {
	e, m, _, _ := approvalWorld(t)
	e.produce("signins", kafka.Message{Value: oktaSignIn("r1", "user00004@example.com", "HIGH")})
	a := pendingFor(t, m, "user00004@example.com")
	first, err := m.WriteAnswer(t.Context(), a.Bind(remediate.Answer{Kind: remediate.AnswerApprove, By: "U_DANA", Channel: "slack"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.WriteAnswer(t.Context(), a.Bind(remediate.Answer{Kind: remediate.AnswerDeny, By: "U_LEE", Channel: "slack", Reason: "no"})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the approved action carried out", func() bool {
		got, _ := m.Ledger().Approval(a.ID)
		return got.Result != ""
	})
	got, _ := m.Ledger().Approval(a.ID)
	if got.State != remediate.ApprovalApproved || got.Answer != first.Nonce || got.DecidedBy != "U_DANA" {
		t.Errorf("approval %+v: want approved by the first answer", got)
	}
	if e.state("user00004@example.com") != "SUSPENDED" || len(e.suspendCalls()) != 1 {
		t.Errorf("user %s after %d suspend calls", e.state("user00004@example.com"), len(e.suspendCalls()))
	}
}

// TestEndToEndUnansweredApprovalExpires: nobody answers; at half time the
// clock reminds, at expiry it denies; an approve answer afterwards exits
// non-zero and nothing is ever called.
func TestEndToEndUnansweredApprovalExpires(t *testing.T) {
	e, m, clk, cfgPath := approvalWorld(t)
	t.Setenv("TRIPLINE_DLQ_SIGNING_KEY", e.cfg.Kafka.DLQSigningKey.Reveal())
	e.produce("signins", kafka.Message{Value: oktaSignIn("r1", "user00005@example.com", "HIGH")})
	a := pendingFor(t, m, "user00005@example.com")
	clk.Forward(16 * time.Minute)
	waitFor(t, "the reminder", func() bool { got, _ := m.Ledger().Approval(a.ID); return got.Reminded })
	clk.Forward(15 * time.Minute)
	waitFor(t, "the expiry", func() bool { got, _ := m.Ledger().Approval(a.ID); return got.State == remediate.ApprovalExpired })
	got, _ := m.Ledger().Approval(a.ID)
	if got.Channel != "timeout" || got.Result != "" {
		t.Errorf("expired approval %+v", got)
	}
	// The consumer's clock now runs 31 minutes ahead of the CLI's: the CLI
	// accepts its records only with a clock skew allowance that large (by
	// default it refuses records dated more than 5 minutes ahead).
	t.Setenv("TRIPLINE_MAX_CLOCK_SKEW", "1h")
	if code, out := runCLI(t, "approve", a.ID, "--by", "dana", "--config", cfgPath); code != 1 || !strings.Contains(out, "already expired") {
		t.Errorf("approve after expiry: exit %d\n%s", code, out)
	}
	if n := len(e.suspendCalls()); n != 0 || e.state("user00005@example.com") != "ACTIVE" {
		t.Errorf("%d suspend calls, user %s: an expired action was carried out", n, e.state("user00005@example.com"))
	}
}
