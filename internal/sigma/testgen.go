package sigma

import (
	"fmt"
	"net/netip"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"testing/fstest"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/rules"
)

// testUser is the user of the generated test events.
const testUser = "sigma-test@example.com"

// maxTerms bounds the conjunctions the generator tries for a matching
// event.
const maxTerms = 64

// lit is a clause or its negation, in a conjunction the generator tries to
// satisfy.
type lit struct {
	c   *clause
	neg bool
}

// dnf lists conjunctions of literals of which any one satisfies f (negated
// when neg), at most maxTerms of them.
func dnf(f formula, neg bool) [][]lit {
	switch x := f.(type) {
	case *clause:
		return [][]lit{{{c: x, neg: neg}}}
	case fGroup:
		return dnf(x.f, neg)
	case fNot:
		return dnf(x.f, !neg)
	case fAnd:
		if neg {
			return union(x, true)
		}
		return product(x, false)
	case fOr:
		if neg {
			return product(x, true)
		}
		return union(x, false)
	}
	return nil
}

// union is the DNF of a disjunction.
func union(fs []formula, neg bool) [][]lit {
	var out [][]lit
	for _, f := range fs {
		out = append(out, dnf(f, neg)...)
		if len(out) >= maxTerms {
			return out[:maxTerms]
		}
	}
	return out
}

// product is the DNF of a conjunction.
func product(fs []formula, neg bool) [][]lit {
	out := [][]lit{{}}
	for _, f := range fs {
		var next [][]lit
		for _, a := range out {
			for _, b := range dnf(f, neg) {
				next = append(next, append(slices.Clip(a), b...))
				if len(next) >= maxTerms {
					break
				}
			}
			if len(next) >= maxTerms {
				break
			}
		}
		out = next
	}
	return out
}

// fieldWant is what a conjunction asks of one document path.
type fieldWant struct {
	exact             any // a value the path must hold, nil for none
	prefix, suffix    string
	infix             []string
	re                []string // strings the path's regular expressions match
	present, absent   bool
	hasExact, hasText bool
}

// variants is the number of ways termDoc writes the text a path must
// hold; the generator tries each.
const variants = 3

// text is the string a path must hold, written the way variant says: 0
// the pieces end to end (a regular expression's sample alone when there
// is one), 1 the pieces apart (x between and around them), 2 as 1 with the
// regular expressions' samples among the pieces.
func (w *fieldWant) text(variant int) (string, bool) {
	if len(w.re) > 0 && (variant == 0 || !w.hasText) {
		return w.re[0], true
	}
	if !w.hasText {
		return "", false
	}
	if variant == 0 {
		return w.prefix + strings.Join(w.infix, "") + w.suffix, true
	}
	pieces := slices.Clone(w.infix)
	if variant == 2 {
		pieces = append(pieces, w.re...)
	}
	mid := "x" + strings.Join(pieces, "x") + "x"
	return w.prefix + mid + w.suffix, true
}

// termDoc builds a document meant to satisfy the conjunction term, the
// text of its paths written as variant says; ok is false when a clause
// cannot be satisfied by any value the generator knows (an empty list).
func termDoc(term []lit, lists map[string][]string, variant int) (map[string]any, bool) {
	wants := map[string]*fieldWant{}
	var order []string
	want := func(p string) *fieldWant {
		w, ok := wants[p]
		if !ok {
			w = &fieldWant{}
			wants[p] = w
			order = append(order, p)
		}
		return w
	}
	keyword := 0
	for _, l := range term {
		c := l.c
		if l.neg {
			switch c.fn {
			case "sigma_null":
				w := want(c.paths[0])
				w.present = true
			case "sigma_exists":
				want(c.paths[0]).absent = true
			}
			continue
		}
		if strings.HasPrefix(c.fn, "sigma_keyword") {
			keyword++
			w := want(fmt.Sprintf("sigma_keyword_%d", keyword))
			w.exact, w.hasExact = globText(c.vals[0].text), true
			continue
		}
		w := want(c.paths[0])
		switch fn := strings.TrimSuffix(c.fn, "_cased"); fn {
		case "sigma_null":
			w.absent = true
		case "sigma_exists":
			w.present = true
		case "sigma_eq":
			w.exact, w.hasExact = sampleValue(c.vals[0]), true
		case "sigma_contains":
			w.infix, w.hasText = append(w.infix, globText(c.vals[0].text)), true
		case "sigma_startswith":
			w.prefix, w.hasText = globText(c.vals[0].text), true
		case "sigma_endswith":
			w.suffix, w.hasText = globText(c.vals[0].text), true
		case "sigma_in_list", "sigma_contains_list", "sigma_startswith_list", "sigma_endswith_list":
			members := lists[c.vals[0].text]
			if len(members) == 0 {
				return nil, false
			}
			w.exact, w.hasExact = globText(members[0]), true
		case "sigma_re":
			s, ok := regexpSample(c.vals[0].text)
			if !ok {
				return nil, false
			}
			w.re = append(w.re, s)
		case "sigma_cidr":
			w.exact, w.hasExact = cidrSample(c.vals[0].text), true
		case "sigma_gt", "sigma_gte", "sigma_lt", "sigma_lte":
			n := c.vals[0].num
			switch fn {
			case "sigma_gt":
				n++
			case "sigma_lt":
				n--
			}
			w.exact, w.hasExact = n, true
		case "sigma_fieldref":
			w.exact, w.hasExact = "sigma-ref", true
			r := want(c.vals[0].text)
			r.exact, r.hasExact = "sigma-ref", true
		}
	}
	doc := map[string]any{}
	for _, p := range order {
		w := wants[p]
		var v any
		switch {
		case w.hasExact:
			v = w.exact
		case w.hasText || len(w.re) > 0:
			v, _ = w.text(variant)
		case w.present:
			v = "sigma-value"
		default:
			continue
		}
		if w.absent {
			continue
		}
		setPath(doc, p, v)
	}
	return doc, true
}

// sampleValue is a document value equal to a value of sigma_eq.
func sampleValue(v value) any {
	switch v.kind {
	case vNumber:
		return v.num
	case vBool:
		return v.b
	}
	return globText(v.text)
}

// globText is a string a Sigma string value matches: its wildcards
// replaced (* by nothing, ? by x), its escapes resolved.
func globText(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\\' && i+1 < len(rs) && (rs[i+1] == '*' || rs[i+1] == '?' || rs[i+1] == '\\'):
			i++
			b.WriteRune(rs[i])
		case r == '*':
		case r == '?':
			b.WriteByte('x')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// cidrSample is an address inside the CIDR (or the address itself).
func cidrSample(s string) string {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked().Addr().String()
	}
	return s
}

// regexpSample returns a string the regular expression matches: the
// shortest choices (first alternative, no optional repeat), checked.
func regexpSample(src string) (string, bool) {
	re, err := regexp.Compile(src)
	if err != nil {
		return "", false
	}
	tree, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return "", false
	}
	for _, extra := range []int{0, 1, 2} {
		var b strings.Builder
		sampleNode(&b, tree.Simplify(), extra)
		if s := b.String(); re.MatchString(s) {
			return s, true
		}
	}
	return "", false
}

// sampleNode writes a string the regexp node matches; extra adds repeats
// beyond the minimum.
func sampleNode(b *strings.Builder, re *syntax.Regexp, extra int) {
	switch re.Op {
	case syntax.OpLiteral:
		// A case-insensitive literal is written in lower case: a
		// case-sensitive expression elsewhere in the rule is less likely
		// to match it by chance.
		if re.Flags&syntax.FoldCase != 0 {
			b.WriteString(strings.ToLower(string(re.Rune)))
		} else {
			b.WriteString(string(re.Rune))
		}
	case syntax.OpCharClass:
		b.WriteRune(classSample(re.Rune))
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte('a')
	case syntax.OpCapture:
		sampleNode(b, re.Sub[0], extra)
	case syntax.OpStar, syntax.OpQuest:
		for range extra {
			sampleNode(b, re.Sub[0], extra)
		}
	case syntax.OpPlus:
		for range 1 + extra {
			sampleNode(b, re.Sub[0], extra)
		}
	case syntax.OpRepeat:
		n := re.Min + extra
		if re.Max >= 0 && n > re.Max {
			n = re.Max
		}
		for range n {
			sampleNode(b, re.Sub[0], extra)
		}
	case syntax.OpConcat:
		for _, s := range re.Sub {
			sampleNode(b, s, extra)
		}
	case syntax.OpAlternate:
		sampleNode(b, re.Sub[0], extra)
	}
}

// classSample picks a character of a class: a letter or digit when one is
// in it, else its first.
func classSample(ranges []rune) rune {
	for i := 0; i+1 < len(ranges); i += 2 {
		for _, r := range "aA0x" {
			if ranges[i] <= r && r <= ranges[i+1] {
				return r
			}
		}
	}
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] >= ' ' {
			return ranges[i]
		}
	}
	if len(ranges) > 0 {
		return ranges[0]
	}
	return 'a'
}

// setPath puts v at the document path p in doc, creating the objects on
// the way; a segment with a filter, key[name=VALUE], creates or reuses the
// element of the list under key whose name is VALUE.
func setPath(doc map[string]any, p string, v any) {
	segs := splitDotted(p)
	cur := doc
	for i, s := range segs {
		last := i == len(segs)-1
		key, fk, fv, filtered := splitFilter(s)
		if filtered {
			list, _ := cur[key].([]any)
			var el map[string]any
			for _, x := range list {
				if m, ok := x.(map[string]any); ok && m[fk] == fv {
					el = m
				}
			}
			if el == nil {
				el = map[string]any{fk: fv}
				cur[key] = append(list, el)
			}
			if last {
				return
			}
			cur = el
			continue
		}
		if last {
			cur[key] = v
			return
		}
		next, ok := cur[key].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[key] = next
		}
		cur = next
	}
}

// splitDotted splits a path on the dots outside filter brackets.
func splitDotted(p string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '[':
			depth++
		case ']':
			depth--
		case '.':
			if depth == 0 {
				out = append(out, p[start:i])
				start = i + 1
			}
		}
	}
	return append(out, p[start:])
}

// splitFilter splits key[fk=fv].
func splitFilter(s string) (key, fk, fv string, ok bool) {
	i := strings.IndexByte(s, '[')
	if i <= 0 || !strings.HasSuffix(s, "]") {
		return s, "", "", false
	}
	fk, fv, ok = strings.Cut(s[i+1:len(s)-1], "=")
	return s[:i], fk, fv, ok && fk != ""
}

// removePath deletes the document path p from a copy of doc.
func removePath(doc map[string]any, p string) map[string]any {
	out := deepCopy(doc).(map[string]any)
	segs := splitDotted(p)
	cur := out
	for i, s := range segs {
		key, fk, fv, filtered := splitFilter(s)
		if i == len(segs)-1 {
			if filtered {
				if list, ok := cur[key].([]any); ok {
					cur[key] = slices.DeleteFunc(list, func(x any) bool {
						m, ok := x.(map[string]any)
						return ok && m[fk] == fv
					})
				}
				return out
			}
			delete(cur, key)
			return out
		}
		var next map[string]any
		if filtered {
			list, _ := cur[key].([]any)
			for _, x := range list {
				if m, ok := x.(map[string]any); ok && m[fk] == fv {
					next = m
				}
			}
		} else {
			next, _ = cur[key].(map[string]any)
		}
		if next == nil {
			return out
		}
		cur = next
	}
	return out
}

// leafPaths lists the paths of doc's leaves (values that are not
// objects), sorted, filters written for list elements that have a name.
func leafPaths(doc map[string]any, prefix string, out []string) []string {
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		switch v := doc[k].(type) {
		case map[string]any:
			out = leafPaths(v, p, out)
		case []any:
			for _, x := range v {
				if m, ok := x.(map[string]any); ok {
					for fk, fv := range m {
						if s, ok := fv.(string); ok && fk == "name" {
							out = append(out, p+"[name="+s+"]")
						}
					}
				}
			}
		default:
			out = append(out, p)
		}
	}
	return out
}

// deepCopy copies a document.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, el := range x {
			m[k] = deepCopy(el)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, el := range x {
			l[i] = deepCopy(el)
		}
		return l
	}
	return v
}

// checker evaluates candidate test events against one compiled rule.
type checker struct {
	set     *rules.Set
	formats []string
	kind    string
}

// newChecker compiles the rule alone (with the placeholder lists) to
// check candidate events against.
func newChecker(r outRule, lists map[string][]string, formats []string, kind string) (*checker, error) {
	r.Tests = nil
	data, err := renderRules([]outRule{r})
	if err != nil {
		return nil, err
	}
	fsys := fstest.MapFS{"rule.yaml": {Data: data}}
	if len(lists) > 0 {
		ld, err := renderLists(lists)
		if err != nil {
			return nil, err
		}
		fsys["lists.yaml"] = &fstest.MapFile{Data: ld}
	}
	set, err := rules.Load(fsys)
	if err != nil {
		return nil, fmt.Errorf("compile the imported rule: %w", err)
	}
	return &checker{set: set, formats: formats, kind: kind}, nil
}

// event returns a test event of source with raw.
func (c *checker) event(source string, raw map[string]any) outEvent {
	return outEvent{Source: source, Kind: c.kind, UserEmail: testUser, Raw: raw}
}

// matches evaluates ev; a runtime error counts as no match and is
// returned.
func (c *checker) matches(ev outEvent) (bool, error) {
	e := event.Event{Source: ev.Source, Kind: ev.Kind, UserEmail: ev.UserEmail, Raw: ev.Raw}
	res := c.set.Evaluate(&e)
	if len(res.Errors) > 0 {
		return false, res.Errors[0]
	}
	return len(res.Decisions) > 0, nil
}

// generateTests builds an event that matches the rule and one that does
// not, both checked against the compiled rule. The matching event comes
// from the first conjunction of the detection (in DNF) the generator can
// satisfy; the other one is the matching event without one of its fields
// (those the logsource's clause reads, last), an empty document, or at
// worst the matching document from another source, which the rule's
// source guard refuses.
func generateTests(c *checker, f formula, lists map[string][]string, lsPaths []string) ([]outTest, *Skip) {
	src := c.formats[0]
	var pos map[string]any
terms:
	for _, term := range dnf(f, false) {
		for v := range variants {
			doc, ok := termDoc(term, lists, v)
			if !ok {
				continue terms
			}
			if m, err := c.matches(c.event(src, doc)); err == nil && m {
				pos = doc
				break terms
			}
		}
	}
	if pos == nil {
		return nil, skipf(ReasonUntestable, "no event the test generator builds matches the condition (it may contradict itself, or need a value of an empty placeholder list)")
	}
	tests := []outTest{{Name: "matches: built from the detection", Event: c.event(src, pos), Expect: outExpect{Match: true}}}
	paths := leafPaths(pos, "", nil)
	slices.SortStableFunc(paths, func(a, b string) int {
		la, lb := slices.Contains(lsPaths, a), slices.Contains(lsPaths, b)
		switch {
		case la == lb:
			return 0
		case la:
			return 1
		}
		return -1
	})
	for _, p := range paths {
		doc := removePath(pos, p)
		if m, err := c.matches(c.event(src, doc)); err == nil && !m {
			return append(tests, outTest{Name: "does not match: without " + p, Event: c.event(src, doc), Expect: outExpect{}}), nil
		}
	}
	empty := map[string]any{}
	if m, err := c.matches(c.event(src, empty)); err == nil && !m {
		return append(tests, outTest{Name: "does not match: an empty document", Event: c.event(src, empty), Expect: outExpect{}}), nil
	}
	for _, f := range event.Formats() {
		if !slices.Contains(c.formats, string(f)) {
			return append(tests, outTest{Name: "does not match: another source", Event: c.event(string(f), pos), Expect: outExpect{}}), nil
		}
	}
	return tests, nil
}
