package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"text/tabwriter"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// The demo's timed containment and exception. The shipped rules stay as
// they are (a rule with suspend_for needs the OAuth application's
// "reactivate users" permission, which would surprise a deployment): the
// demo runs a temporary copy of the rule directory with one rule of its
// own, demoRuleID, that suspends for demoSuspendFor. And before the events
// arrive, security adds an exception that spares one person from
// risky_signin_success.

const (
	// demoRuleID suspends, for demoSuspendFor, a user who signed in from a
	// trusted network with high risk (risky_signin_success leaves trusted
	// networks alone).
	demoRuleID     = "demo_risky_inside"
	demoSuspendFor = 2 * time.Hour
	// demoOfficeIP is the trusted network the contained person signs in
	// from (rules/lists.yaml: trusted_networks).
	demoOfficeIP = "10.20.30.40"
	// exceptedRule is the rule the exception spares its person from.
	exceptedRule = "risky_signin_success"
	exceptionFor = 7 * 24 * time.Hour
	exceptionBy  = "demo-security"
	exceptionWhy = "travelling to the Bucharest office this week, sign-ins from there expected"
)

// demoRule is the demo's own rule file, with the inline tests a rule that
// acts needs to load.
const demoRule = `# Written by consumer demo into its temporary copy of the rules: not a
# shipped rule. A rule with suspend_for needs the OAuth application's
# "reactivate users" permission: tripline undoes its suspension itself.
rules:
  - id: ` + demoRuleID + `
    description: >
      Demo only: a successful sign-in rated high or critical risk from inside
      the trusted networks (risky_signin_success leaves those alone) suspends
      the user for two hours, the time to check the device; tripline
      reactivates the user when the time is up.
    severity: high
    mode: enforce
    action: suspend
    suspend_for: 2h
    when: >
      kind == "signin" && outcome == "success" && risk_at_least("high")
      && in_cidr(src_ip, "trusted_networks")
      && !in_list(user_email, "protected_accounts")
    reason: "successful sign-in rated {{ .risk }} risk from {{ .src_ip }}, a trusted network, via {{ .source }}"
    tests:
      - name: high risk from the office network
        event: {user_email: kai.moreno@example.com, outcome: success, risk: high, src_ip: ` + demoOfficeIP + `, source: okta, kind: signin, event_id: okta:demo-1}
        expect: {match: true, action: suspend, user: kai.moreno@example.com}
      - name: high risk from outside is risky_signin_success's
        event: {user_email: kai.moreno@example.com, outcome: success, risk: high, src_ip: 203.0.113.77, source: okta, kind: signin, event_id: okta:demo-2}
        expect: {match: false}
      - name: medium risk from the office network does not match
        event: {user_email: kai.moreno@example.com, outcome: success, risk: medium, src_ip: ` + demoOfficeIP + `, source: okta, kind: signin, event_id: okta:demo-3}
        expect: {match: false}
`

// demoRules copies the rule directory to a temporary one and adds the
// demo's rule; the caller removes the directory.
func demoRules(rulesDir string) (string, error) {
	dir, err := os.MkdirTemp("", "tripline-demo-rules-")
	if err != nil {
		return "", fmt.Errorf("copy the rules: %w", err)
	}
	if err := os.CopyFS(dir, os.DirFS(rulesDir)); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("copy the rules: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, demoRuleID+".yaml"), []byte(demoRule), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("copy the rules: %w", err)
	}
	return dir, nil
}

// exceptedPerson is the traveller the exception spares.
var exceptedPerson = demoMessage{sample: "okta-session-start-risky.json", person: "nina.patel", name: "Nina Patel",
	note: "Okta: risky sign-in of nina.patel, whom an exception spares (added before the events arrived)"}

// containedPerson signs in riskily from the office later on.
var containedPerson = demoMessage{sample: "okta-session-start-risky.json", person: "kai.moreno", name: "Kai Moreno", ip: demoOfficeIP,
	note: "Okta: risky sign-in of kai.moreno from the office network"}

// demoException plays security before the events arrive: it adds the
// exception as `consumer exceptions add` does, and returns once the
// running consumer m applied it.
func demoException(ctx context.Context, s streams, cfg config.Config, m *app.Main, logs io.Writer) error {
	out := &prefixWriter{w: s.out, prefix: "  "}
	fmt.Fprintf(s.out, "Before the events arrive, security spares a traveller from one rule for a week (an exception):\n"+
		"  $ consumer exceptions add --user %s --rule %s --for %s --by %s --reason %q\n",
		exceptedPerson.email(), exceptedRule, fmtDuration(exceptionFor), exceptionBy, exceptionWhy)
	cli, err := app.OpenLedger(ctx, cfg, logs)
	if err != nil {
		return err
	}
	x, err := cli.AddException(ctx, exceptedPerson.email(), exceptedRule, exceptionFor, exceptionBy, exceptionWhy, out)
	cli.Close()
	if err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := m.Ledger().Wait(waitCtx, func() bool {
		for _, have := range m.Ledger().Exceptions() {
			if have.ID == x.ID {
				return true
			}
		}
		return false
	}); err != nil {
		return fmt.Errorf("the consumer did not apply exception %s: %w", x.ID, err)
	}
	fmt.Fprintln(s.out)
	return nil
}

// containment plays the timed suspension while the consumer runs: the
// contained person's sign-in, the suspension until the end, then the
// clock moved past the end and the reactivation tripline carries out;
// and it says what the exception spared.
func (r *demoRun) containment(ctx context.Context, first int) error {
	out := &prefixWriter{w: r.s.out, prefix: "  "}
	email := containedPerson.email()
	fmt.Fprintf(r.s.out, "\nLater, %s signs in from the office network (%s, one of the trusted networks), rated HIGH risk.\n"+
		"risky_signin_success leaves trusted networks alone; the demo's own rule %s (suspend_for: %s)\n"+
		"suspends the user, for two hours only:\n", email, demoOfficeIP, demoRuleID, fmtDuration(demoSuspendFor))
	if _, err := produceDemo(ctx, r.sb, []demoMessage{containedPerson}, first, sdktrace.NewTracerProvider()); err != nil {
		return err
	}
	led := r.m.Ledger()
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var ct remediate.ContainedUser
	if err := led.Wait(waitCtx, func() bool {
		var ok bool
		ct, ok = led.Contained(email)
		return ok
	}); err != nil {
		return fmt.Errorf("%s was not suspended for a while by rule %s: %w", email, demoRuleID, err)
	}
	fmt.Fprintf(r.s.out, "  $ consumer containment list\n")
	if err := app.PrintContainments(out, []remediate.ContainedUser{ct}, false, r.clk.Now()); err != nil {
		return err
	}
	fmt.Fprintf(r.s.out, "\nTwo hours later (the demo moves its clock again) the approval clock writes the end, and tripline\n"+
		"reactivates the user, once, through the same guards (still its own suspension, nobody intervened).\n")
	r.clk.Forward(demoSuspendFor)
	if err := led.Wait(waitCtx, func() bool {
		e, _ := led.User(ct.UserID)
		return e.Containment == nil && e.Last != nil && e.Last.Action == string(remediate.ActionReactivate)
	}); err != nil {
		return fmt.Errorf("the timed suspension of %s did not end: %w", email, err)
	}
	end, err := r.audit.wait(waitCtx, func(rec remediate.Record) bool {
		return rec.UserID == ct.UserID && rec.Action == string(remediate.ActionReactivate)
	})
	if err != nil {
		return fmt.Errorf("no audit record of the end of the timed suspension of %s: %w", email, err)
	}
	u, _ := r.sb.sim.User(ct.UserID)
	printContainment(r.s.out, r.audit, ct, end, u.State)
	return nil
}

// printContainment is the summary of the timed suspension ct and its end,
// and of what the exception spared.
func printContainment(w io.Writer, audit *auditLog, ct remediate.ContainedUser, end remediate.Record, state string) {
	fmt.Fprintln(w, "\nTimed suspension and exception (tripline undoes its own timed suspension; an exception spares a user from a rule):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  %s\trule %s\tsuspended until %s (suspend_for %s, since %s)\n", ct.Email, ct.Rule,
		ct.Ends.UTC().Format(time.RFC3339), fmtDuration(ct.Ends.Sub(ct.Since)), ct.Since.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "  %s\trule %s\t%s: %s, now %s\n", end.UserEmail, end.RuleID, end.Result, end.Detail, state)
	for _, rec := range audit.records() {
		if rec.Result == string(remediate.ResultExcepted) {
			fmt.Fprintf(tw, "  %s\trule %s\t%s: %s\n", rec.UserEmail, rec.RuleID, rec.Result, rec.Detail)
		}
	}
	tw.Flush()
}

// fmtDuration writes whole hours as "2h".
func fmtDuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

// auditLog collects audit records for the summary.
type auditLog struct {
	mu   sync.Mutex
	recs []remediate.Record
	// added is closed (and replaced) at each record.
	added chan struct{}
}

func newAuditLog() *auditLog { return &auditLog{added: make(chan struct{})} }

// Audit implements remediate.Auditor.
func (a *auditLog) Audit(_ context.Context, rec remediate.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.recs = append(a.recs, rec)
	close(a.added)
	a.added = make(chan struct{})
	return nil
}

// records returns the records so far, in the order they came.
func (a *auditLog) records() []remediate.Record {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]remediate.Record(nil), a.recs...)
}

// wait returns the first record that match accepts, waiting for it until
// ctx is done.
func (a *auditLog) wait(ctx context.Context, match func(remediate.Record) bool) (remediate.Record, error) {
	for seen := 0; ; {
		a.mu.Lock()
		recs, added := a.recs[seen:], a.added
		seen = len(a.recs)
		a.mu.Unlock()
		for _, rec := range recs {
			if match(rec) {
				return rec, nil
			}
		}
		select {
		case <-ctx.Done():
			return remediate.Record{}, ctx.Err()
		case <-added:
		}
	}
}
