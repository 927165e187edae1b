package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/event"
)

// TestExplainAgreesWithEvaluate: on every shipped rule, the explanation's
// verdict is what Set.Evaluate decides, event after event (count()
// included), over every sample of internal/event/testdata, the rules'
// fixtures, the benign corpus and the events of every inline test; and
// every tree is consistent with itself (see checkTree).
func TestExplainAgreesWithEvaluate(t *testing.T) {
	t.Parallel()
	decode := shippedDecoder(t)
	var samples []event.Event
	for _, pattern := range []string{"../event/testdata/*.json", shippedDir + "/testdata/*.json", shippedDir + "/" + BenignDir + "/*.json"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			evs, _ := decode(raw) // the good events of a partial batch too
			samples = append(samples, evs...)
		}
	}
	if len(samples) < 40 {
		t.Fatalf("only %d sample events", len(samples))
	}
	set := shippedSet(t)
	seqs := map[string][]event.Event{"samples": samples}
	for _, r := range set.rules {
		for _, tc := range r.tests {
			seqs[r.info.ID+"/"+tc.name] = inlineTestEvents(t, tc, decode)
		}
	}
	matched := map[string]int{}
	for name, evs := range seqs {
		agree(t, name, func() *Set { return shippedSet(t) }, evs, matched)
	}
	for _, r := range set.rules {
		if matched[r.info.ID] == 0 {
			t.Errorf("rule %s matched no event: the agreement test does not cover its matches", r.info.ID)
		}
	}
}

// TestExplainAgreesOnEdgeCases: the same agreement on rules written for
// it: a disabled rule, one restricted to a source that fails before its
// source test, shared count() keys, ?:, ??, not, runtime errors, a rule
// that matches without a user.
func TestExplainAgreesOnEdgeCases(t *testing.T) {
	t.Parallel()
	const file = `rules:
  - id: failures_counted
    severity: low
    action: none
    when: outcome == "failure" && count("k", "10m") >= 2
  - id: all_counted
    severity: low
    action: none
    when: count("k", "10m") >= 3
  - id: disabled_counter
    severity: low
    action: none
    enabled: false
    when: count("k", "10m") >= 1 && count("other", "1h") >= 1
  - id: entra_only
    severity: low
    action: none
    when: raw.a.b == 1 && source == "entra"
  - id: ternary
    severity: low
    action: none
    when: '(risk == "high" ? raw?.x ?? "none" : city) == "none" and not (country in ["FR", "DE"])'
  - id: no_user
    severity: low
    action: suspend
    user: user_name
    when: outcome == "success"
  - id: bad_bool
    severity: low
    action: none
    when: (raw?.flag ?? false) == true || raw?.flag
`
	evs := []event.Event{
		{UserEmail: "a@example.com", Outcome: "success", Risk: "high", Source: "okta", Kind: "signin", EventID: "1", Raw: map[string]any{"flag": "yes"}},
		{UserEmail: "a@example.com", Outcome: "failure", Risk: "low", City: "none", Source: "entra", Kind: "signin", EventID: "2", Raw: map[string]any{"a": map[string]any{"b": 1.0}}},
		{UserEmail: "a@example.com", Outcome: "failure", Risk: "high", Country: "FR", Source: "entra", Kind: "signin", EventID: "3", Raw: map[string]any{"x": nil, "flag": true}},
		{UserEmail: "a@example.com", Outcome: "failure", Source: "okta", Kind: "signin", EventID: "4", Raw: map[string]any{"x": "y"}},
		{Outcome: "failure", Source: "okta", Kind: "signin", EventID: "5"},
	}
	for i := range evs {
		evs[i].Time = time.Date(2025, 10, 14, 9, i, 0, 0, time.UTC)
	}
	matched := map[string]int{}
	agree(t, "edge cases", func() *Set { return mustLoad(t, file) }, evs, matched)
	for _, id := range []string{"failures_counted", "all_counted", "entra_only", "ternary", "no_user", "bad_bool"} {
		if matched[id] == 0 && id != "no_user" {
			t.Errorf("rule %s matched no event", id)
		}
	}
}

// agree explains evs with every rule of a Set load returns and checks
// each explanation against Set.Evaluate on a second Set it returns, event
// after event; matched counts the matches by rule.
func agree(t *testing.T, name string, load func() *Set, evs []event.Event, matched map[string]int) {
	t.Helper()
	s, evalSet := load(), load()
	x, err := s.NewExplainer()
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		ev := evs[i]
		res := evalSet.Evaluate(&ev)
		exps := x.Explain(&ev)
		if len(exps) != len(s.rules) {
			t.Fatalf("%s: event %d: %d explanations for %d rules", name, i, len(exps), len(s.rules))
		}
		for _, exp := range exps {
			where := fmt.Sprintf("%s: event %d (%s): rule %s", name, i, ev.EventID, exp.RuleID)
			decided := slices.ContainsFunc(res.Decisions, func(d Decision) bool { return d.RuleID == exp.RuleID })
			failed := slices.ContainsFunc(res.Errors, func(e *RuleError) bool { return e.RuleID == exp.RuleID })
			if exp.Match {
				matched[exp.RuleID]++
			}
			if !exp.Enabled {
				if decided || failed {
					t.Errorf("%s: Evaluate ran a disabled rule", where)
				}
			} else {
				if got := exp.Match && exp.Error == ""; got != decided {
					t.Errorf("%s: explained match %t (error %q), Evaluate decided %t", where, exp.Match, exp.Error, decided)
				}
				if got := exp.Error != "" && exp.Skipped == ""; got != failed {
					t.Errorf("%s: explained error %q (skipped %q), Evaluate failed %t", where, exp.Error, exp.Skipped, failed)
				}
				if d := exp.Decision; d != nil {
					i := slices.IndexFunc(res.Decisions, func(d Decision) bool { return d.RuleID == exp.RuleID })
					if i >= 0 && (res.Decisions[i].User != d.User || res.Decisions[i].Reason != d.Reason) {
						t.Errorf("%s: decision %+v, Evaluate decided %+v", where, *d, res.Decisions[i])
					}
				}
			}
			root := exp.Tree
			if root == nil || !root.Evaluated {
				t.Fatalf("%s: no evaluated tree", where)
			}
			whenFailed := strings.HasPrefix(exp.Error, "when: ")
			if root.Failed != whenFailed {
				t.Errorf("%s: root failed %t, rule error %q", where, root.Failed, exp.Error)
			}
			if !root.Failed && root.Value != exp.Match {
				t.Errorf("%s: root value %v, match %t", where, root.Value, exp.Match)
			}
			checkTree(t, where, root, true)
		}
	}
}

// checkTree checks that n's value follows from its children's as expr
// evaluates them: && and || stop at the first operand that decides, !
// negates, ?: runs one branch, a node that failed either raised the error
// or has a child that failed, and a node not evaluated has no value and no
// evaluated child. The root's value is the rule's, cast to a bool.
func checkTree(t *testing.T, where string, n *ExplainNode, root bool) {
	t.Helper()
	where += ": " + n.Expr
	if !n.Evaluated {
		if n.Value != nil || n.Failed || len(n.Fields) > 0 {
			t.Errorf("%s: not evaluated but has a value or fields", where)
		}
		for _, c := range n.Children {
			if c.Evaluated {
				t.Errorf("%s: not evaluated but its child %s is", where, c.Expr)
			}
			checkTree(t, where, c, false)
		}
		return
	}
	childFailed := slices.ContainsFunc(n.Children, func(c *ExplainNode) bool { return c.Evaluated && c.Failed })
	switch {
	case n.Failed && n.Error == "" && !childFailed:
		t.Errorf("%s: failed with no error and no failed child", where)
	case n.Failed && n.Error != "" && childFailed:
		t.Errorf("%s: the error is shown here and on a child", where)
	case !n.Failed && childFailed:
		t.Errorf("%s: a child failed but the node did not", where)
	}
	switch n.Op {
	case "&&", "and", "||", "or":
		// expr checks that each operand but the last is a bool (the
		// chain fails otherwise); the last one is the chain's value.
		decider := n.Op == "||" || n.Op == "or" // the operand value that ends the chain
		done := false
		for i, c := range n.Children {
			last := i == len(n.Children)-1
			if done {
				if c.Evaluated {
					t.Errorf("%s: operand %d evaluated after the chain was decided", where, i)
				}
				continue
			}
			if !c.Evaluated {
				t.Errorf("%s: operand %d not evaluated before the chain was decided", where, i)
				break
			}
			b, ok := c.Value.(bool)
			switch {
			case c.Failed:
				done = true
			case last:
				if !n.Failed && (ok || !root) && fmt.Sprint(c.Value) != fmt.Sprint(n.Value) {
					t.Errorf("%s: the last operand is %v, the chain %v", where, c.Value, n.Value)
				}
			case !ok:
				done = true
				if !n.Failed || n.Error == "" {
					t.Errorf("%s: operand %d is %v, not a bool, and the chain did not fail", where, i, c.Value)
				}
			case b == decider:
				done = true
				if !n.Failed && n.Value != b {
					t.Errorf("%s: operand %d decided %v, the chain is %v", where, i, b, n.Value)
				}
			}
		}
	case "!", "not":
		c := n.Children[0]
		if b, ok := c.Value.(bool); !n.Failed && (!ok || n.Value != !b) {
			t.Errorf("%s: %v, its operand %v", where, n.Value, c.Value)
		}
	case "?:":
		cond, a, b := n.Children[0], n.Children[1], n.Children[2]
		if !n.Failed {
			branch := b
			if cond.Value == true {
				branch = a
			}
			if a.Evaluated == b.Evaluated || !branch.Evaluated || fmt.Sprint(branch.Value) != fmt.Sprint(n.Value) {
				t.Errorf("%s: %v from cond %v, branches evaluated %t/%t", where, n.Value, cond.Value, a.Evaluated, b.Evaluated)
			}
		}
	}
	for _, c := range n.Children {
		checkTree(t, where, c, false)
	}
}

// inlineTestEvents returns the events an inline test evaluates, in
// order, as Set.Test makes them.
func inlineTestEvents(t *testing.T, tc testSpec, decode DecodeFunc) []event.Event {
	t.Helper()
	base := tc.events
	if tc.input != nil {
		evs, err := decode(tc.input)
		if err != nil {
			t.Fatalf("test %q: %v", tc.name, err)
		}
		base = evs
	}
	var every time.Duration
	if tc.every != "" {
		every, _ = time.ParseDuration(tc.every)
	}
	var out []event.Event
	for i := range tc.repeat {
		for _, ev := range base {
			if i > 0 {
				ev.Time = ev.Time.Add(time.Duration(i) * every)
				if ev.EventID != "" {
					ev.EventID = fmt.Sprintf("%s#%d", ev.EventID, i)
				}
			}
			out = append(out, ev)
		}
	}
	return out
}
