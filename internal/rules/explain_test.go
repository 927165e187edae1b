package rules

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tripline-dev/tripline/internal/event"
)

// TestExplainTreeIsTheRuleProgram: the tree an explanation evaluates
// compiles to the very program the rule runs, for every shipped rule and
// every rule of the explain tests.
func TestExplainTreeIsTheRuleProgram(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{shippedDir, explainRules} {
		s, err := LoadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range s.rules {
			root, err := buildExplainTree(r.when.Source().String(), r.info.Sigma)
			if err != nil {
				t.Fatalf("rule %s: %v", r.info.ID, err)
			}
			if root.prog == nil {
				t.Fatalf("rule %s: %v", r.info.ID, root.progErr)
			}
			if got, want := root.prog.Disassemble(), r.when.Disassemble(); got != want {
				t.Errorf("rule %s: the explanation's program differs from the rule's:\n%s\nwant\n%s", r.info.ID, got, want)
			}
		}
	}
}

// explainEvents explains evs in order with x and returns the explanations
// of each event.
func explainEvents(x *Explainer, evs []event.Event) [][]Explanation {
	var out [][]Explanation
	for i := range evs {
		out = append(out, x.Explain(&evs[i]))
	}
	return out
}

// signins returns sign-ins of a@example.com with the given outcomes, a
// minute apart.
func signins(outcomes ...string) []event.Event {
	var out []event.Event
	for i, o := range outcomes {
		out = append(out, event.Event{
			UserEmail: "a@example.com", Outcome: o, Source: "okta", Kind: "signin",
			EventID: fmt.Sprintf("okta:%d", i), Time: t0.Add(time.Duration(i) * time.Minute),
		})
	}
	return out
}

// findNode returns the first node of the tree (depth first) whose
// expression is expr, nil when there is none.
func findNode(n *ExplainNode, expr string) *ExplainNode {
	if n.Expr == expr {
		return n
	}
	for _, c := range n.Children {
		if f := findNode(c, expr); f != nil {
			return f
		}
	}
	return nil
}

// TestExplainCountsAsEvaluation: count() sees what evaluation records:
// the events a rule not asked about records under a shared key count,
// an event is recorded once per key however many rules and clauses call
// count() on it, and the Set's own State is left alone.
func TestExplainCountsAsEvaluation(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, `rules:
  - id: failures
    severity: low
    action: none
    when: outcome == "failure" && count("k", "10m") >= 3
  - id: every_event
    severity: low
    action: none
    when: count("k", "10m") >= 1 && count("k", "10m") <= 100 && count("k", "1h") > 0
`)
	x, err := s.NewExplainer("failures")
	if err != nil {
		t.Fatal(err)
	}
	exps := explainEvents(x, signins("success", "success", "failure"))
	for i, want := range []bool{false, false, true} {
		if len(exps[i]) != 1 || exps[i][0].RuleID != "failures" {
			t.Fatalf("event %d: explanations %+v, want the rule asked about only", i, exps[i])
		}
		if exps[i][0].Match != want {
			t.Errorf("event %d: match %t, want %t", i, exps[i][0].Match, want)
		}
	}
	count := findNode(exps[2][0].Tree, `count("k", "10m")`)
	if count == nil || count.Count == nil || count.Count.Count != 3 || count.Value != 3 || count.Count.User != "a@example.com" || count.Count.Window != "10m" {
		t.Fatalf("count node on the third event: %+v", count)
	}
	if s.State().Tracked() != 0 {
		t.Errorf("explaining recorded %d counters in the Set's own State", s.State().Tracked())
	}

	// Every clause calling count() reads the same count; nothing is
	// recorded twice (events without an id, which the State could not
	// tell apart).
	x, err = s.NewExplainer("every_event")
	if err != nil {
		t.Fatal(err)
	}
	evs := signins("success", "success", "success")
	for i := range evs {
		evs[i].EventID = ""
	}
	exps = explainEvents(x, evs)
	for _, expr := range []string{`count("k", "10m") >= 1`, `count("k", "10m") <= 100`} {
		n := findNode(exps[2][0].Tree, expr)
		if n == nil || len(n.Children) != 1 || n.Children[0].Value != 3 {
			t.Errorf("%s on the third event: %+v, want a count of 3", expr, n)
		}
	}
}

// TestExplainDisabledRule: a disabled rule is explained as if it were
// enabled, with counts of its own; what it records does not reach the
// enabled rules, which the consumer runs without it.
func TestExplainDisabledRule(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, `rules:
  - id: failures
    severity: low
    action: none
    when: outcome == "failure" && count("k", "10m") >= 2
  - id: dormant
    severity: low
    action: none
    enabled: false
    when: count("k", "10m") >= 2
`)
	x, err := s.NewExplainer()
	if err != nil {
		t.Fatal(err)
	}
	exps := explainEvents(x, signins("success", "failure"))
	failures, dormant := exps[1][0], exps[1][1]
	if failures.Match || !failures.Enabled {
		t.Errorf("failures matched on the first failure: the disabled rule's count reached it: %+v", failures)
	}
	if !dormant.Match || dormant.Enabled {
		t.Errorf("dormant = %+v, want a match as if enabled", dormant)
	}
	var text strings.Builder
	ee := EventExplanation{Event: &event.Event{}, Rules: exps[1]}
	if err := ee.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "dormant  MATCH  (disabled: the consumer does not run it; explained as if enabled;") {
		t.Errorf("text does not say the rule is disabled:\n%s", text.String())
	}
}

// TestExplainUnknownRule: an unknown id names the closest known one, and
// all of them.
func TestExplainUnknownRule(t *testing.T) {
	t.Parallel()
	s := shippedSet(t)
	_, err := s.NewExplainer("risky_signin_succes")
	var ue *UnknownRuleError
	if !errors.As(err, &ue) || ue.Closest != "risky_signin_success" || len(ue.Known) != len(s.Rules()) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(err.Error(), `did you mean "risky_signin_success"?`) || !strings.Contains(err.Error(), "known rules: anonymous_proxy_success, ") {
		t.Errorf("message: %v", err)
	}
	_, err = s.NewExplainer("zzzzzzzz")
	if !errors.As(err, &ue) || ue.Closest != "" || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("a far id suggests %q: %v", ue.Closest, err)
	}
}

// TestExplainValuesBounded: long strings, big lists and maps and deep
// nesting are cut, with an ellipsis, in both outputs.
func TestExplainValuesBounded(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 1000)
	big := map[string]any{}
	var list []any
	for i := range 50 {
		big[fmt.Sprintf("k%02d", i)] = map[string]any{"deep": map[string]any{"deeper": map[string]any{"deepest": map[string]any{"v": 1.0}}}}
		list = append(list, float64(i))
	}
	for _, tc := range []struct {
		v    any
		want string
	}{
		{long, `"` + strings.Repeat("x", 59) + `…"`},
		{list, "[0, 1, 2, 3, 4, …]"},
		{big, "{k00: {deep: {…}}, k01: {deep: {…}}, k02: {deep: {…}}, k03: {deep: {…}}, k04: {deep: {…}}, …}"},
		{map[string]any{"kibana.alert.status": "active"}, `{"kibana.alert.status": "active"}`},
		{nil, "nil"},
		{time.Date(2025, 10, 14, 8, 0, 0, 0, time.UTC), "2025-10-14T08:00:00Z"},
	} {
		if got := compactValue(tc.v); got != tc.want {
			t.Errorf("compactValue = %s, want %s", got, tc.want)
		}
	}
	if got := compactValue([]any{long, long, long}); utf8.RuneCountInString(got) > textWidth || !strings.HasSuffix(got, "…") {
		t.Errorf("a wide value is not cut: %d runes", utf8.RuneCountInString(got))
	}
	b, err := jsonValue(big)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 4000 || !strings.Contains(string(b), `"…":"30 more keys"`) || !strings.Contains(string(b), `"deepest":"…"`) {
		t.Errorf("JSON of a big map (%d bytes): %.300s", len(b), b)
	}
	b, err = jsonValue(long)
	if err != nil {
		t.Fatal(err)
	}
	if utf8.RuneCount(b) != jsonStringRunes+2 || !strings.HasSuffix(string(b), `…"`) {
		t.Errorf("JSON of a long string: %d runes", utf8.RuneCount(b))
	}
}

// TestExplainSigmaSelections: each selection of a sigma: block is named
// beside the clause it compiled to, found by its printed form whatever
// the spacing and parentheses it was written with.
func TestExplainSigmaSelections(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, `rules:
  - id: sigma_rule
    severity: low
    action: none
    when: 'source == "okta" && ((raw?.a == "x"  ||  raw?.b == "y") && !(raw?.c in ["1", "2"]))'
    sigma:
      condition: sel and not filter
      selections:
        - {name: sel, when: '(raw?.a=="x") || (raw?.b=="y")'}
        - {name: filter, when: 'raw?.c in ["1","2"]'}
        - {name: unused, when: 'raw?.d == 1'}
`)
	x, err := s.NewExplainer()
	if err != nil {
		t.Fatal(err)
	}
	ev := event.Event{Source: "okta", Raw: map[string]any{"b": "y", "c": "3"}}
	tree := x.Explain(&ev)[0].Tree
	got := map[string]string{}
	var walk func(*ExplainNode)
	walk = func(n *ExplainNode) {
		if n.Selection != "" {
			got[n.Selection] = n.Expr
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(tree)
	want := map[string]string{"sel": `raw?.a == "x" || raw?.b == "y"`, "filter": `raw?.c in ["1", "2"]`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("selections = %v, want %v", got, want)
	}
	if sel := findNode(tree, want["sel"]); sel == nil || sel.Op != "||" || len(sel.Children) != 2 {
		t.Errorf("the selection's chain is not a node of its own: %+v", sel)
	}
}

// TestExplainReadOnlyBinding: the binding clauses are explained with
// reads counts and records nothing, even for a key this event has not
// recorded yet.
func TestExplainReadOnlyBinding(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, `rules:
  - id: counter
    severity: low
    action: none
    when: outcome == "failure" && count("k", "10m") >= 1
`)
	p := newExplainPass(s, false)
	ev := signins("success")[0]
	ev.EventID = ""
	p.e.env.fill(&ev, allEnvFields)
	p.e.b.reset(&ev)
	ro := p.readOnly()
	for range 3 {
		if n := ro.count("k", "10m"); n != 0 {
			t.Fatalf("count = %d", n)
		}
	}
	if n := p.e.b.cat.state.Tracked(); n != 0 {
		t.Errorf("the read-only binding recorded %d counters", n)
	}
	if n := p.e.b.count("k", "10m"); n != 1 {
		t.Errorf("the pass's own binding counts %d, want 1", n)
	}
	if n := ro.count("k", "10m"); n != 1 {
		t.Errorf("the read-only binding then reads %d, want 1", n)
	}
}

// TestExplainCoalesce: the right operand of ?? runs only when the left one
// is nil; what it reads is shown only then.
func TestExplainCoalesce(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, `rules:
  - id: coalesce
    severity: low
    action: none
    when: (raw?.a ?? lower(user_email)) == "x" || (raw?.b ?? raw?.c) == "y"
`)
	x, err := s.NewExplainer()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		raw       map[string]any
		lowerRuns bool
		fields    string // of raw?.b ?? raw?.c
	}{
		{map[string]any{"a": "x", "b": "y"}, false, "not evaluated"},
		{map[string]any{"b": "y"}, true, "[{raw.b y false}]"},
		{map[string]any{"c": "y"}, true, "[{raw.b <nil> true} {raw.c y false}]"},
	} {
		ev := event.Event{UserEmail: "Z", Raw: tc.raw}
		tree := x.Explain(&ev)[0].Tree
		lower := findNode(tree, "lower(user_email)")
		if lower == nil || lower.Evaluated != tc.lowerRuns {
			t.Errorf("raw %v: lower(user_email) = %+v, want evaluated %t", tc.raw, lower, tc.lowerRuns)
		}
		right := findNode(tree, "raw?.b ?? raw?.c")
		got := "not evaluated"
		if right.Evaluated {
			got = fmt.Sprint(right.Fields)
		}
		if got != tc.fields {
			t.Errorf("raw %v: raw?.b ?? raw?.c read %s, want %s", tc.raw, got, tc.fields)
		}
	}
}
