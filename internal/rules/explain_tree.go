package rules

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/parser/utils"
	"github.com/expr-lang/expr/vm"
)

// An explanation tree is built from a rule's `when` the way compileExpr
// builds the program evaluation runs: the same options, type check,
// optimizer and hidden binding argument (bindCalls). Each clause of that
// tree is compiled alone, so that explaining a clause runs the very code
// the rule's program runs for it. What the tree shows of a clause is its
// text before the optimizer rewrote it (`outcome in ["failure", "blocked"]`
// rather than the set the optimizer makes of the list).

// explainKind says how an explained clause evaluates its children.
type explainKind int

const (
	// kindOther evaluates every child, in order, until one fails.
	kindOther explainKind = iota
	// kindAnd and kindOr are a chain of && or ||, flattened: each child
	// is evaluated only while the chain is undecided.
	kindAnd
	kindOr
	// kindNot is ! or not.
	kindNot
	// kindCond is cond ? a : b (or if/else): a or b by cond.
	kindCond
	// kindCoalesce is a ?? b: b only when a is nil.
	kindCoalesce
)

// xnode is one clause of an explanation tree, built once per rule.
type xnode struct {
	kind      explainKind
	op        string // the logical operator as written: &&, and, ||, or, !, not, ?:, ??
	expr      string
	selection string // the Sigma selection this clause was compiled from
	// prog evaluates the clause alone; nil when it could not be compiled
	// (progErr). The root's value is the rule's own program's: prog only
	// checks, in tests, that the tree is that program.
	prog    *vm.Program
	progErr error
	// left evaluates the left operand of ?? alone, to know whether its
	// right operand runs.
	left     *vm.Program
	children []*xnode
	// childSlots gives, for each child, the operand of a ?? it belongs
	// to (0 left, 1 right; fields have theirs); 0 elsewhere.
	childSlots []int
	fields     []fieldRef
	count      *countRef
}

// fieldRef is a value of the environment a clause reads: a data entry, or
// a path below one (raw.securityContext.isProxy), or, for a sigma_* helper,
// a path inside raw read with RawValues.
type fieldRef struct {
	path  string
	root  string
	steps []any // string keys and int indexes below root
	slot  int   // the operand of a ?? it is read in (see xnode.childSlots)
	// rawPath is the path a sigma_* helper reads in raw (with
	// RawValues), "" for other fields.
	rawPath string
}

// countRef is the key and window of a count() call.
type countRef struct{ key, window string }

// explainConfig returns the expr configuration compileExpr uses for a
// `when` (TestExplainTreeIsTheRuleProgram fails if they drift apart).
func explainConfig() *conf.Config {
	config := conf.CreateNew()
	for _, op := range append(exprOptions(), expr.AsBool()) {
		op(config)
	}
	for name := range config.Disabled {
		delete(config.Builtins, name)
	}
	config.Check()
	return config
}

// textKey finds the text of a node the optimizer replaced: the node it
// put in its place has the same location, and for the in-list rewrite the
// same type and operator.
type textKey struct {
	t   reflect.Type
	op  string
	loc file.Location
}

func keyOf(n ast.Node) textKey {
	k := textKey{t: reflect.TypeOf(n), loc: n.Location()}
	if b, ok := n.(*ast.BinaryNode); ok {
		k.op = b.Operator
	}
	return k
}

// treeBuilder builds the explanation tree of one expression.
type treeBuilder struct {
	source     file.Source
	config     *conf.Config
	texts      map[ast.Node]string
	textsAt    map[textKey]string
	selections map[string]string // by printed expression
}

// buildExplainTree builds the explanation tree of src, a `when`
// expression that compiled at load; sigma names the Sigma selections it
// holds, if any.
func buildExplainTree(src string, sigma *SigmaOrigin) (*xnode, error) {
	config := explainConfig()
	tree, err := checker.ParseCheck(src, config)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	b := &treeBuilder{source: tree.Source, config: config, texts: map[ast.Node]string{}, textsAt: map[textKey]string{}}
	ast.Walk(&tree.Node, visitor(func(node *ast.Node) {
		s := (*node).String()
		b.texts[*node] = s
		b.textsAt[keyOf(*node)] = s
	}))
	if config.Optimize {
		if err := optimizer.Optimize(&tree.Node, config); err != nil {
			return nil, fmt.Errorf("explain: %w", err)
		}
	}
	bindCalls(&tree.Node)
	// Clauses are compiled alone and are not all booleans.
	config.Expect, config.ExpectAny = reflect.Invalid, false
	b.selections = selectionTexts(sigma)
	root := b.build(tree.Node)
	// The root compiled as the rule's program is, cast to a bool.
	config.Expect = reflect.Bool
	root.prog, root.progErr = b.program(tree.Node)
	return root, nil
}

// selectionTexts maps the printed form of each Sigma selection's expr to
// its name. A selection is named beside the clause that prints the same
// (see the rule author's guide).
func selectionTexts(sigma *SigmaOrigin) map[string]string {
	if sigma == nil || len(sigma.Selections) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, sel := range sigma.Selections {
		var node ast.Node
		if tree, err := checker.ParseCheck(sel.When, explainConfig()); err == nil {
			node = tree.Node
		} else if tree, err := parser.Parse(sel.When); err == nil {
			node = tree.Node
		} else {
			continue
		}
		if _, dup := out[node.String()]; !dup {
			out[node.String()] = sel.Name
		}
	}
	return out
}

// text returns the printed form of n as written (before the optimizer).
func (b *treeBuilder) text(n ast.Node) string {
	if s, ok := b.texts[n]; ok {
		return s
	}
	if s, ok := b.textsAt[keyOf(n)]; ok && n.Location() != (file.Location{}) {
		return s
	}
	// A node the optimizer made: print it without the hidden binding.
	s := n.String()
	s = strings.ReplaceAll(s, bindingName+", ", "")
	return strings.ReplaceAll(s, "("+bindingName+")", "()")
}

// build returns the explanation node of n and, recursively, of its
// clauses.
func (b *treeBuilder) build(n ast.Node) *xnode {
	x := &xnode{expr: b.text(n)}
	x.selection = b.selections[x.expr]
	switch n := n.(type) {
	case *ast.BinaryNode:
		switch n.Operator {
		case "&&", "and", "||", "or":
			x.kind, x.op = kindAnd, n.Operator
			if isOr(n.Operator) {
				x.kind = kindOr
			}
			for _, c := range b.chain(n, x.kind) {
				b.addChild(x, b.build(c), 0)
			}
		case "??":
			x.kind, x.op = kindCoalesce, n.Operator
			b.visit(x, n.Left, 0, false)
			b.visit(x, n.Right, 1, false)
			x.left, _ = b.program(n.Left)
		default:
			b.collect(x, n, 0)
		}
	case *ast.UnaryNode:
		if n.Operator == "!" || n.Operator == "not" {
			x.kind, x.op = kindNot, n.Operator
			b.addChild(x, b.build(n.Node), 0)
		} else {
			b.collect(x, n, 0)
		}
	case *ast.ConditionalNode:
		x.kind, x.op = kindCond, "?:"
		for _, c := range []ast.Node{n.Cond, n.Exp1, n.Exp2} {
			b.addChild(x, b.build(c), 0)
		}
	case *ast.CallNode:
		b.call(x, n)
	default:
		if f, ok := fieldOf(n); ok {
			// A clause that is a field (a && operand) shows it,
			// unless its value is the field's.
			if f.path != x.expr {
				x.fields = append(x.fields, f)
			}
			break
		}
		b.collect(x, n, 0)
	}
	x.prog, x.progErr = b.program(n)
	return x
}

// isOr reports whether op is a disjunction.
func isOr(op string) bool { return op == "||" || op == "or" }

// chain returns the operands of a chain of && (kindAnd) or || (kindOr),
// flattened in evaluation order. A nested chain named by a Sigma
// selection stays one operand, so that the selection has its own node.
func (b *treeBuilder) chain(n *ast.BinaryNode, kind explainKind) []ast.Node {
	var out []ast.Node
	for _, c := range []ast.Node{n.Left, n.Right} {
		if cb, ok := c.(*ast.BinaryNode); ok && isLogical(cb.Operator, kind) && b.selections[b.text(cb)] == "" {
			out = append(out, b.chain(cb, kind)...)
			continue
		}
		out = append(out, c)
	}
	return out
}

// isLogical reports whether op is the operator of a kindAnd or kindOr chain.
func isLogical(op string, kind explainKind) bool {
	if kind == kindOr {
		return isOr(op)
	}
	return op == "&&" || op == "and"
}

// program compiles n alone.
func (b *treeBuilder) program(n ast.Node) (*vm.Program, error) {
	prog, err := compiler.Compile(&parser.Tree{Node: n, Source: b.source}, b.config)
	if err != nil {
		return nil, fmt.Errorf("explain: compile %s: %w", b.text(n), err)
	}
	return prog, nil
}

func (b *treeBuilder) addChild(x, c *xnode, slot int) {
	x.children = append(x.children, c)
	x.childSlots = append(x.childSlots, slot)
}

// call builds the node of a helper call: its implicit reads (the event's
// risk, its time), count()'s key and window, and the raw paths a sigma_*
// helper reads.
func (b *treeBuilder) call(x *xnode, n *ast.CallNode) {
	name := ""
	if id, ok := n.Callee.(*ast.IdentifierNode); ok {
		name = id.Value
	}
	args := userArgs(n)
	switch {
	case name == "count" && len(args) == 2:
		k, _ := stringLit(args[0])
		w, _ := stringLit(args[1])
		x.count = &countRef{key: k, window: w}
		return
	case strings.HasPrefix(name, "sigma_keyword"):
		// A keyword search reads every string of raw: its node's value
		// says it all.
		return
	case strings.HasPrefix(name, "sigma_") && len(args) >= 2 && isRaw(args[0]):
		if paths, ok := literalPaths(args[1]); ok {
			b.rawFields(x, paths)
			rest := args[2:]
			if refs, ok := literalPaths(argAt(args, 2)); ok && name == "sigma_fieldref" {
				b.rawFields(x, refs)
				rest = nil
			}
			for _, a := range rest {
				b.visit(x, a, 0, false)
			}
			return
		}
	}
	b.collect(x, n, 0)
	switch name {
	case "risk_at_least":
		x.fields = append(x.fields, fieldRef{path: "risk", root: "risk"})
	case "local_hour", "hour_in", "weekday_in":
		x.fields = append(x.fields, fieldRef{path: "time", root: "time"})
	}
}

// userArgs returns the arguments of a call as written, without the
// hidden binding of callHelpers.
func userArgs(n *ast.CallNode) []ast.Node {
	args := n.Arguments
	if len(args) > 0 {
		if id, ok := args[0].(*ast.IdentifierNode); ok && id.Value == bindingName {
			return args[1:]
		}
	}
	return args
}

// isRaw reports whether n is the data entry raw.
func isRaw(n ast.Node) bool {
	id, ok := n.(*ast.IdentifierNode)
	return ok && id.Value == "raw"
}

// literalPaths returns the field paths a sigma_* helper is given: a
// string literal, or a list of them (folded into a constant by the
// optimizer).
func literalPaths(n ast.Node) ([]string, bool) {
	switch n := n.(type) {
	case *ast.StringNode:
		return []string{n.Value}, true
	case *ast.ArrayNode:
		var out []string
		for _, el := range n.Nodes {
			s, ok := stringLit(el)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, len(out) > 0
	case *ast.ConstantNode:
		list, ok := n.Value.([]any)
		if !ok {
			return nil, false
		}
		var out []string
		for _, el := range list {
			s, ok := el.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, len(out) > 0
	}
	return nil, false
}

// rawFields adds to x a field per path a sigma_* helper reads in raw.
func (b *treeBuilder) rawFields(x *xnode, paths []string) {
	for _, p := range paths {
		x.fields = append(x.fields, fieldRef{path: "raw." + p, root: "raw", rawPath: p})
	}
}

// argAt returns args[i], nil when there is none.
func argAt(args []ast.Node, i int) ast.Node {
	if i < len(args) {
		return args[i]
	}
	return nil
}

// collect adds to x the clauses (children) and the fields read by the
// operands of n, in evaluation order.
func (b *treeBuilder) collect(x *xnode, n ast.Node, slot int) {
	for _, c := range operands(n) {
		b.visit(x, c, slot, false)
	}
}

// visit adds c to x: as a field when it reads one, as a child when it is a
// clause of its own, else through its operands. Inside a predicate
// (any(reasons, # == "x")), which only runs inside its builtin, nothing
// is a clause of its own; the fields read there are x's.
func (b *treeBuilder) visit(x *xnode, c ast.Node, slot int, inPredicate bool) {
	if id, ok := c.(*ast.IdentifierNode); ok && id.Value == bindingName {
		return
	}
	if f, ok := fieldOf(c); ok {
		f.slot = slot
		x.fields = append(x.fields, f)
		return
	}
	if !inPredicate && isClause(c) {
		b.addChild(x, b.build(c), slot)
		return
	}
	_, isPredicate := c.(*ast.PredicateNode)
	for _, o := range operands(c) {
		b.visit(x, o, slot, inPredicate || isPredicate)
	}
}

// isClause reports whether n gets a node of its own in the tree:
// operators, calls, conditionals and let/sequence expressions. Literals,
// lists, field reads and member accesses are shown in their clause.
func isClause(n ast.Node) bool {
	switch n.(type) {
	case *ast.UnaryNode, *ast.BinaryNode, *ast.ConditionalNode, *ast.CallNode, *ast.BuiltinNode:
		return true
	}
	return false
}

// operands returns the operands of n in evaluation order. A let or a
// sequence is one clause: its parts run in their own scope.
func operands(n ast.Node) []ast.Node {
	var out []ast.Node
	add := func(ns ...ast.Node) {
		for _, c := range ns {
			if c != nil {
				out = append(out, c)
			}
		}
	}
	switch n := n.(type) {
	case *ast.UnaryNode:
		add(n.Node)
	case *ast.BinaryNode:
		add(n.Left, n.Right)
	case *ast.ChainNode:
		add(n.Node)
	case *ast.MemberNode:
		add(n.Node, n.Property)
	case *ast.SliceNode:
		add(n.Node, n.To, n.From)
	case *ast.CallNode:
		if _, ok := n.Callee.(*ast.IdentifierNode); !ok {
			add(n.Callee)
		}
		add(n.Arguments...)
	case *ast.BuiltinNode:
		add(n.Arguments...)
	case *ast.PredicateNode:
		add(n.Node)
	case *ast.ConditionalNode:
		add(n.Cond, n.Exp1, n.Exp2)
	case *ast.ArrayNode:
		add(n.Nodes...)
	case *ast.MapNode:
		add(n.Pairs...)
	case *ast.PairNode:
		add(n.Key, n.Value)
	}
	return out
}

// fieldOf returns the field n reads when it is a data entry
// (user_email) or a path of constant keys below one (raw.a.b,
// raw?.["x.y"], raw.list[0]).
func fieldOf(n ast.Node) (fieldRef, bool) {
	var steps []any
	for {
		switch m := n.(type) {
		case *ast.ChainNode:
			n = m.Node
		case *ast.MemberNode:
			if m.Method {
				return fieldRef{}, false
			}
			switch p := m.Property.(type) {
			case *ast.StringNode:
				steps = append(steps, p.Value)
			case *ast.IntegerNode:
				steps = append(steps, p.Value)
			default:
				return fieldRef{}, false
			}
			n = m.Node
		case *ast.IdentifierNode:
			if envFieldOf(m.Value) == 0 {
				return fieldRef{}, false
			}
			for i, j := 0, len(steps)-1; i < j; i, j = i+1, j-1 {
				steps[i], steps[j] = steps[j], steps[i]
			}
			return fieldRef{path: fieldPath(m.Value, steps), root: m.Value, steps: steps}, true
		default:
			return fieldRef{}, false
		}
	}
}

// fieldPath prints a field: raw.a.b, raw["kibana.alert.status"], raw.l[0].
func fieldPath(root string, steps []any) string {
	var sb strings.Builder
	sb.WriteString(root)
	for _, s := range steps {
		switch s := s.(type) {
		case string:
			if utils.IsValidIdentifier(s) {
				sb.WriteString("." + s)
			} else {
				sb.WriteString("[" + strconv.Quote(s) + "]")
			}
		case int:
			sb.WriteString("[" + strconv.Itoa(s) + "]")
		}
	}
	return sb.String()
}
