package rules

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/vm"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// Severity levels of a rule.
const (
	SeverityInfo     = "info"
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

// A rule's mode and action are the decision service's words
// (remediate.Mode, remediate.Action): an enforce rule's decisions are acted
// on; an approve rule's once a person approves them; a shadow rule's are
// only logged and counted. Action none only records.
var (
	severities = []string{SeverityInfo, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}
	modes      = []string{string(remediate.ModeEnforce), string(remediate.ModeApprove), string(remediate.ModeShadow)}
	actions    = []string{string(remediate.ActionSuspend), string(remediate.ActionReactivate), string(remediate.ActionNone)}
)

// rule is one compiled rule.
type rule struct {
	info   RuleInfo
	when   *vm.Program
	user   *vm.Program // nil: default identity
	reason *reason
	tests  []testSpec
}

// newCatalog prepares the named lists: lower-cased member sets for
// in_list/country_in and parsed prefixes for the lists that hold only CIDRs or
// addresses (usable with in_cidr).
func newCatalog(lists map[string]listSpec, st *State) *catalog {
	cat := &catalog{
		lists:     map[string][]string{},
		listSets:  map[string]map[string]struct{}{},
		prefixes:  map[string][]netip.Prefix{},
		locations: map[string]*time.Location{},
		windows:   map[string]time.Duration{},
		ringSize:  map[string]int{},
		state:     st,
	}
	for name, l := range lists {
		cat.lists[name] = l.items
		set := make(map[string]struct{}, len(l.items))
		for _, it := range l.items {
			set[strings.ToLower(it)] = struct{}{}
		}
		cat.listSets[name] = set
		var ps []netip.Prefix
		for _, it := range l.items {
			pfx, err := parsePrefix(it)
			if err != nil {
				ps = nil
				break
			}
			ps = append(ps, pfx)
		}
		if ps != nil {
			cat.prefixes[name] = ps
		}
	}
	return cat
}

// exprOptions are the compile options shared by `when` and `user`: the
// environment (data entries and most helper functions) and the helpers
// registered as expr functions.
func exprOptions() []expr.Option {
	opts := []expr.Option{expr.Env(envTypes()), expr.DisableBuiltin("count")}
	for _, h := range callHelpers {
		opts = append(opts, expr.Function(h.name, h.function(), h.types...))
	}
	return opts
}

// compileExpr compiles a `when` or `user` expression as expr.Compile does,
// with two steps between optimizing and generating code: check validates
// the helper calls of the optimized tree, then bindCalls passes the binding
// to the callHelpers.
func compileExpr(src string, check func(ast.Node), opts ...expr.Option) (*vm.Program, error) {
	config := conf.CreateNew()
	for _, op := range append(exprOptions(), opts...) {
		op(config)
	}
	for name := range config.Disabled {
		delete(config.Builtins, name)
	}
	config.Check()
	tree, err := checker.ParseCheck(src, config)
	if err != nil {
		return nil, err
	}
	if config.Optimize {
		if err := optimizer.Optimize(&tree.Node, config); err != nil {
			var fe *file.Error
			if errors.As(err, &fe) {
				return nil, fe.Bind(tree.Source)
			}
			return nil, err
		}
	}
	check(tree.Node)
	bindCalls(&tree.Node)
	return compiler.Compile(tree, config)
}

// bindingType is the type of the hidden first argument of callHelpers.
var bindingType = reflect.TypeFor[*binding]()

// bindCalls rewrites every call of a callHelper, f(args), into
// f($binding, args), where $binding loads the evaluation's binding from the
// environment. It runs after type checking, which checks the arguments rule
// authors wrote against the signatures they know; the callee's type gains
// the hidden parameter so that code generation sees a consistent call.
func bindCalls(root *ast.Node) {
	ast.Walk(root, visitor(func(node *ast.Node) {
		call, ok := (*node).(*ast.CallNode)
		if !ok {
			return
		}
		ident, ok := call.Callee.(*ast.IdentifierNode)
		if !ok || !isCallHelper(ident.Value) {
			return
		}
		t := ident.Type()
		in := []reflect.Type{bindingType}
		for i := range t.NumIn() {
			in = append(in, t.In(i))
		}
		out := make([]reflect.Type, t.NumOut())
		for i := range out {
			out[i] = t.Out(i)
		}
		ident.SetType(reflect.FuncOf(in, out, t.IsVariadic()))
		arg := &ast.IdentifierNode{Value: bindingName}
		arg.SetType(bindingType)
		arg.SetLocation(call.Location())
		call.Arguments = append([]ast.Node{arg}, call.Arguments...)
	}))
}

func compileSet(p *problems, specs []*ruleSpec, lists map[string]listSpec, cat *catalog) *Set {
	s := &Set{cat: cat}
	seen := map[string]*ruleSpec{}
	for _, spec := range specs {
		if spec.id != "" {
			if prev, ok := seen[spec.id]; ok {
				p.add(spec.file, spec.lines["id"], spec.id, "duplicate rule id (first defined at %s:%d)", prev.file, prev.lines["id"])
			} else {
				seen[spec.id] = spec
			}
		}
		if r := compileRule(p, spec, lists, cat); r != nil {
			r.info.Sources = whenSources(r.when.Node())
			s.rules = append(s.rules, r)
		}
	}
	s.index = newSourceIndex(s.rules, cat)
	s.pool.New = func() any { return newEvaluator(cat) }
	return s
}

// templateFuncs are the functions reason templates can call.
var templateFuncs = template.FuncMap{
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"join":  strings.Join,
}

// templateFields returns the first identifier of every field reference
// (.user_email, .raw.x) in a template tree.
func templateFields(n parse.Node) []string {
	var out []string
	var walk func(parse.Node)
	pipe := func(p *parse.PipeNode) {
		if p == nil {
			return
		}
		for _, c := range p.Cmds {
			for _, a := range c.Args {
				walk(a)
			}
		}
	}
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			pipe(n.Pipe)
		case *parse.PipeNode:
			pipe(n)
		case *parse.FieldNode:
			out = append(out, n.Ident[0])
		case *parse.ChainNode:
			walk(n.Node)
		case *parse.IfNode:
			pipe(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode: // dot changes inside the body
			pipe(n.Pipe)
			walk(n.ElseList)
		case *parse.WithNode:
			pipe(n.Pipe)
			walk(n.ElseList)
		case *parse.TemplateNode:
			pipe(n.Pipe)
		}
	}
	walk(n)
	return out
}

// exprMessage renders an expr compile error on one line, with the position
// inside the expression.
func exprMessage(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) {
		return fmt.Sprintf("%s (expression line %d, column %d)", fe.Message, fe.Line, fe.Column+1)
	}
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// readFields returns the environment data entries an expression reads:
// the names it refers to, or all of them when it reads $env.
func readFields(root ast.Node) envFields {
	var used envFields
	ast.Walk(&root, visitor(func(node *ast.Node) {
		if id, ok := (*node).(*ast.IdentifierNode); ok {
			if id.Value == "$env" {
				used = allEnvFields
			}
			used |= envFieldOf(id.Value)
		}
	}))
	return used
}

// visitor adapts a function to ast.Visitor.
type visitor func(node *ast.Node)

// Visit calls v.
func (v visitor) Visit(node *ast.Node) { v(node) }

// checkProof refuses a rule that acts (see RuleInfo.Acts) without at least
// one inline test expecting a match and one expecting none: a rule whose
// `when` is always true must not reach production untested. Whether the
// tests pass is checked when they run (Set.Test, LoadChecked).
func checkProof(p *problems, r *rule) {
	if !r.info.Acts() {
		return
	}
	matching, other := 0, 0
	for _, t := range r.tests {
		if t.expect.Match {
			matching++
		} else {
			other++
		}
	}
	if matching > 0 && other > 0 {
		return
	}
	verb := "suspends"
	if r.info.Action == remediate.ActionReactivate {
		verb = "reactivates"
	}
	p.add(r.info.File, r.info.Line, r.info.ID, "an enforce rule that %s needs at least one inline test that matches and one that does not (has %d matching, %d not matching)", verb, matching, other)
}
