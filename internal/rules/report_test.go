package rules

import (
	"strings"
	"testing"
)

func TestWriteTestResultsRendersAFailure(t *testing.T) {
	action, reason := "suspend", "risky"
	results := []TestResult{
		{RuleID: "r1", Name: "ok", File: "r.yaml", Line: 3, Pass: true},
		{RuleID: "r1", Name: "bad", File: "r.yaml", Line: 9, Problems: []string{"action differs"},
			Expect: Expect{Match: true, Action: &action, Reason: &reason},
			Got:    Outcome{Match: true, Action: "log", User: "a@example.com", Reason: "risky"}},
		{RuleID: "r2", Name: "err", File: "s.yaml", Line: 4, Got: Outcome{Error: "boom"}},
	}
	var b strings.Builder
	passed, failed := WriteTestResults(&b, results)
	want := `PASS r1 "ok" (r.yaml:3)
FAIL r1 "bad" (r.yaml:9)
    action differs
    expected: match=true action=suspend reason="risky"
    got:      match=true action=log user=a@example.com reason="risky"
FAIL r2 "err" (s.yaml:4)
    expected: match=false
    got:      match=false error="boom"
`
	if passed != 1 || failed != 2 || b.String() != want {
		t.Errorf("passed %d, failed %d, wrote:\n%s\nwant:\n%s", passed, failed, b.String(), want)
	}
}
