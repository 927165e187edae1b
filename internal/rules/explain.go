package rules

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/tripline-dev/tripline/internal/event"
)

// Explainer says why rules matched events or not: it evaluates the rules
// as Set.Evaluate does and records, for each rule asked about, the value
// of every clause of its `when` (see Explanation). It is what `consumer
// rules explain` runs; the consumer never uses one, and Set.Evaluate does
// no extra work for it.
//
// An Explainer has its own count() State, fresh when it is made, so
// explaining changes no count the consumer or another Explainer keeps.
// Events are explained in the order they are given, and count() sees
// them as the consumer would one after the other: every enabled rule runs
// on every event (the ones not asked about too, for the keys they record),
// and an event is recorded at most once per key, however many rules or
// clauses read it. An Explainer is not safe for concurrent use.
type Explainer struct {
	set   *Set
	rules []*rule // the rules asked about, in rule order
	want  map[*rule]bool
	trees map[*rule]*explainTree
	live  *explainPass
	// anyEnabled is whether an enabled rule is asked about: the live
	// pass runs only then.
	anyEnabled bool
	// asIf explains the disabled rules asked about as if they were
	// enabled, with counts of its own; nil when there are none.
	asIf *explainPass
}

// explainTree is the explanation tree of one rule, or why it could not be
// built.
type explainTree struct {
	root *xnode
	err  error
}

// Explanation is why one rule matched one event or not.
type Explanation struct {
	RuleID  string
	File    string // rule file, relative to the loaded directory
	Line    int    // line of the rule's id
	Enabled bool
	// Match is the value of the rule's `when`: what Set.Evaluate decides
	// (for a disabled rule, would decide if it were enabled).
	Match bool
	// Skipped says why Set.Evaluate does not run the rule on this event
	// (the rule can only match other sources: see RuleInfo.Sources; or
	// the event's raw holds none of the values a sigma_eq of the rule
	// requires: see the value index, index_values.go); "" when it does.
	// The tree is still evaluated, to show why.
	Skipped string
	// Error is the rule's runtime error on the event: of `when`, or, after
	// a match, of `user` or `reason` (ErrNoUser's message when it resolved
	// no user). Set.Evaluate reports it as a *RuleError.
	Error string
	// Decision is the rule's decision when it matched without error.
	Decision *Decision
	// Tree is the explanation of the rule's `when`.
	Tree *ExplainNode
}

// ExplainNode is one clause of a rule's `when` and its value on an event.
// && and || chains are flattened into one node with a child per operand;
// ! (not), ?: and ?? have their operands as children; other clauses
// (comparisons, in, calls) have as children the clauses among their
// operands, and list the fields they read directly.
type ExplainNode struct {
	// Expr is the clause as written (printed back from the expression,
	// so spacing and parentheses may differ).
	Expr string
	// Op is the logical operator of an &&, ||, !, not, ?: or ?? node, ""
	// for other clauses.
	Op string
	// Selection names the Sigma selection the clause was compiled from
	// (rules with a sigma: block), "" otherwise.
	Selection string
	// Evaluated is false for a clause evaluation skipped (short-circuit:
	// `false && x` never evaluates x). Such a node has no value.
	Evaluated bool
	// Value is the clause's value when it was evaluated without error.
	Value any
	// Failed reports that evaluating the clause failed at runtime; Error
	// is set on the clause that raised the error, empty on the clauses
	// above it, which failed because of it.
	Failed bool
	Error  string
	// Fields are the environment values the clause reads directly (not
	// through a child), with their values on the event.
	Fields []ExplainField
	// Count is set for a count() call that was evaluated.
	Count    *ExplainCount
	Children []*ExplainNode
}

// ExplainField is a value of the environment a clause reads: a field
// (user_email), a path below one (raw.securityContext.isProxy), or, for a
// sigma_* helper, each path it reads in raw (raw.a.b), with the values
// RawValues finds there (one value alone, several as a list).
type ExplainField struct {
	Path  string
	Value any
	// Missing reports a path the event does not have (Value is nil).
	Missing bool
}

// ExplainCount is what a count() call counted: the events of User (the
// identity count() counts by) recorded under Key within Window of the
// event's time, this one included. An event without a user counts 0.
type ExplainCount struct {
	Key, Window, User string
	Count             int
}

// UnknownRuleError is returned by NewExplainer for a rule id the Set does
// not hold.
type UnknownRuleError struct {
	ID string
	// Closest is the known id nearest to ID, "" when none is close.
	Closest string
	// Known are the Set's rule ids, sorted.
	Known []string
}

// Error names the unknown id, the closest known one and all of them.
func (e *UnknownRuleError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "unknown rule %q", e.ID)
	if e.Closest != "" {
		fmt.Fprintf(&sb, " (did you mean %q?)", e.Closest)
	}
	fmt.Fprintf(&sb, "; known rules: %s", strings.Join(e.Known, ", "))
	return sb.String()
}

// NewExplainer returns an Explainer of the rules with the given ids, or
// of every rule (disabled ones included) when there is none. An id the Set
// does not hold is an *UnknownRuleError.
func (s *Set) NewExplainer(ids ...string) (*Explainer, error) {
	x := &Explainer{set: s, want: map[*rule]bool{}, trees: map[*rule]*explainTree{}}
	for _, id := range ids {
		i := slices.IndexFunc(s.rules, func(r *rule) bool { return r.info.ID == id })
		if i < 0 {
			return nil, s.unknownRule(id)
		}
		x.want[s.rules[i]] = true
	}
	for _, r := range s.rules {
		if len(ids) == 0 {
			x.want[r] = true
		}
		if !x.want[r] {
			continue
		}
		x.rules = append(x.rules, r)
		x.anyEnabled = x.anyEnabled || r.info.Enabled
		if !r.info.Enabled && x.asIf == nil {
			x.asIf = newExplainPass(s, true)
		}
	}
	x.live = newExplainPass(s, false)
	return x, nil
}

// unknownRule describes an id the Set does not hold.
func (s *Set) unknownRule(id string) *UnknownRuleError {
	e := &UnknownRuleError{ID: id}
	best := -1
	for _, r := range s.rules {
		e.Known = append(e.Known, r.info.ID)
		d := editDistance(id, r.info.ID)
		if d <= max(2, len(id)/3) && (best < 0 || d < best) {
			best, e.Closest = d, r.info.ID
		}
	}
	sort.Strings(e.Known)
	return e
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Explain evaluates the rules on ev, as Set.Evaluate does, and returns
// the explanation of each rule asked about, in rule order. It does not
// modify ev.
func (x *Explainer) Explain(ev *event.Event) []Explanation {
	got := map[*rule]*Explanation{}
	if x.anyEnabled {
		x.live.run(x, ev, func(r *rule) bool { return x.want[r] && r.info.Enabled }, got)
	}
	if x.asIf != nil {
		x.asIf.run(x, ev, func(r *rule) bool { return x.want[r] && !r.info.Enabled }, got)
	}
	out := make([]Explanation, 0, len(x.rules))
	for _, r := range x.rules {
		out = append(out, *got[r])
	}
	return out
}

// tree returns the explanation tree of r, built at its first use.
func (x *Explainer) tree(r *rule) *explainTree {
	t, ok := x.trees[r]
	if !ok {
		t = &explainTree{}
		t.root, t.err = buildExplainTree(r.when.Source().String(), r.info.Sigma)
		x.trees[r] = t
	}
	return t
}

// runsFor reports whether Set.Evaluate runs r on an event of source (see
// RuleInfo.Sources).
func runsFor(r *rule, source string) bool {
	return r.info.Sources == nil || slices.Contains(r.info.Sources, source)
}

// skipReason says why Set.Evaluate does not run r on an event of source.
func skipReason(r *rule, source string) string {
	if len(r.info.Sources) == 0 {
		return fmt.Sprintf("not run for %q events: the rule can match no source", source)
	}
	return fmt.Sprintf("not run for %q events: the rule can only match source %s", source, strings.Join(r.info.Sources, ", "))
}
