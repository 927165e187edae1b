package rules

import (
	"net/netip"
	"path"
	"time"

	"github.com/expr-lang/expr/ast"
)

// checkCalls validates the literal arguments of helper-function calls (list
// names, CIDRs, time zones, windows, patterns) and records what evaluation
// needs prepared: parsed CIDRs, loaded time zones, parsed windows and the
// ring size of each count() key.
func checkCalls(p *problems, file string, line int, id, key string, root ast.Node, lists map[string]listSpec, cat *catalog) {
	c := &callChecker{p: p, file: file, line: line, id: id, key: key, lists: lists, cat: cat,
		counts: map[*ast.CallNode]string{}, sizes: map[*ast.CallNode]int{}}
	ast.Walk(&root, visitor(func(node *ast.Node) {
		switch n := (*node).(type) {
		case *ast.BinaryNode:
			c.compared(n)
		case *ast.CallNode:
			c.call(n)
		}
	}))
	c.ringSizes()
}

// callChecker checks the helper calls of one expression (see checkCalls).
type callChecker struct {
	p       *problems
	file    string
	line    int
	id, key string
	lists   map[string]listSpec
	cat     *catalog
	// counts holds the key of each count() call, sizes the ring size
	// the comparison of a call with an integer needs.
	counts map[*ast.CallNode]string
	sizes  map[*ast.CallNode]int
}

// bad reports a problem with the expression.
func (c *callChecker) bad(format string, args ...any) {
	c.p.add(c.file, c.line, c.id, c.key+": "+format, args...)
}

// stringLit returns the value of n when it is a string literal.
func stringLit(n ast.Node) (string, bool) {
	s, ok := n.(*ast.StringNode)
	if !ok {
		return "", false
	}
	return s.Value, true
}

// compared records, for a call compared with an integer (count(...) >= 5),
// the ring size the comparison needs: the integer, plus one unless the
// comparison is "at least".
func (c *callChecker) compared(n *ast.BinaryNode) {
	call, num := n.Left, n.Right
	if _, ok := call.(*ast.CallNode); !ok {
		call, num = n.Right, n.Left
	}
	cn, ok := call.(*ast.CallNode)
	if !ok {
		return
	}
	in, ok := num.(*ast.IntegerNode)
	if !ok {
		return
	}
	size := in.Value + 1
	if n.Operator == ">=" && cn == n.Left || n.Operator == "<=" && cn == n.Right {
		size = in.Value
	}
	c.sizes[cn] = size
}

// call checks the literal arguments of a helper call, by helper. Calls
// with the wrong number of arguments are left to the type checker.
func (c *callChecker) call(n *ast.CallNode) {
	ident, ok := n.Callee.(*ast.IdentifierNode)
	if !ok {
		return
	}
	fn, args := ident.Value, n.Arguments
	switch {
	case fn == "in_cidr" && len(args) == 2:
		c.inCIDR(args[1])
	case (fn == "country_in" || fn == "in_list") && len(args) == 2:
		c.knownList(fn, args[1])
	case fn == "list" && len(args) == 1:
		c.knownList(fn, args[0])
	case fn == "local_hour" && len(args) == 1:
		c.timeZone(fn, args[0])
	case fn == "hour_in" && len(args) == 3:
		c.timeZone(fn, args[0])
		c.hours(args[1:])
	case fn == "weekday_in" && len(args) >= 1:
		c.timeZone(fn, args[0])
		c.weekdays(args[1:])
	case fn == "glob" && len(args) == 2:
		c.globPattern(args[0])
	case fn == "risk_at_least" && len(args) == 1:
		c.riskLevel(args[0])
	case fn == "count" && len(args) == 2:
		c.count(n, args[0], args[1])
	case isSigmaHelper(fn):
		c.sigma(fn, args)
	}
}

// inCIDR checks the second argument of in_cidr: a list of CIDRs or
// addresses, or a CIDR or an address, which it parses.
func (c *callChecker) inCIDR(arg ast.Node) {
	s, ok := stringLit(arg)
	if !ok {
		return
	}
	if _, isList := c.lists[s]; isList {
		if _, ok := c.cat.prefixes[s]; !ok {
			c.bad("in_cidr: list %q holds entries that are not CIDRs or IP addresses", s)
		}
	} else if pfx, err := parsePrefix(s); err != nil {
		c.bad("in_cidr: %q is neither a CIDR, an IP address nor a known list", s)
	} else {
		c.cat.prefixes[s] = []netip.Prefix{pfx}
	}
}

// knownList checks that a literal list name argument of fn names a list.
func (c *callChecker) knownList(fn string, n ast.Node) {
	if name, ok := stringLit(n); ok {
		if _, ok := c.lists[name]; !ok {
			c.bad("%s: unknown list %q", fn, name)
		}
	}
}

// timeZone checks the time zone argument of fn, which must be a literal,
// and loads it.
func (c *callChecker) timeZone(fn string, n ast.Node) {
	name, ok := stringLit(n)
	if !ok {
		c.bad("%s: the time zone must be a string literal", fn)
		return
	}
	if _, ok := c.cat.locations[name]; ok {
		return
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" || name == "Local" {
		c.bad("%s: unknown time zone %q", fn, name)
		return
	}
	c.cat.locations[name] = loc
}

// hours checks the literal hours of hour_in.
func (c *callChecker) hours(args []ast.Node) {
	for _, a := range args {
		if h, ok := a.(*ast.IntegerNode); ok && (h.Value < 0 || h.Value > 24) {
			c.bad("hour_in: hour %d is not in 0..24", h.Value)
		}
	}
}

// weekdays checks the literal days of weekday_in.
func (c *callChecker) weekdays(args []ast.Node) {
	for _, a := range args {
		if d, ok := stringLit(a); ok {
			if _, ok := parseWeekday(d); !ok {
				c.bad("weekday_in: unknown day %q (mon..sun or monday..sunday)", d)
			}
		}
	}
}

// globPattern checks a literal pattern of glob.
func (c *callChecker) globPattern(arg ast.Node) {
	if pat, ok := stringLit(arg); ok {
		if _, err := path.Match(pat, ""); err != nil {
			c.bad("glob: bad pattern %q", pat)
		}
	}
}

// riskLevel checks a literal level of risk_at_least.
func (c *callChecker) riskLevel(arg ast.Node) {
	if l, ok := stringLit(arg); ok && riskRank(l) < 0 {
		c.bad("risk_at_least: unknown level %q (none, low, medium, high, critical)", l)
	}
}

// count checks the key and the window of count(), which must be
// literals, parses the window and records the call's key.
func (c *callChecker) count(n *ast.CallNode, keyArg, windowArg ast.Node) {
	k, ok1 := stringLit(keyArg)
	w, ok2 := stringLit(windowArg)
	if !ok1 || !ok2 || k == "" {
		c.bad("count: the key and the window must be string literals, e.g. count(\"mfa_fail\", \"10m\")")
		return
	}
	d, err := time.ParseDuration(w)
	if err != nil || d <= 0 {
		c.bad("count: window %q is not a positive duration", w)
		return
	}
	c.cat.windows[w] = d
	c.counts[n] = k
}

// ringSizes sets the ring size of each count() key to the largest any of
// its calls needs (defaultRingSize for a call not compared with an
// integer), within 1..maxRingSize.
func (c *callChecker) ringSizes() {
	for call, k := range c.counts {
		size, ok := c.sizes[call]
		if !ok {
			size = defaultRingSize
		}
		size = max(1, min(size, maxRingSize))
		c.cat.ringSize[k] = max(c.cat.ringSize[k], size)
	}
}
