package rules

import (
	"fmt"
	"io"
	"strings"
)

// WriteTestResults writes PASS or FAIL for each inline test result to w,
// as `consumer rules test` prints them, with the problems and the expected
// and actual outcome of a failure, and returns how many passed and failed.
func WriteTestResults(w io.Writer, results []TestResult) (passed, failed int) {
	for _, r := range results {
		if r.Pass {
			passed++
			fmt.Fprintf(w, "PASS %s %q (%s:%d)\n", r.RuleID, r.Name, r.File, r.Line)
			continue
		}
		failed++
		fmt.Fprintf(w, "FAIL %s %q (%s:%d)\n", r.RuleID, r.Name, r.File, r.Line)
		for _, p := range r.Problems {
			fmt.Fprintf(w, "    %s\n", p)
		}
		fmt.Fprintf(w, "    expected: %s\n    got:      %s\n", r.Expect, r.Got)
	}
	return passed, failed
}

// WriteBenignResults writes PASS or FAIL for each rule checked against the
// benign corpus to w, with the sign-ins a failing rule matches or fails
// on, and returns how many passed and failed.
func WriteBenignResults(w io.Writer, results []BenignResult) (passed, failed int) {
	for _, r := range results {
		if r.Pass {
			passed++
			fmt.Fprintf(w, "PASS benign %s (%d samples)\n", r.RuleID, r.Samples)
			continue
		}
		failed++
		fmt.Fprintf(w, "FAIL benign %s (%d samples) (%s:%d)\n", r.RuleID, r.Samples, r.File, r.Line)
		for _, h := range r.Hits {
			if h.Error != "" {
				fmt.Fprintf(w, "    fails on %s: %s\n", h, h.Error)
			} else {
				fmt.Fprintf(w, "    matches %s\n", h)
			}
		}
		if len(r.Hits) > 0 {
			fmt.Fprintln(w, "    a rule that acts must not match ordinary sign-ins")
		} else {
			fmt.Fprintf(w, "    %s\n", r.Problem())
		}
	}
	return passed, failed
}

// String renders what an inline test expects, on one line.
func (x Expect) String() string {
	parts := []string{fmt.Sprintf("match=%t", x.Match)}
	if x.Action != nil {
		parts = append(parts, "action="+*x.Action)
	}
	if x.User != nil {
		parts = append(parts, "user="+*x.User)
	}
	if x.Reason != nil {
		parts = append(parts, fmt.Sprintf("reason=%q", *x.Reason))
	}
	return strings.Join(parts, " ")
}

// String renders what an inline test got, on one line.
func (o Outcome) String() string {
	parts := []string{fmt.Sprintf("match=%t", o.Match)}
	if o.Match {
		parts = append(parts, "action="+o.Action, "user="+o.User, fmt.Sprintf("reason=%q", o.Reason))
	}
	if o.Error != "" {
		parts = append(parts, fmt.Sprintf("error=%q", o.Error))
	}
	return strings.Join(parts, " ")
}
