package demo

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDemoRunsEndToEnd(t *testing.T) {
	var out, errb bytes.Buffer
	if err := Run(t.Context(), Config{RulesDir: "../../rules", Timeout: 60 * time.Second, Out: &out, Err: &errb}); err != nil {
		t.Fatalf("demo: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	got := out.String()
	for _, want := range []string{
		"dana.reyes@example.com", "rule risky_signin_success", "now SUSPENDED",
		"cannot_suspend", "user_not_found", "decode/invalid_json",
		"root@admins.example.com  rule risky_signin_success  blocked_protected  domain admins.example.com",
		"dana.reyes@example.com   rule risky_signin_success  duplicate          event already acted on",
		"19 events consumed", "5 users suspended", "6 dead-lettered", "19 offsets committed",
		"re-armed breaker global (by demo-operator: burst reviewed)",
		"replayed 6: acted 3, still failing 3, nothing to do 0, refused 0",
		"marco.bianchi@example.com  rule siem_alert_high  approval ap_", "$ consumer approvals list",
		"by demo-analyst: suspend of marco.bianchi@example.com", "siem_alert_high: suspended",
		"expired: suspend of priya.nair@example.com by rule siem_alert_high denied at", "never carried out (outcome approval_expired)",
		"Notifications a local webhook received (13, each signature checked", "breaker_open        rule -", "class cannot_suspend",
		// The exception, added before the events arrived, spares its person.
		"$ consumer exceptions add --user nina.patel@example.com --rule risky_signin_success --for 168h --by demo-security",
		"added exception ex_", "nina.patel@example.com is spared from rule risky_signin_success until",
		"nina.patel@example.com   rule risky_signin_success  excepted           exception ex_",
		"nina.patel@example.com  rule risky_signin_success  excepted: exception ex_",
		// The timed suspension of the demo's own rule, and its end.
		"plus the demo's own rule demo_risky_inside (suspend_for: 2h) in a temporary copy",
		"$ consumer containment list", "demo_risky_inside  ", "ends in 2h0m0s",
		"kai.moreno@example.com  rule demo_risky_inside     suspended until ",
		"kai.moreno@example.com  rule demo_risky_inside     reactivated: timed suspension ended, now ACTIVE",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo summary lacks %q:\n%s", want, got)
		}
	}
	// The end reactivates the user once, and only the end does.
	if n := regexp.MustCompile(`(?m)^  action +rule demo_risky_inside +\S+ +reactivated$`).FindAllString(got, -1); len(n) != 1 {
		t.Errorf("%d notifications of a reactivation by demo_risky_inside, want 1:\n%s", len(n), got)
	}
	// The burst's users are decided in parallel: which three the breaker
	// holds varies, that it holds three does not.
	if held := regexp.MustCompile(`user0000[1-6]@example.com  rule risky_signin_success  scope global`).FindAllString(got, -1); len(held) != 3 {
		t.Errorf("the breaker held %d of the burst's users, want 3:\n%s", len(held), got)
	}
}
