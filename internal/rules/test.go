package rules

import (
	"errors"
	"fmt"
	"time"

	"github.com/tripline-dev/tripline/internal/event"
)

// DecodeFunc turns a raw vendor document into normalized events; it is how
// inline tests with `input:` or `fixture:` reach the event decoder.
type DecodeFunc func(raw []byte) ([]event.Event, error)

// Expect is what an inline test expects of its rule on the last event it
// evaluates. Nil fields are not checked.
type Expect struct {
	Match  bool    `json:"match"`
	Action *string `json:"action,omitempty"`
	User   *string `json:"user,omitempty"`
	Reason *string `json:"reason,omitempty"`
}

// Outcome is what a rule did on the last event of an inline test.
type Outcome struct {
	Match  bool   `json:"match"`
	Action string `json:"action,omitempty"`
	User   string `json:"user,omitempty"`
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
}

// TestResult is the result of one inline test.
type TestResult struct {
	RuleID string
	Name   string
	File   string
	Line   int // line of the test in File
	Pass   bool
	Expect Expect
	Got    Outcome
	// Problems lists each difference between Expect and Got, or the reason
	// the test could not run (decode failure, runtime error).
	Problems []string
}

// Test runs every rule's inline tests, each against a fresh State, and
// returns one result per test in rule order. Only the rule under test is
// evaluated (even when disabled). decode is used for `input:` and `fixture:`
// tests; when it is nil those tests fail.
//
// A test evaluates its events in order (`repeat` times, shifting the time by
// `every` and suffixing the event id with #n from the second round on) and
// compares the rule's outcome on the last event with `expect`.
func (s *Set) Test(decode DecodeFunc) []TestResult {
	var out []TestResult
	for _, r := range s.rules {
		for _, t := range r.tests {
			out = append(out, s.runTest(r, t, decode))
		}
	}
	return out
}

func (s *Set) runTest(r *rule, t testSpec, decode DecodeFunc) TestResult {
	res := TestResult{RuleID: r.info.ID, Name: t.name, File: r.info.File, Line: t.line, Expect: t.expect}
	fail := func(format string, args ...any) TestResult {
		res.Problems = append(res.Problems, fmt.Sprintf(format, args...))
		return res
	}
	base := t.events
	if t.input != nil {
		if decode == nil {
			return fail("%s: no event decoder available", t.source)
		}
		evs, err := decode(t.input)
		if err != nil {
			return fail("%s: decode: %v", t.source, err)
		}
		if len(evs) == 0 {
			return fail("%s: the decoder returned no event", t.source)
		}
		base = evs
	}
	var every time.Duration
	if t.every != "" {
		every, _ = time.ParseDuration(t.every)
	}
	cat := *s.cat
	cat.state = NewState(1000)
	e := newEvaluator(&cat).(*evaluator)
	rules := []*rule{r}
	var last Result
	for i := range t.repeat {
		for _, b := range base {
			ev := b
			if i > 0 {
				ev.Time = ev.Time.Add(time.Duration(i) * every)
				if ev.EventID != "" {
					ev.EventID = fmt.Sprintf("%s#%d", ev.EventID, i)
				}
			}
			last = evaluate(e, rules, &ev, true)
		}
	}
	if len(last.Errors) > 0 {
		res.Got.Error = last.Errors[0].Err.Error()
		if errors.Is(last.Errors[0].Err, ErrNoUser) {
			res.Got.Match = true
		}
		res.Problems = append(res.Problems, "runtime error: "+res.Got.Error)
	}
	if len(last.Decisions) > 0 {
		d := last.Decisions[0]
		res.Got = Outcome{Match: true, Action: string(d.Action), User: d.User, Reason: d.Reason}
	}
	x := t.expect
	if x.Match != res.Got.Match {
		res.Problems = append(res.Problems, fmt.Sprintf("match: expected %t, got %t", x.Match, res.Got.Match))
	}
	if x.Match && res.Got.Match {
		check := func(name string, want *string, got string) {
			if want != nil && *want != got {
				res.Problems = append(res.Problems, fmt.Sprintf("%s: expected %q, got %q", name, *want, got))
			}
		}
		check("action", x.Action, res.Got.Action)
		check("user", x.User, res.Got.User)
		check("reason", x.Reason, res.Got.Reason)
	}
	res.Pass = len(res.Problems) == 0
	return res
}
