package sigma

import (
	"strconv"
	"strings"
)

// formula is a compiled detection: clauses joined with and, or and not.
// It renders as the expr of the rule's `when`, and the test generator
// walks it.
type formula interface{ render() string }

type (
	fAnd []formula
	fOr  []formula
	fNot struct{ f formula }
)

// clause is one call of a Sigma function of the rules package.
type clause struct {
	fn string
	// paths are the document paths the call reads (none for a keyword
	// search).
	paths []string
	// vals are the call's values: strings in Sigma's syntax, numbers,
	// bools; list names, regular expressions, CIDRs or referenced paths for
	// the functions that take those. Nil for sigma_exists and sigma_null.
	vals []value
}

// render writes the call: fn(raw, path, [values]), the path a string or a
// list of alternatives.
func (c *clause) render() string {
	var b strings.Builder
	b.WriteString(c.fn)
	b.WriteString("(raw")
	if len(c.paths) > 0 {
		b.WriteString(", ")
		if len(c.paths) == 1 {
			b.WriteString(strconv.Quote(c.paths[0]))
		} else {
			b.WriteString("[")
			for i, p := range c.paths {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(strconv.Quote(p))
			}
			b.WriteString("]")
		}
	}
	if c.vals != nil {
		b.WriteString(", [")
		for i, v := range c.vals {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(v.expr())
		}
		b.WriteString("]")
	}
	b.WriteString(")")
	return b.String()
}

func (f fAnd) render() string { return join(f, " && ") }
func (f fOr) render() string  { return join(f, " || ") }

func (f fNot) render() string { return "!" + paren(f.f) }

// join renders the operands joined with op, each in parentheses when it
// is itself a compound.
func join(fs []formula, op string) string {
	if len(fs) == 1 {
		return fs[0].render()
	}
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = paren(f)
	}
	return strings.Join(parts, op)
}

// paren renders f, in parentheses unless it is a clause, a negation or a
// search identifier (which brings its own).
func paren(f formula) string {
	switch x := f.(type) {
	case *clause, fNot, fGroup:
		return f.render()
	case fAnd:
		if len(x) == 1 {
			return paren(x[0])
		}
	case fOr:
		if len(x) == 1 {
			return paren(x[0])
		}
	}
	return "(" + f.render() + ")"
}

// and returns the conjunction of fs, flattened; a single operand alone.
func and(fs ...formula) formula {
	var out fAnd
	for _, f := range fs {
		if a, ok := f.(fAnd); ok {
			out = append(out, a...)
		} else {
			out = append(out, f)
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	return out
}

// or returns the disjunction of fs, flattened; a single operand alone.
func or(fs ...formula) formula {
	var out fOr
	for _, f := range fs {
		if o, ok := f.(fOr); ok {
			out = append(out, o...)
		} else {
			out = append(out, f)
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	return out
}
