package sigma

import (
	"fmt"
	"testing"
)

// show renders a parsed condition with every operator parenthesized.
func show(c cond) string {
	switch x := c.(type) {
	case condAnd:
		return "(" + show(x.l) + " and " + show(x.r) + ")"
	case condOr:
		return "(" + show(x.l) + " or " + show(x.r) + ")"
	case condNot:
		return "not " + show(x.c)
	case condRef:
		return x.name
	case condOf:
		q := "1"
		if x.all {
			q = "all"
		}
		p := x.pattern
		if p == "" {
			p = "them"
		}
		return q + " of " + p
	}
	return fmt.Sprintf("%T", c)
}

func TestParseCondition(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"a", "a"},
		{"a or b and c", "(a or (b and c))"},
		{"a and b or c", "((a and b) or c)"},
		{"not a and b", "(not a and b)"},
		{"not (a or b)", "not (a or b)"},
		{"1 of sel* and not all of filter_*", "(1 of sel* and not all of filter_*)"},
		{"all of them", "all of them"},
		{"any of them", "1 of them"},
		{"(a)and(b)", "(a and b)"},
		{"A AND NOT b", "(A and not b)"},
	}
	for _, tc := range tests {
		c, sk := parseCondition(tc.in)
		if sk != nil {
			t.Errorf("%q: %v", tc.in, sk)
			continue
		}
		if got := show(c); got != tc.want {
			t.Errorf("%q = %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "a and", "(a", "a)", "a b", "3 of x*", "1 of", "and a", "not"} {
		if _, sk := parseCondition(bad); sk == nil || sk.Reason != ReasonInvalid {
			t.Errorf("%q: skip %v, want invalid", bad, sk)
		}
	}
	if _, sk := parseCondition("sel | count() > 5"); sk == nil || sk.Reason != ReasonAggregation {
		t.Errorf("aggregation: skip %v", sk)
	}
}

func TestMatchPattern(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p, name string
		ok      bool
	}{
		{"sel*", "selection_a", true}, {"*_a", "selection_a", true}, {"sel*", "filter", false}, {"a[1]", "a[1]", true}, {"a?", "ab", false},
	} {
		if got := matchPattern(tc.p, tc.name); got != tc.ok {
			t.Errorf("matchPattern(%q, %q) = %t", tc.p, tc.name, got)
		}
	}
}
