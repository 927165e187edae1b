package sigma

import (
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tripline-dev/tripline/internal/rules"
)

// placer places Sigma field names on document paths: a Mapping, or
// identityPlacer for selections written with document paths.
type placer interface {
	place(name string) (placement, *Skip)
}

// identityPlacer reads every field at the path it is written as.
type identityPlacer struct{}

func (identityPlacer) place(name string) (placement, *Skip) {
	return placement{paths: []string{name}}, nil
}

// fGroup is a search identifier's formula inside the condition: kept
// whole (never flattened into the formula around it), so that the
// selection's expr appears as is in the rule's `when`.
type fGroup struct {
	name string
	f    formula
}

func (g fGroup) render() string {
	if c, ok := g.f.(*clause); ok {
		return c.render()
	}
	return "(" + g.f.render() + ")"
}

// compiled is a detection compiled for one mapping.
type compiled struct {
	// cond is the condition's formula, and the logsource's clause before
	// it when the mapping has one: the part of `when` after the guard.
	cond formula
	// selections are the search identifiers in the order written, each
	// with the expr it compiled to.
	selections []rules.SigmaSelection
	// condition is the condition as written (conditions joined with " or ").
	condition string
	// lists maps the placeholder lists the rule reads to the placeholder
	// each stands for (%name%).
	lists map[string]string
	// lsPaths are the document paths the logsource's clause reads.
	lsPaths []string
}

// compileDetection compiles a rule's detection with the placer p; ls is
// the logsource's own selection (nil for none), compiled with document
// paths and put before the condition.
func compileDetection(det *yaml.Node, p placer, ls *yaml.Node) (*compiled, *Skip) {
	c := &compiled{}
	sels := map[string]formula{}
	var order, conditions []string
	lists := map[string]string{}
	for i := 0; i+1 < len(det.Content); i += 2 {
		k, v := det.Content[i], det.Content[i+1]
		switch k.Value {
		case "condition":
			switch {
			case v.Kind == yaml.ScalarNode && v.Tag != "!!null":
				conditions = []string{v.Value}
			case v.Kind == yaml.SequenceNode:
				for _, el := range v.Content {
					if el.Kind != yaml.ScalarNode {
						return nil, skipf(ReasonInvalid, "condition: expected a string or a list of strings")
					}
					conditions = append(conditions, el.Value)
				}
			default:
				return nil, skipf(ReasonInvalid, "condition: expected a string or a list of strings")
			}
		case "timeframe":
			return nil, skipf(ReasonTimeframe, "the detection has a timeframe (%s): it counts events over time; tripline matches one event at a time", v.Value)
		default:
			f, sk := compileSelection(k.Value, v, p, lists)
			if sk != nil {
				return nil, sk
			}
			sels[k.Value] = f
			order = append(order, k.Value)
			c.selections = append(c.selections, rules.SigmaSelection{Name: k.Value, When: f.render()})
		}
	}
	if len(conditions) == 0 {
		return nil, skipf(ReasonInvalid, "the detection has no condition")
	}
	var parts []formula
	for _, s := range conditions {
		cd, sk := parseCondition(s)
		if sk != nil {
			return nil, sk
		}
		f, sk := condFormula(cd, sels, order)
		if sk != nil {
			return nil, sk
		}
		parts = append(parts, f)
	}
	c.condition = strings.Join(conditions, " or ")
	c.cond = or(parts...)
	if ls != nil {
		lf, sk := compileSelection("logsource", ls, identityPlacer{}, nil)
		if sk != nil {
			return nil, sk
		}
		c.cond = and(fGroup{name: "logsource", f: lf}, c.cond)
		for _, t := range dnf(lf, false) {
			for _, l := range t {
				c.lsPaths = append(c.lsPaths, l.c.paths...)
			}
		}
	}
	c.lists = lists
	return c, nil
}

// condFormula turns a parsed condition into a formula over the search
// identifiers' formulas.
func condFormula(c cond, sels map[string]formula, order []string) (formula, *Skip) {
	switch x := c.(type) {
	case condRef:
		f, ok := sels[x.name]
		if !ok {
			return nil, skipf(ReasonInvalid, "the condition names %q, which is not a search identifier", x.name)
		}
		return fGroup{name: x.name, f: f}, nil
	case condOf:
		var fs []formula
		for _, name := range order {
			if x.pattern == "" && strings.HasPrefix(name, "_") || x.pattern != "" && !matchPattern(x.pattern, name) {
				continue
			}
			fs = append(fs, fGroup{name: name, f: sels[name]})
		}
		if len(fs) == 0 {
			what := "them"
			if x.pattern != "" {
				what = x.pattern
			}
			return nil, skipf(ReasonInvalid, "the condition's \"of %s\" matches no search identifier", what)
		}
		if x.all {
			return and(fs...), nil
		}
		return or(fs...), nil
	case condNot:
		f, sk := condFormula(x.c, sels, order)
		if sk != nil {
			return nil, sk
		}
		return fNot{f}, nil
	case condAnd:
		l, sk := condFormula(x.l, sels, order)
		if sk != nil {
			return nil, sk
		}
		r, sk := condFormula(x.r, sels, order)
		if sk != nil {
			return nil, sk
		}
		return and(l, r), nil
	case condOr:
		l, sk := condFormula(x.l, sels, order)
		if sk != nil {
			return nil, sk
		}
		r, sk := condFormula(x.r, sels, order)
		if sk != nil {
			return nil, sk
		}
		return or(l, r), nil
	}
	return nil, skipf(ReasonInvalid, "unknown condition")
}

// compileSelection compiles one search identifier: a mapping (its items
// and-ed), a list of mappings (or-ed), or a list of keywords. The
// placeholder lists read are recorded in lists (name to placeholder) when
// it is not nil.
func compileSelection(name string, n *yaml.Node, p placer, lists map[string]string) (formula, *Skip) {
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content) == 0 {
			return nil, skipf(ReasonInvalid, "search identifier %s is empty", name)
		}
		var fs []formula
		for i := 0; i+1 < len(n.Content); i += 2 {
			f, sk := compileItem(n.Content[i].Value, n.Content[i+1], p, lists)
			if sk != nil {
				return nil, sk
			}
			fs = append(fs, f)
		}
		return and(fs...), nil
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return nil, skipf(ReasonInvalid, "search identifier %s is an empty list", name)
		}
		if n.Content[0].Kind == yaml.MappingNode {
			var fs []formula
			for _, el := range n.Content {
				if el.Kind != yaml.MappingNode {
					return nil, skipf(ReasonInvalid, "search identifier %s mixes mappings and keywords", name)
				}
				f, sk := compileSelection(name, el, p, lists)
				if sk != nil {
					return nil, sk
				}
				fs = append(fs, groupIfAnd(f))
			}
			return or(fs...), nil
		}
		return compileItem("", n, p, lists)
	case yaml.ScalarNode:
		if n.Tag != "!!null" {
			return compileItem("", n, p, lists)
		}
	}
	return nil, skipf(ReasonInvalid, "search identifier %s: expected a mapping or a list", name)
}

// groupIfAnd keeps a conjunction whole inside a disjunction.
func groupIfAnd(f formula) formula {
	if _, ok := f.(fAnd); ok {
		return fGroup{f: f}
	}
	return f
}

// itemSpec is the modifier chain of one detection item.
type itemSpec struct {
	field string
	// match is eq, contains, startswith, endswith, re, cidr, gt, gte, lt,
	// lte, exists or fieldref.
	match              string
	all, cased, expand bool
	reFlags            string
	// transforms are windash, base64 and base64offset, in the order
	// written.
	transforms []string
}

// parseKey splits an item key, field|mod|mod, and checks the modifiers.
func parseKey(key string) (itemSpec, *Skip) {
	parts := strings.Split(key, "|")
	s := itemSpec{field: parts[0], match: "eq"}
	setMatch := func(m string) *Skip {
		if s.match != "eq" {
			return skipf(ReasonModifier, "%s: the modifiers %s and %s cannot be combined", key, s.match, m)
		}
		s.match = m
		return nil
	}
	for _, mod := range parts[1:] {
		var sk *Skip
		switch mod {
		case "contains", "startswith", "endswith", "re", "cidr", "gt", "gte", "lt", "lte", "exists", "fieldref":
			sk = setMatch(mod)
		case "i", "m", "s":
			if s.match != "re" {
				return s, skipf(ReasonModifier, "%s: %s is a sub-modifier of re", key, mod)
			}
			if !strings.Contains(s.reFlags, mod) {
				s.reFlags += mod
			}
		case "all":
			s.all = true
		case "cased":
			s.cased = true
		case "expand":
			s.expand = true
		case "windash", "base64", "base64offset":
			s.transforms = append(s.transforms, mod)
		case "":
			return s, skipf(ReasonInvalid, "%s: empty modifier", key)
		default:
			return s, skipf(ReasonModifier, "%s: the modifier %s is not supported", key, mod)
		}
		if sk != nil {
			return s, sk
		}
	}
	extra := func(what string) *Skip {
		return skipf(ReasonModifier, "%s: %s cannot be combined with %s", key, s.match, what)
	}
	switch s.match {
	case "re":
		if s.cased || s.expand || len(s.transforms) > 0 {
			return s, extra("cased, expand or an encoding")
		}
	case "cidr", "gt", "gte", "lt", "lte", "exists", "fieldref":
		if s.cased || s.expand || len(s.transforms) > 0 {
			return s, extra("cased, expand or an encoding")
		}
		if s.match == "exists" && s.all {
			return s, extra("all")
		}
	default:
		if s.expand && (s.cased || len(s.transforms) > 0) {
			return s, skipf(ReasonModifier, "%s: expand cannot be combined with cased or an encoding", key)
		}
	}
	if s.field == "" && (s.match != "eq" || s.expand || len(s.transforms) > 0) {
		return s, skipf(ReasonModifier, "%s: a keyword search supports the modifiers all and cased only", key)
	}
	return s, nil
}

// itemValues reads an item's values: a scalar or a list of scalars.
func itemValues(key string, n *yaml.Node) ([]value, *Skip) {
	var nodes []*yaml.Node
	switch n.Kind {
	case yaml.ScalarNode:
		nodes = []*yaml.Node{n}
	case yaml.SequenceNode:
		nodes = n.Content
	default:
		return nil, skipf(ReasonInvalid, "%s: expected a value or a list of values, got a %s", key, kindName(n))
	}
	if len(nodes) == 0 {
		return nil, skipf(ReasonInvalid, "%s: empty list of values", key)
	}
	out := make([]value, 0, len(nodes))
	for _, el := range nodes {
		v, err := scalarValue(el)
		if err != nil {
			return nil, skipf(ReasonInvalid, "%s: %v", key, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// compileItem compiles one item, field|modifiers: values (a keyword
// search when the field is empty).
func compileItem(key string, n *yaml.Node, p placer, lists map[string]string) (formula, *Skip) {
	spec, sk := parseKey(key)
	if sk != nil {
		return nil, sk
	}
	vals, sk := itemValues(key, n)
	if sk != nil {
		return nil, sk
	}
	if spec.field == "" {
		return keywordItem(key, spec, vals)
	}
	pl, sk := p.place(spec.field)
	if sk != nil {
		return nil, sk
	}
	switch spec.match {
	case "exists":
		if len(vals) != 1 || vals[0].kind != vBool {
			return nil, skipf(ReasonInvalid, "%s: exists takes true or false", key)
		}
		f := formula(&clause{fn: "sigma_exists", paths: pl.paths})
		if !vals[0].b {
			f = fNot{f}
		}
		return f, nil
	case "fieldref":
		return fieldRefItem(key, spec, vals, pl, p)
	}
	var clauses []formula
	// Values are grouped by the paths they are read at (a value mapping
	// may move one), one call per group, unless all asks for one per
	// value.
	type group struct {
		paths []string
		vals  []value
	}
	var groups []*group
	addVal := func(paths []string, v value) {
		if !spec.all {
			for _, g := range groups {
				if slices.Equal(g.paths, paths) {
					g.vals = append(g.vals, v)
					return
				}
			}
		}
		groups = append(groups, &group{paths: paths, vals: []value{v}})
	}
	fn, sk := itemFunc(key, spec)
	if sk != nil {
		return nil, sk
	}
	for _, v := range vals {
		paths := pl.paths
		if spec.match == "eq" && !spec.expand && len(spec.transforms) == 0 && v.kind != vNull {
			if vm, ok := pl.values[strings.ToLower(v.text)]; ok {
				v = valueOf(vm.Value)
				if vm.Path != "" {
					paths = []string{vm.Path}
				}
			}
		}
		if v.kind == vNull {
			if spec.match != "eq" || spec.expand || len(spec.transforms) > 0 {
				return nil, skipf(ReasonInvalid, "%s: null only goes with a plain field", key)
			}
			clauses = append(clauses, &clause{fn: "sigma_null", paths: paths})
			continue
		}
		vs, sk := prepareValue(key, spec, v, lists)
		if sk != nil {
			return nil, sk
		}
		if spec.all && len(vs) > 1 {
			// The variants of one value (windash, base64offset) stay
			// alternatives even under all.
			g := &group{paths: paths, vals: vs}
			groups = append(groups, g)
			continue
		}
		for _, x := range vs {
			addVal(paths, x)
		}
	}
	for _, g := range groups {
		clauses = append(clauses, &clause{fn: fn, paths: g.paths, vals: g.vals})
	}
	// Keep the calls in the order of the values written: nulls were
	// added as met, groups after; and/or does not depend on the order,
	// but the output must be the same every time, which it is.
	if spec.all {
		return and(clauses...), nil
	}
	return or(clauses...), nil
}

// itemFunc names the function an item's values are compared with.
func itemFunc(key string, spec itemSpec) (string, *Skip) {
	switch spec.match {
	case "eq", "contains", "startswith", "endswith":
		if spec.expand {
			if spec.match == "eq" {
				return "sigma_in_list", nil
			}
			return "sigma_" + spec.match + "_list", nil
		}
		fn := "sigma_" + spec.match
		if spec.cased {
			fn += "_cased"
		}
		return fn, nil
	case "re", "cidr", "gt", "gte", "lt", "lte":
		return "sigma_" + spec.match, nil
	}
	return "", skipf(ReasonModifier, "%s: unsupported modifier %s", key, spec.match)
}

// prepareValue turns one written value into the values of the call:
// typed and checked for its function, transformed (windash, base64...),
// or the list a placeholder names.
func prepareValue(key string, spec itemSpec, v value, lists map[string]string) ([]value, *Skip) {
	switch spec.match {
	case "gt", "gte", "lt", "lte":
		if v.kind == vString {
			text := strings.TrimSpace(v.text)
			if i, err := strconv.ParseInt(text, 10, 64); err == nil {
				return []value{valueOf(i)}, nil
			}
			f, err := strconv.ParseFloat(text, 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, skipf(ReasonInvalid, "%s: %s takes numbers, %q is none", key, spec.match, v.text)
			}
			return []value{{kind: vNumber, num: f, text: text}}, nil
		}
		if v.kind != vNumber {
			return nil, skipf(ReasonInvalid, "%s: %s takes numbers", key, spec.match)
		}
		return []value{v}, nil
	case "cidr":
		if _, err := netip.ParsePrefix(strings.TrimSpace(v.text)); err != nil {
			if _, err := netip.ParseAddr(strings.TrimSpace(v.text)); err != nil {
				return nil, skipf(ReasonInvalid, "%s: %q is not a CIDR", key, v.text)
			}
		}
		return []value{{kind: vString, text: strings.TrimSpace(v.text)}}, nil
	case "re":
		src := v.text
		if spec.reFlags != "" {
			src = "(?" + spec.reFlags + ")" + src
		}
		if _, err := regexp.Compile(src); err != nil {
			return nil, skipf(ReasonRegexp, "%s: the regular expression %q cannot run in RE2 (Go's regexp: no lookaround, backreference or possessive quantifier): %v", key, v.text, err)
		}
		return []value{{kind: vString, text: src}}, nil
	}
	if spec.expand {
		if v.kind != vString {
			return nil, skipf(ReasonModifier, "%s: expand takes a placeholder (%%name%%)", key)
		}
		name, sk := placeholder(v.text)
		if sk != nil {
			return nil, sk
		}
		if lists != nil {
			lists[name] = v.text
		}
		return []value{{kind: vString, text: name}}, nil
	}
	if spec.match != "eq" || spec.cased || len(spec.transforms) > 0 {
		v = v.asString()
	}
	out := []value{v}
	for _, t := range spec.transforms {
		var next []value
		for _, x := range out {
			var texts []string
			var sk *Skip
			switch t {
			case "windash":
				texts, sk = windash(x.text)
			case "base64":
				texts, sk = base64Value(x.text, false)
			case "base64offset":
				texts, sk = base64Value(x.text, true)
			}
			if sk != nil {
				sk.Msg = key + ": " + sk.Msg
				return nil, sk
			}
			for _, s := range texts {
				next = append(next, value{kind: vString, text: s})
			}
		}
		out = next
	}
	return out, nil
}

// fieldRefItem compiles field|fieldref: other: the field equals another
// field of the same document.
func fieldRefItem(key string, spec itemSpec, vals []value, pl placement, p placer) (formula, *Skip) {
	var clauses []formula
	for _, v := range vals {
		if v.kind != vString || v.text == "" {
			return nil, skipf(ReasonInvalid, "%s: fieldref takes field names", key)
		}
		ref, sk := p.place(v.text)
		if sk != nil {
			return nil, sk
		}
		refs := make([]value, len(ref.paths))
		for i, rp := range ref.paths {
			refs[i] = value{kind: vString, text: rp}
		}
		clauses = append(clauses, &clause{fn: "sigma_fieldref", paths: pl.paths, vals: refs})
	}
	if spec.all {
		return and(clauses...), nil
	}
	return or(clauses...), nil
}

// keywordItem compiles a keyword search: values searched in every string
// of the document.
func keywordItem(key string, spec itemSpec, vals []value) (formula, *Skip) {
	fn := "sigma_keyword"
	if spec.cased {
		fn += "_cased"
	}
	var out []value
	for _, v := range vals {
		if v.kind == vNull {
			return nil, skipf(ReasonInvalid, "%s: a keyword cannot be null", keyName(key))
		}
		out = append(out, v.asString())
	}
	if spec.all {
		var fs []formula
		for _, v := range out {
			fs = append(fs, &clause{fn: fn, vals: []value{v}})
		}
		return and(fs...), nil
	}
	return &clause{fn: fn, vals: out}, nil
}

// keyName names an item key in messages ("keywords" for a keyword list).
func keyName(key string) string {
	if key == "" {
		return "keywords"
	}
	return key
}
