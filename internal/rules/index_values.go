package rules

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/expr-lang/expr/ast"

	"github.com/tripline-dev/tripline/internal/event"
)

// The value index sits below the source index: within a source bucket, it
// runs only the rules whose discriminator (valueTest) the event's raw
// document satisfies, and every rule without one, in rule order.
//
// A rule's discriminator is a conjunct of the top-level conjunction of its
// `when` (the conjuncts whenSources reads), placed before any call of a
// recordingHelper, of the form sigma_eq(raw, PATH_OR_PATHS, [values]) with
// every value plain: a number, a bool, or a string without wildcards (see
// sigmaValue.eqKey; sigma_eq_cased and the list functions are not used).
// When that conjunct is false the `when` is false, so a rule whose
// discriminating values are absent from the event cannot match; not running
// it changes no decision and no count() (no count() call comes before the
// conjunct), and only spares the runtime errors the conjuncts before it
// would raise, as the source index does.
//
// Of a rule's candidate conjuncts, the most selective is picked: the one
// whose values the fewest rules of the Set also select on at the same
// paths (the sum, over its values, of the number of rules with a candidate
// for that value at those paths); ties go to the first. Of the imported
// rule `sigma_eq(raw, "id.applicationName", ["login"]) && sigma_eq(raw,
// "events.name", ["bench_4"])`, that is events.name: every Google
// Workspace login rule tests applicationName.
//
// The values found in the event are compared with the rules' values by
// sigma_eq's own comparison, through keys (sigmaKey): folded text, number
// and bool, made by the conversions sigma_eq makes (foldedText, numeric,
// boolValue), so that "50053" finds 50053 and "TRUE" finds true.

// valueTest is the discriminator of one rule.
type valueTest struct {
	site *sigmaSite // the conjunct's prepared call
	// group names the paths the call reads (their texts joined with
	// NULs): the rules of a bucket with the same group share a valueGroup.
	group string
	keys  []sigmaKey
	// one is a valueGroup of this rule alone (at position 0): what
	// hits asks.
	one *valueGroup
}

// valueGroup files, by the keys of their values, the rules of a bucket
// (by their position in it) whose discriminators read the same paths.
type valueGroup struct {
	paths []*rawPath
	text  map[string][]int32
	num   map[float64][]int32
	bools [2][]int32
}

// valueIndex selects the rules of a source bucket that can match an event.
type valueIndex struct {
	groups []*valueGroup
	// always has the bit of each rule of the bucket without a
	// discriminator (rule i is bit i%64 of word i/64).
	always []uint64
}

// newValueIndex indexes rules, the rules of a bucket, by the
// discriminators tests gives; nil when none of them has one.
func newValueIndex(rules []*rule, tests map[*rule]*valueTest) *valueIndex {
	vi := &valueIndex{always: make([]uint64, (len(rules)+63)/64)}
	byGroup := map[string]*valueGroup{}
	for i, r := range rules {
		t := tests[r]
		if t == nil {
			vi.always[i/64] |= 1 << (i % 64)
			continue
		}
		g := byGroup[t.group]
		if g == nil {
			g = newValueGroup(t.site.paths)
			byGroup[t.group] = g
			vi.groups = append(vi.groups, g)
		}
		g.add(int32(i), t.keys)
	}
	if len(vi.groups) == 0 {
		return nil
	}
	return vi
}

func newValueGroup(paths []*rawPath) *valueGroup {
	return &valueGroup{paths: paths, text: map[string][]int32{}, num: map[float64][]int32{}}
}

// add files the rule at position pos under keys.
func (g *valueGroup) add(pos int32, keys []sigmaKey) {
	for _, k := range keys {
		switch k.kind {
		case keyText:
			g.text[k.text] = appendPos(g.text[k.text], pos)
		case keyNum:
			g.num[k.num] = appendPos(g.num[k.num], pos)
		case keyBool:
			g.bools[boolIndex(k.b)] = appendPos(g.bools[boolIndex(k.b)], pos)
		}
	}
}

// appendPos appends pos to list unless it is already its last element (a
// rule with the same key twice).
func appendPos(list []int32, pos int32) []int32 {
	if n := len(list); n > 0 && list[n-1] == pos {
		return list
	}
	return append(list, pos)
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// selectRules returns sel (reused) holding the bit of each rule of the
// bucket to run on the event whose raw document is raw: the rules without
// a discriminator, and those whose discriminator finds one of its values
// there. c finds the values (once per evaluation); buf is scratch space,
// returned for reuse.
func (vi *valueIndex) selectRules(sel []uint64, c *pathCache, raw map[string]any, buf []byte) ([]uint64, []byte) {
	sel = append(sel[:0], vi.always...)
	for _, g := range vi.groups {
		buf = g.mark(sel, c, raw, buf)
	}
	return sel, buf
}

// mark sets in sel the bits of the rules of g one of whose values is
// found at g's paths in raw.
func (g *valueGroup) mark(sel []uint64, c *pathCache, raw map[string]any, buf []byte) []byte {
	for _, p := range g.paths {
		for _, v := range c.values(p, raw) {
			buf = g.markLeaves(sel, v, buf)
		}
	}
	return buf
}

// markLeaves marks the rules whose values match v, a value found at a
// path, or a scalar inside it at any depth (sigma_eq matches an object or
// an array when a value inside it does).
func (g *valueGroup) markLeaves(sel []uint64, v any, buf []byte) []byte {
	switch n := v.(type) {
	case map[string]any:
		for _, el := range n {
			buf = g.markLeaves(sel, el, buf)
		}
		return buf
	case []any:
		for _, el := range n {
			buf = g.markLeaves(sel, el, buf)
		}
		return buf
	}
	if len(g.text) > 0 {
		var ok bool
		if buf, ok = foldedText(buf[:0], v); ok {
			setBits(sel, g.text[string(buf)])
		}
	}
	if len(g.num) > 0 {
		if n, ok := numeric(v); ok {
			setBits(sel, g.num[n])
		}
	}
	if len(g.bools[0]) > 0 || len(g.bools[1]) > 0 {
		if b, ok := boolValue(v); ok {
			setBits(sel, g.bools[boolIndex(b)])
		}
	}
	return buf
}

func setBits(sel []uint64, positions []int32) {
	for _, i := range positions {
		sel[i/64] |= 1 << (i % 64)
	}
}

// selected reports whether sel, from selectRules (nil: every rule), holds
// the rule at position i.
func selected(sel []uint64, i int) bool {
	return sel == nil || sel[i/64]&(1<<(i%64)) != 0
}

// countSelected returns how many rules sel holds.
func countSelected(sel []uint64) int {
	n := 0
	for _, w := range sel {
		n += bits.OnesCount64(w)
	}
	return n
}

// hits reports whether the discriminator finds one of its values in raw,
// with the code the value index runs: false means Set.Evaluate does not
// run the rule on the event.
func (t *valueTest) hits(c *pathCache, raw map[string]any) bool {
	var sel [1]uint64
	t.one.mark(sel[:], c, raw, nil)
	return sel[0] != 0
}

// skipReason says why Set.Evaluate does not run the rule on an event.
func (t *valueTest) skipReason() string {
	where := make([]string, len(t.site.paths))
	for i, p := range t.site.paths {
		where[i] = "raw." + p.text
	}
	return fmt.Sprintf("not run: %s holds none of the values the rule's sigma_eq requires there", strings.Join(where, " or "))
}

// valueTests returns the discriminator of each rule that has one (see the
// value index above), its sites found in ss.
func valueTests(rules []*rule, ss *sigmaSites) map[*rule]*valueTest {
	out := map[*rule]*valueTest{}
	if ss == nil {
		return out
	}
	cands := make([][]*valueTest, len(rules))
	freq := map[string]int{} // rules selecting on a value at some paths
	for i, r := range rules {
		seen := map[string]bool{}
		for _, c := range conjuncts(r.when.Node(), nil) {
			if t := sigmaEqTest(c, ss); t != nil {
				cands[i] = append(cands[i], t)
				for _, k := range t.keys {
					if fk := t.group + "\x01" + k.String(); !seen[fk] {
						seen[fk] = true
						freq[fk]++
					}
				}
				continue
			}
			if callsRecordingHelper(c) {
				break
			}
		}
	}
	for i, r := range rules {
		var best *valueTest
		bestScore := 0
		for _, t := range cands[i] {
			score := 0
			for _, k := range t.keys {
				score += freq[t.group+"\x01"+k.String()]
			}
			if best == nil || score < bestScore {
				best, bestScore = t, score
			}
		}
		if best != nil {
			best.one = newValueGroup(best.site.paths)
			best.one.add(0, best.keys)
			out[r] = best
		}
	}
	return out
}

// sigmaEqTest returns the discriminator n makes when n is a call
// sigma_eq(raw, paths, values) of a site prepared in ss whose values all
// have a key; nil otherwise.
func sigmaEqTest(n ast.Node, ss *sigmaSites) *valueTest {
	call, ok := n.(*ast.CallNode)
	if !ok {
		return nil
	}
	if id, ok := call.Callee.(*ast.IdentifierNode); !ok || id.Value != "sigma_eq" {
		return nil
	}
	args := call.Arguments
	if len(args) > 0 {
		if id, ok := args[0].(*ast.IdentifierNode); ok && id.Value == bindingName {
			args = args[1:]
		}
	}
	if len(args) != 3 {
		return nil
	}
	if id, ok := args[0].(*ast.IdentifierNode); !ok || id.Value != "raw" {
		return nil
	}
	values, ok := literalArg(args[2])
	if !ok {
		return nil
	}
	site := ss.find(values)
	if site == nil || site.fn.name != "sigma_eq" || len(site.values) == 0 {
		return nil
	}
	t := &valueTest{site: site}
	for i := range site.values {
		k, ok := site.values[i].eqKey()
		if !ok {
			return nil
		}
		t.keys = append(t.keys, k)
	}
	texts := make([]string, len(site.paths))
	for i, p := range site.paths {
		texts[i] = p.text
	}
	t.group = strings.Join(texts, "\x00")
	return t
}

// String returns the key as text, its kind first.
func (k sigmaKey) String() string {
	switch k.kind {
	case keyNum:
		return "n" + strconv.FormatFloat(k.num, 'g', -1, 64)
	case keyBool:
		return "b" + strconv.FormatBool(k.b)
	}
	return "s" + k.text
}

// valueSkip says why Set.Evaluate does not run r on ev, which the source
// index runs it for, because of the value index; "" when it runs it. c
// must be bound to ev.
func (ix *sourceIndex) valueSkip(r *rule, ev *event.Event, c *pathCache) string {
	t := ix.tests[r]
	if t == nil || t.hits(c, ev.Raw) {
		return ""
	}
	return t.skipReason()
}
