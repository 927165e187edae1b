package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/eventtest"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// TestEndToEndExceptionThroughTheCLI: `exceptions add` for a user (an
// email in another case, stored as given) and the rule spares that user's
// risky sign-in (audited excepted, no suspend call, still ACTIVE), and is
// listed; an exception for another rule spares nobody; `exceptions remove`
// ends it and the user's next risky sign-in suspends them.
func TestEndToEndExceptionThroughTheCLI(t *testing.T) {
	e, m, _, cfgPath, audits := ruleWorld(t, eventtest.RiskyRule)
	spared, other := "user00006@example.com", "user00007@example.com"
	code, out := runExceptions(t, "add", "--user", "User00006@Example.COM", "--rule", "risky_success", "--for", "2h", "--by", "dana", "--reason", "travelling", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "added exception ex_") {
		t.Fatalf("exceptions add: exit %d\n%s", code, out)
	}
	if code, out := runExceptions(t, "add", "--user", other, "--rule", "some_other_rule", "--for", "2h", "--by", "dana", "--reason", "another rule", "--config", cfgPath); code != 0 {
		t.Fatalf("exceptions add: exit %d\n%s", code, out)
	}
	code, out = runExceptions(t, "list", "--json", "--config", cfgPath)
	x := listedException(t, out, "User00006@Example.COM")
	if code != 0 || x.Rule != "risky_success" || x.By != "dana" || x.Reason != "travelling" || x.State != "active" || x.Expires.Sub(x.Created) != 2*time.Hour {
		t.Fatalf("exceptions list --json: exit %d, listed %+v\n%s", code, x, out)
	}
	waitFor(t, "the running consumer to see the exceptions", func() bool { return len(m.Ledger().Exceptions()) == 2 })

	e.produce("signins", kafka.Message{Value: oktaSignIn("x1", spared, "HIGH")}, kafka.Message{Value: oktaSignIn("o1", other, "HIGH")})
	waitFor(t, "the excepted decision and the other user's suspension", func() bool {
		return len(audits.of(spared, remediate.ResultExcepted)) == 1 && e.state(other) == "SUSPENDED"
	})
	if rec := audits.of(spared, remediate.ResultExcepted)[0]; !strings.Contains(rec.Detail, x.ID) || rec.RuleID != "risky_success" {
		t.Errorf("excepted audit record %+v", rec)
	}
	if e.state(spared) != "ACTIVE" || len(e.suspendCalls()) != 1 {
		t.Errorf("%s is %s, %d suspend calls in all: want ACTIVE, and only %s suspended", spared, e.state(spared), len(e.suspendCalls()), other)
	}

	code, out = runExceptions(t, "remove", x.ID, "--by", "lee", "--reason", "back home", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "removed exception "+x.ID) {
		t.Fatalf("exceptions remove: exit %d\n%s", code, out)
	}
	if code, out := runExceptions(t, "list", "--all", "--config", cfgPath); code != 0 || !strings.Contains(out, "removed by lee") {
		t.Errorf("exceptions list --all after remove: exit %d\n%s", code, out)
	}
	if code, out := runExceptions(t, "list", "--config", cfgPath); code != 0 || strings.Contains(out, x.ID) {
		t.Errorf("exceptions list after remove: exit %d, still lists %s\n%s", code, x.ID, out)
	}
	if code, out := runExceptions(t, "remove", x.ID, "--by", "lee", "--reason", "again", "--config", cfgPath); code != 1 || !strings.Contains(out, "not in force") {
		t.Errorf("remove of a removed exception: exit %d\n%s", code, out)
	}
	waitFor(t, "the running consumer to see the removal", func() bool {
		for _, got := range m.Ledger().Exceptions() {
			if got.ID == x.ID {
				return !got.RemovedAt.IsZero()
			}
		}
		return false
	})
	e.produce("signins", kafka.Message{Value: oktaSignIn("x2", spared, "HIGH")})
	waitFor(t, "the user suspended once the exception is removed", func() bool { return e.state(spared) == "SUSPENDED" })
	if n := len(e.suspendCalls()); n != 2 {
		t.Errorf("%d suspend calls in all, want 2", n)
	}
}

// exceptionLine is one line of `exceptions list --json`.
type exceptionLine struct {
	remediate.Exception
	State string `json:"state"`
}

// listedException finds user's line in the output of `exceptions list
// --json`.
func listedException(t *testing.T, out, user string) exceptionLine {
	t.Helper()
	for line := range strings.Lines(out) {
		var v exceptionLine
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("exceptions list --json: %v in %q", err, line)
		}
		if v.User == user {
			return v
		}
	}
	return exceptionLine{}
}

func runExceptions(t *testing.T, args ...string) (int, string) {
	t.Helper()
	code, out, errs := runCmd(t, cmdExceptions, "", args...)
	t.Logf("consumer exceptions %q: exit %d\n%s%s", args, code, out, errs)
	return code, out + errs
}

// TestExceptionsUsage: help on stdout (exit 0); a missing or unknown
// subcommand, a missing flag or ID, a duration that does not parse, is not
// positive or is over 30 days exit 2 before anything is read.
func TestExceptionsUsage(t *testing.T) {
	t.Parallel()
	if code, out, _ := runCmd(t, cmdExceptions, "", "--help"); code != 0 || !strings.Contains(out, "consumer exceptions add --user EMAIL|ID") {
		t.Errorf("exceptions --help: exit %d\n%s", code, out)
	}
	add := func(extra ...string) []string {
		return append([]string{"add", "--user", "a@example.com", "--rule", "risky_success", "--by", "dana", "--reason", "why"}, extra...)
	}
	cases := []struct {
		args []string
		want string
	}{
		{nil, "Usage:"},
		{[]string{"frob"}, `unknown subcommand "frob"`},
		{add(), "missing --for"},
		{[]string{"add", "--rule", "*", "--for", "1h", "--by", "dana", "--reason", "why"}, "missing --user"},
		{[]string{"add", "--user", "a@example.com", "--for", "1h", "--by", "dana", "--reason", "why"}, "missing --rule"},
		{[]string{"add", "--user", "a@example.com", "--rule", "*", "--for", "1h", "--reason", "why"}, "missing --by"},
		{[]string{"add", "--user", "a@example.com", "--rule", "*", "--for", "1h", "--by", "dana"}, "missing --reason"},
		{add("--for", "a week"), "invalid value"},
		{add("--for", "721h"), "at most 720h"},
		{add("--for", "-1h"), "at most 720h"},
		{add("--for", "1h", "extra"), "unexpected argument"},
		{[]string{"remove", "--by", "dana", "--reason", "why"}, "missing the exception's ID"},
		{[]string{"remove", "ex_1", "--reason", "why"}, "missing --by"},
		{[]string{"remove", "ex_1", "--by", "dana"}, "missing --reason"},
		{[]string{"remove", "ex_1", "--for", "1h", "--by", "dana", "--reason", "why"}, "only for add"},
		{[]string{"list", "ex_1"}, "unexpected argument"},
	}
	for _, c := range cases {
		if code, _, errs := runCmd(t, cmdExceptions, "", c.args...); code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("exceptions %q: exit %d, stderr %q; want 2 and %q", c.args, code, errs, c.want)
		}
	}
}
