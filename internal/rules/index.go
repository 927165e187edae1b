package rules

import (
	"slices"

	"github.com/expr-lang/expr/ast"
)

// sourceIndex maps an event's source to the rules Set.Evaluate runs for it:
// the enabled rules whose `when` can match that source (see whenSources), in
// rule order, and the environment data entries those rules read. Below it,
// each bucket's value index (index_values.go) narrows those rules down by
// the values of the event's raw document. It is built once at load and
// read-only afterwards.
type sourceIndex struct {
	// bySource holds one bucket per source some rule is restricted to.
	bySource map[string]*sourceBucket
	// anySource is the bucket of every other source: the rules that can
	// match any source.
	anySource sourceBucket
	// tests are the rules' discriminators (see valueTest), by rule.
	tests map[*rule]*valueTest
}

// sourceBucket is what evaluating an event of one source runs.
type sourceBucket struct {
	rules  []*rule   // enabled, in rule order
	fields envFields // the data entries their `when` and `user` read
	// values selects among rules by the event's raw values; nil when no
	// rule of the bucket has a discriminator (every rule runs).
	values *valueIndex
}

// newSourceIndex indexes the enabled rules by their info.Sources (nil: any
// source), and each bucket by the rules' discriminators, found among the
// Sigma calls prepared in cat. Each bucket keeps the rules in the order of
// rules, so the decisions of an event come out in the same order as when
// every rule runs.
func newSourceIndex(rules []*rule, cat *catalog) sourceIndex {
	ix := sourceIndex{bySource: map[string]*sourceBucket{}, tests: valueTests(rules, cat.sigma)}
	for _, r := range rules {
		for _, src := range r.info.Sources {
			if r.info.Enabled && ix.bySource[src] == nil {
				ix.bySource[src] = &sourceBucket{}
			}
		}
	}
	for _, r := range rules {
		if !r.info.Enabled {
			continue
		}
		fields := ruleFields(r)
		if r.info.Sources == nil {
			ix.anySource.add(r, fields)
			for _, b := range ix.bySource {
				b.add(r, fields)
			}
			continue
		}
		for _, src := range r.info.Sources {
			ix.bySource[src].add(r, fields)
		}
	}
	ix.anySource.values = newValueIndex(ix.anySource.rules, ix.tests)
	for _, b := range ix.bySource {
		b.values = newValueIndex(b.rules, ix.tests)
	}
	return ix
}

// add appends r, which reads fields, to the bucket.
func (b *sourceBucket) add(r *rule, fields envFields) {
	b.rules = append(b.rules, r)
	b.fields |= fields
}

// lookup returns the bucket of an event whose source is source.
func (ix *sourceIndex) lookup(source string) *sourceBucket {
	if b, ok := ix.bySource[source]; ok {
		return b
	}
	return &ix.anySource
}

// ruleFields returns the data entries r's `when` and `user` read.
func ruleFields(r *rule) envFields {
	fields := readFields(r.when.Node())
	if r.user != nil {
		fields |= readFields(r.user.Node())
	}
	return fields
}

// recordingHelpers are the helper functions that change state when called
// (count() records the event). A `source` test placed after a call of one
// of them does not restrict the rule (see whenSources): skipping the rule
// would skip the recording. Add any new helper with a side effect here.
var recordingHelpers = []string{"count"}

// whenSources derives, from the compiled tree of a `when` expression, the
// event sources the rule can match: sorted and without duplicates, empty
// (not nil) when it can match none, nil when it can match any.
//
// The expression restricts the sources when its top level is a conjunction
// (&& or and, nested in any way, parentheses included) with a conjunct
// `source == "s"`, `"s" == source` or `source in ["s", ...]` (a literal
// list); several such conjuncts intersect. Any other shape (!, not, ||, a
// comparison of source with something else than a literal, a let) tells
// nothing, and the rule goes to every source. A source test counts only when
// no conjunct evaluated before it (expr evaluates && from left to right and
// stops at the first false) calls a recordingHelper: then, on an event of
// another source, the rule cannot match and records nothing, so not running
// it changes no decision and no count(). It only spares the runtime errors
// the conjuncts before the test would raise on that event.
func whenSources(root ast.Node) []string {
	var (
		set        map[string]struct{}
		restricted bool
	)
	for _, c := range conjuncts(root, nil) {
		if srcs, ok := sourceTest(c); ok {
			if !restricted {
				set, restricted = srcs, true
				continue
			}
			for s := range set {
				if _, keep := srcs[s]; !keep {
					delete(set, s)
				}
			}
			continue
		}
		if callsRecordingHelper(c) {
			break
		}
	}
	if !restricted {
		return nil
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// conjuncts appends to out the operands of the top-level conjunction of n,
// flattened, in evaluation order; n itself when it is not a conjunction.
func conjuncts(n ast.Node, out []ast.Node) []ast.Node {
	if b, ok := n.(*ast.BinaryNode); ok && (b.Operator == "&&" || b.Operator == "and") {
		out = conjuncts(b.Left, out)
		return conjuncts(b.Right, out)
	}
	return append(out, n)
}

// sourceTest returns the sources n accepts when n is `source == "s"`,
// `"s" == source` or `source in [literal strings]`.
func sourceTest(n ast.Node) (map[string]struct{}, bool) {
	b, ok := n.(*ast.BinaryNode)
	if !ok {
		return nil, false
	}
	switch b.Operator {
	case "==":
		lit := b.Right
		if !isSource(b.Left) {
			if !isSource(b.Right) {
				return nil, false
			}
			lit = b.Left
		}
		if s, ok := stringConst(lit); ok {
			return map[string]struct{}{s: {}}, true
		}
	case "in":
		if isSource(b.Left) {
			return stringList(b.Right)
		}
	}
	return nil, false
}

// isSource reports whether n is the environment entry source.
func isSource(n ast.Node) bool {
	id, ok := n.(*ast.IdentifierNode)
	return ok && id.Value == "source"
}

// stringConst returns the value of a string literal, also once the
// optimizer has folded it into a constant.
func stringConst(n ast.Node) (string, bool) {
	switch n := n.(type) {
	case *ast.StringNode:
		return n.Value, true
	case *ast.ConstantNode:
		s, ok := n.Value.(string)
		return s, ok
	}
	return "", false
}

// stringList returns the members of a literal list of strings: an array of
// string literals, or the constant the optimizer turns one into (a set for
// `in`, a slice when folded).
func stringList(n ast.Node) (map[string]struct{}, bool) {
	set := map[string]struct{}{}
	switch n := n.(type) {
	case *ast.ArrayNode:
		for _, el := range n.Nodes {
			s, ok := el.(*ast.StringNode)
			if !ok {
				return nil, false
			}
			set[s.Value] = struct{}{}
		}
	case *ast.ConstantNode:
		switch v := n.Value.(type) {
		case map[string]struct{}:
			for s := range v {
				set[s] = struct{}{}
			}
		case []any:
			for _, el := range v {
				s, ok := el.(string)
				if !ok {
					return nil, false
				}
				set[s] = struct{}{}
			}
		default:
			return nil, false
		}
	default:
		return nil, false
	}
	return set, true
}

// callsRecordingHelper reports whether n calls one of recordingHelpers.
func callsRecordingHelper(n ast.Node) bool {
	found := false
	ast.Walk(&n, visitor(func(node *ast.Node) {
		call, ok := (*node).(*ast.CallNode)
		if !ok {
			return
		}
		if id, ok := call.Callee.(*ast.IdentifierNode); ok && slices.Contains(recordingHelpers, id.Value) {
			found = true
		}
	}))
	return found
}
