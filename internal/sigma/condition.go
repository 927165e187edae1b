package sigma

import (
	"fmt"
	"path"
	"strings"
)

// cond is a parsed Sigma condition.
type cond interface{ isCond() }

type (
	condAnd struct{ l, r cond }
	condOr  struct{ l, r cond }
	condNot struct{ c cond }
	// condRef names one search identifier.
	condRef struct{ name string }
	// condOf is "1 of pattern", "all of pattern", "1 of them" or "all of
	// them"; pattern is "" for them.
	condOf struct {
		all     bool
		pattern string
	}
)

func (condAnd) isCond() {}
func (condOr) isCond()  {}
func (condNot) isCond() {}
func (condRef) isCond() {}
func (condOf) isCond()  {}

// parseCondition parses a condition: search identifiers, and, or, not,
// parentheses, "1 of x*", "all of x*", "1 of them", "all of them" (least to
// most binding: or, and, not, x of, parentheses). A pipe (an aggregation
// such as "| count() by x > 5") or "near" is refused with
// ReasonAggregation.
func parseCondition(s string) (cond, *Skip) {
	if strings.Contains(s, "|") {
		return nil, skipf(ReasonAggregation, "the condition %q aggregates events; tripline matches one event at a time", s)
	}
	toks := tokenize(s)
	for _, t := range toks {
		if strings.EqualFold(t, "near") {
			return nil, skipf(ReasonAggregation, "the condition %q uses near (events close in time); tripline matches one event at a time", s)
		}
	}
	p := &condParser{toks: toks, src: s}
	c, err := p.or()
	if err == nil && p.i < len(p.toks) {
		err = fmt.Errorf("unexpected %q", p.toks[p.i])
	}
	if err != nil {
		return nil, skipf(ReasonInvalid, "condition %q: %v", s, err)
	}
	return c, nil
}

// tokenize splits a condition into parentheses and words.
func tokenize(s string) []string {
	var out []string
	cur := strings.Builder{}
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r == '(' || r == ')':
			flush()
			out = append(out, string(r))
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return out
}

type condParser struct {
	toks []string
	i    int
	src  string
}

func (p *condParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

// keyword reports whether the next token is the keyword kw
// (case-insensitive) and consumes it when it is.
func (p *condParser) keyword(kw string) bool {
	if strings.EqualFold(p.peek(), kw) {
		p.i++
		return true
	}
	return false
}

func (p *condParser) or() (cond, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = condOr{l, r}
	}
	return l, nil
}

func (p *condParser) and() (cond, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		l = condAnd{l, r}
	}
	return l, nil
}

func (p *condParser) not() (cond, error) {
	if p.keyword("not") {
		c, err := p.not()
		if err != nil {
			return nil, err
		}
		return condNot{c}, nil
	}
	return p.primary()
}

func (p *condParser) primary() (cond, error) {
	t := p.peek()
	switch {
	case t == "":
		return nil, fmt.Errorf("unexpected end")
	case t == "(":
		p.i++
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		p.i++
		return c, nil
	case t == ")":
		return nil, fmt.Errorf("unexpected )")
	case isReserved(t):
		return nil, fmt.Errorf("unexpected %q", t)
	}
	if p.i+1 < len(p.toks) && strings.EqualFold(p.toks[p.i+1], "of") {
		all := false
		switch {
		case t == "1" || strings.EqualFold(t, "any"):
		case strings.EqualFold(t, "all"):
			all = true
		default:
			return nil, fmt.Errorf("%q of: only 1 of and all of are supported", t)
		}
		p.i += 2
		target := p.peek()
		if target == "" || target == "(" || target == ")" || isReserved(target) {
			return nil, fmt.Errorf("of: missing a search identifier pattern or them")
		}
		p.i++
		if strings.EqualFold(target, "them") {
			return condOf{all: all}, nil
		}
		return condOf{all: all, pattern: target}, nil
	}
	p.i++
	return condRef{name: t}, nil
}

// isReserved reports whether t is a keyword of the condition language.
func isReserved(t string) bool {
	switch strings.ToLower(t) {
	case "and", "or", "not", "of":
		return true
	}
	return false
}

// matchPattern reports whether the search identifier name matches the
// pattern of "x of pattern" (wildcard *).
func matchPattern(pattern, name string) bool {
	// path.Match's other metacharacters ([, ?, \) do not occur in
	// identifier patterns; escape them so they stay literal.
	esc := strings.NewReplacer(`\`, `\\`, `[`, `\[`, `?`, `\?`).Replace(pattern)
	ok, err := path.Match(esc, name)
	return err == nil && ok
}
