package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/eventtest"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// timedRule suspends the user of a risky sign-in for an hour.
const timedRule = `
rules:
  - id: risky_timed
    description: successful sign-in with high or critical risk, suspended for an hour
    severity: high
    mode: enforce
    suspend_for: 1h
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

// auditLog keeps the audit records of a running consumer.
type auditLog struct {
	mu   sync.Mutex
	recs []remediate.Record
}

func (a *auditLog) Audit(_ context.Context, r remediate.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.recs = append(a.recs, r)
	return nil
}

// of returns the records of email with result.
func (a *auditLog) of(email string, result remediate.Result) []remediate.Record {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []remediate.Record
	for _, r := range a.recs {
		if r.UserEmail == email && r.Result == string(result) {
			out = append(out, r)
		}
	}
	return out
}

// ruleWorld is an end-to-end world with rulesYAML, a running consumer
// whose clock the test moves and whose audit records it keeps, and a
// configuration file for the CLI.
func ruleWorld(t *testing.T, rulesYAML string) (*e2e, *app.Main, *app.OffsetClock, string, *auditLog) {
	t.Helper()
	e := newE2E(t, "signins", opsim.Seed{})
	if err := eventtest.WriteRulesDir(e.cfg.Rules.Dir, rulesYAML); err != nil {
		t.Fatal(err)
	}
	clk, audits := &app.OffsetClock{}, &auditLog{}
	m, _ := startConsumer(t, e, clk, audits)
	return e, m, clk, writeCLIConfig(t, t.TempDir(), e.cfg), audits
}

// startConsumer runs a consumer in e on clk, auditing to audits; stop
// stops it and reports how its run ended (the test's cleanup stops it
// otherwise).
func startConsumer(t *testing.T, e *e2e, clk *app.OffsetClock, audits *auditLog) (m *app.Main, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	m, err := app.NewMain(ctx, e.cfg, app.Options{Log: io.Discard, Lookup: func(string) (string, bool) { return "", false },
		Now: clk.Now, ApprovalTick: 50 * time.Millisecond, Auditor: audits})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		m.Close()
	})
	t.Cleanup(stop)
	return m, stop
}

// reactivateCalls counts the answered reactivate calls for email's user.
func (e *e2e) reactivateCalls(email string) int {
	u, _ := e.sb.Sim().UserByEmail(email)
	n := 0
	for _, r := range e.sb.Sim().Requests() {
		if strings.HasSuffix(r.Path, u.ID+":reactivate") && r.Status == 200 {
			n++
		}
	}
	return n
}

// TestEndToEndTimedContainmentThroughTheCLI: a rule with suspend_for: 1h
// suspends three users; `containment list` shows them with their ends;
// `extend --for 2h` moves one's end by two hours and `keep` makes it
// permanent (past its end it stays SUSPENDED, no reactivate call); `lift`
// reactivates another now (one call); the third's suspension ends by itself
// once the consumer's clock passes its end (one call, audited "timed
// suspension ended").
func TestEndToEndTimedContainmentThroughTheCLI(t *testing.T) {
	e, m, clk, cfgPath, audits := ruleWorld(t, timedRule)
	kept, lifted, ended := "user00003@example.com", "user00004@example.com", "user00005@example.com"
	e.produce("signins", kafka.Message{Value: oktaSignIn("r1", kept, "HIGH")}, kafka.Message{Value: oktaSignIn("r2", lifted, "HIGH")},
		kafka.Message{Value: oktaSignIn("r3", ended, "HIGH")})
	waitFor(t, "three timed suspensions", func() bool { return len(m.Ledger().Containments()) == 3 })
	was, _ := m.Ledger().Contained(kept)
	for _, u := range []string{kept, lifted, ended} {
		if c, ok := m.Ledger().Contained(u); !ok || e.state(u) != "SUSPENDED" || c.Rule != "risky_timed" || c.Ends.Sub(c.Since) != time.Hour {
			t.Fatalf("%s is %s, timed suspension %+v: want SUSPENDED for 1h by risky_timed", u, e.state(u), c)
		}
	}

	code, out := runContainment(t, "list", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "risky_timed") || !strings.Contains(out, was.Ends.UTC().Format(time.RFC3339)) || !strings.Contains(out, "ends in") {
		t.Fatalf("containment list: exit %d\n%s", code, out)
	}
	for _, u := range []string{kept, lifted, ended} {
		if !strings.Contains(out, u) {
			t.Errorf("containment list lacks %s:\n%s", u, out)
		}
	}
	code, out = runContainment(t, "list", "--json", "--config", cfgPath)
	if v := listedContainment(t, out, kept); code != 0 || v.OPUserID != was.UserID || v.RuleID != "risky_timed" || !v.Ends.Equal(was.Ends) || v.Times != 1 {
		t.Fatalf("containment list --json: exit %d, %s listed as %+v\n%s", code, kept, v, out)
	}

	// The CLI reports what the state topic says; the consumer that wrote
	// it applies its own write a moment after the topic has it.
	extended := was.Ends.Add(2 * time.Hour)
	code, out = runContainment(t, "extend", kept, "--for", "2h", "--by", "dana", "--reason", "still investigating", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "extended the timed suspension of "+kept) || !strings.Contains(out, "to "+extended.UTC().Format(time.RFC3339)) {
		t.Fatalf("containment extend: exit %d, want the end moved to %s\n%s", code, extended, out)
	}
	waitFor(t, "the consumer to apply the extension", func() bool { got, _ := m.Ledger().Contained(kept); return got.Ends.Equal(extended) })
	code, out = runContainment(t, "keep", kept, "--by", "dana", "--reason", "confirmed compromise", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "kept the suspension of "+kept) {
		t.Fatalf("containment keep: exit %d\n%s", code, out)
	}
	waitFor(t, "the consumer to apply the keep", func() bool { _, still := m.Ledger().Contained(kept); return !still })
	// The keep is audited after it is recorded.
	waitFor(t, "the audit record of the keep", func() bool { return len(audits.of(kept, remediate.ResultContainmentKept)) == 1 })
	if code, out := runContainment(t, "keep", kept, "--by", "dana", "--reason", "again", "--config", cfgPath); code != 1 || !strings.Contains(out, "no timed suspension in force") {
		t.Errorf("keep of a kept suspension: exit %d\n%s", code, out)
	}

	code, out = runContainment(t, "lift", lifted, "--by", "lee", "--reason", "false positive", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "lifted the timed suspension of "+lifted) || e.state(lifted) != "ACTIVE" || e.reactivateCalls(lifted) != 1 {
		t.Fatalf("containment lift: exit %d, %s is %s after %d reactivate calls\n%s", code, lifted, e.state(lifted), e.reactivateCalls(lifted), out)
	}

	// Past the kept suspension's extended end (3h), and the third one's (1h).
	clk.Forward(3*time.Hour + time.Minute)
	waitFor(t, "the last timed suspension to end, audited", func() bool {
		return len(m.Ledger().Containments()) == 0 && len(audits.of(ended, remediate.ResultReactivated)) > 0
	})
	if e.state(ended) != "ACTIVE" || e.reactivateCalls(ended) != 1 {
		t.Errorf("%s is %s after %d reactivate calls: want ACTIVE after 1", ended, e.state(ended), e.reactivateCalls(ended))
	}
	if recs := audits.of(ended, remediate.ResultReactivated); len(recs) != 1 || recs[0].Detail != "timed suspension ended" {
		t.Errorf("audit records of the end: %+v", recs)
	}
	if e.state(kept) != "SUSPENDED" || e.reactivateCalls(kept) != 0 {
		t.Errorf("kept user %s is %s after %d reactivate calls: want SUSPENDED, never reactivated", kept, e.state(kept), e.reactivateCalls(kept))
	}
	if e.reactivateCalls(lifted) != 1 {
		t.Errorf("lifted user: %d reactivate calls in all, want 1", e.reactivateCalls(lifted))
	}
}

// TestEndToEndAnEndDueWhileDownHappensAtStart: a consumer suspends a user
// for an hour and stops; the hour passes while no consumer runs; the next
// consumer to start reactivates the user, once, from what the state topic
// says (nothing else tells it the suspension was timed).
func TestEndToEndAnEndDueWhileDownHappensAtStart(t *testing.T) {
	e := newE2E(t, "signins", opsim.Seed{})
	if err := eventtest.WriteRulesDir(e.cfg.Rules.Dir, timedRule); err != nil {
		t.Fatal(err)
	}
	clk, audits := &app.OffsetClock{}, &auditLog{}
	first, stop := startConsumer(t, e, clk, audits)
	user := "user00006@example.com"
	e.produce("signins", kafka.Message{Value: oktaSignIn("r1", user, "HIGH")})
	waitFor(t, "the timed suspension", func() bool { _, ok := first.Ledger().Contained(user); return ok })
	stop()
	if e.state(user) != "SUSPENDED" || e.reactivateCalls(user) != 0 {
		t.Fatalf("%s is %s after %d reactivate calls before the end: want SUSPENDED, none", user, e.state(user), e.reactivateCalls(user))
	}

	clk.Forward(time.Hour + time.Minute)
	next, _ := startConsumer(t, e, clk, audits)
	waitFor(t, "the end, carried out at start", func() bool {
		_, still := next.Ledger().Contained(user)
		return !still && len(audits.of(user, remediate.ResultReactivated)) == 1
	})
	if e.state(user) != "ACTIVE" || e.reactivateCalls(user) != 1 {
		t.Errorf("%s is %s after %d reactivate calls: want ACTIVE after 1", user, e.state(user), e.reactivateCalls(user))
	}
}

// containmentLine is one line of `containment list --json`.
type containmentLine struct {
	User     string    `json:"user"`
	OPUserID string    `json:"op_user_id"`
	RuleID   string    `json:"rule_id"`
	Ends     time.Time `json:"ends"`
	Times    int       `json:"times"`
}

// listedContainment finds email's line in the output of `containment list
// --json`.
func listedContainment(t *testing.T, out, email string) containmentLine {
	t.Helper()
	for line := range strings.Lines(out) {
		var v containmentLine
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("containment list --json: %v in %q", err, line)
		}
		if v.User == email {
			return v
		}
	}
	return containmentLine{}
}

func runContainment(t *testing.T, args ...string) (int, string) {
	t.Helper()
	code, out, errs := runCmd(t, cmdContainment, "", args...)
	t.Logf("consumer containment %q: exit %d\n%s%s", args, code, out, errs)
	return code, out + errs
}

// TestContainmentUsage: help on stdout (exit 0); a missing or unknown
// subcommand, a missing USER, --by, --reason or --for, a --for that does
// not parse or is out of bounds exit 2 before anything is read.
func TestContainmentUsage(t *testing.T) {
	t.Parallel()
	if code, out, _ := runCmd(t, cmdContainment, "", "--help"); code != 0 || !strings.Contains(out, "consumer containment extend USER --for DURATION") {
		t.Errorf("containment --help: exit %d\n%s", code, out)
	}
	if code, out, _ := runCmd(t, cmdContainment, "", "keep", "--help"); code != 0 || !strings.Contains(out, "Exit status") {
		t.Errorf("containment keep --help: exit %d\n%s", code, out)
	}
	cases := []struct {
		args []string
		want string
	}{
		{nil, "Usage:"},
		{[]string{"frob"}, `unknown subcommand "frob"`},
		{[]string{"keep", "--by", "dana", "--reason", "why"}, "missing USER"},
		{[]string{"keep", "a@example.com", "--reason", "why"}, "missing --by"},
		{[]string{"lift", "a@example.com", "--by", "dana"}, "missing --reason"},
		{[]string{"lift", "a@example.com", "--by", " ", "--reason", "why"}, "missing --by"},
		{[]string{"extend", "a@example.com", "--by", "dana", "--reason", "why"}, "missing --for"},
		{[]string{"extend", "a@example.com", "--for", "soon", "--by", "dana", "--reason", "why"}, "invalid value"},
		{[]string{"extend", "a@example.com", "--for", "30s", "--by", "dana", "--reason", "why"}, "want between 1m and 720h"},
		{[]string{"extend", "a@example.com", "--for", "721h", "--by", "dana", "--reason", "why"}, "want between 1m and 720h"},
		{[]string{"extend", "a@example.com", "--for", "-1h", "--by", "dana", "--reason", "why"}, "want between 1m and 720h"},
		{[]string{"keep", "a@example.com", "--for", "1h", "--by", "dana", "--reason", "why"}, "--for is only for extend"},
		{[]string{"keep", "a@example.com", "b@example.com", "--by", "dana", "--reason", "why"}, "unexpected arguments"},
		{[]string{"list", "a@example.com"}, "unexpected argument"},
	}
	for _, c := range cases {
		if code, _, errs := runCmd(t, cmdContainment, "", c.args...); code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("containment %q: exit %d, stderr %q; want 2 and %q", c.args, code, errs, c.want)
		}
	}
}
