package rules

import (
	"errors"
	"fmt"
	"net/netip"
	"path"
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

	"github.com/tripline-dev/tripline/internal/event"
)

// Severity levels of a rule.
const (
	SeverityInfo     = "info"
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

// Modes of a rule. An enforce rule's decisions are acted on; an approve
// rule's decisions are acted on once a person approves them; a shadow
// rule's decisions are only logged and counted.
const (
	ModeEnforce = "enforce"
	ModeApprove = "approve"
	ModeShadow  = "shadow"
)

// DefaultApprovalTimeout is how long an approve rule's pending action waits
// for an answer when the rule sets no approval_timeout: then it is denied.
const DefaultApprovalTimeout = 30 * time.Minute

// Actions a rule can decide.
const (
	ActionSuspend    = "suspend"
	ActionReactivate = "reactivate"
	ActionNone       = "none"
)

var (
	severities = []string{SeverityInfo, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}
	modes      = []string{ModeEnforce, ModeApprove, ModeShadow}
	actions    = []string{ActionSuspend, ActionReactivate, ActionNone}
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
			s.rules = append(s.rules, r)
		}
	}
	s.pool.New = func() any { return newEvaluator(cat) }
	return s
}

func compileRule(p *problems, spec *ruleSpec, lists map[string]listSpec, cat *catalog) *rule {
	n := len(p.list)
	id, file := spec.id, spec.file
	line := func(key string) int {
		if l, ok := spec.lines[key]; ok {
			return l
		}
		return spec.line
	}
	switch {
	case id == "":
		p.add(file, spec.line, "", "id is required")
	case !snakeCase.MatchString(id):
		p.add(file, line("id"), id, "id %q is not snake_case (lower-case letters, digits and single underscores)", id)
	}
	checkEnum := func(key, val string, allowed []string, required bool, def string) string {
		if val == "" {
			if required {
				p.add(file, line(key), id, "%s is required (one of %s)", key, strings.Join(allowed, ", "))
			}
			return def
		}
		for _, a := range allowed {
			if val == a {
				return val
			}
		}
		p.add(file, line(key), id, "%s: %q is not one of %s", key, val, strings.Join(allowed, ", "))
		return def
	}
	r := &rule{info: RuleInfo{
		ID: id, Description: spec.desc, File: file, Line: line("id"),
		Severity: checkEnum("severity", spec.severity, severities, true, ""),
		Mode:     checkEnum("mode", spec.mode, modes, false, ModeShadow),
		Action:   checkEnum("action", spec.action, actions, true, ""),
		Enabled:  spec.enabled, Tags: spec.tags, Tests: len(spec.tests),
	}}
	if spec.cooldown != "" {
		d, err := time.ParseDuration(spec.cooldown)
		if err != nil || d < 0 {
			p.add(file, line("cooldown"), id, "cooldown: %q is not a non-negative duration (e.g. 30m, 1h)", spec.cooldown)
		}
		r.info.Cooldown = d
	}
	if spec.hasGrace {
		d, err := time.ParseDuration(spec.grace)
		if err != nil || d < 0 {
			p.add(file, line("grace"), id, "grace: %q is not a non-negative duration (e.g. 24h)", spec.grace)
		}
		r.info.Grace = d
	}
	if spec.approvalTimeout != "" {
		d, err := time.ParseDuration(spec.approvalTimeout)
		if err != nil || d < time.Minute || d > 7*24*time.Hour {
			p.add(file, line("approval_timeout"), id, "approval_timeout: %q is not a duration between 1m and 168h (e.g. 30m)", spec.approvalTimeout)
		}
		if r.info.Mode != ModeApprove {
			p.add(file, line("approval_timeout"), id, "approval_timeout is only for mode: approve")
		}
		r.info.ApprovalTimeout = d
	} else if r.info.Mode == ModeApprove {
		r.info.ApprovalTimeout = DefaultApprovalTimeout
	}
	if spec.hasLimit {
		l, err := parseLimit(spec.maxActs)
		if err != nil {
			p.add(file, line("max_actions"), id, "max_actions: %q is not COUNT/WINDOW with a count of at least 1 and a positive duration (e.g. 10/1h: at most 10 actions in any hour)", spec.maxActs)
		}
		r.info.MaxActions = l
	}
	if strings.TrimSpace(spec.when) == "" {
		p.add(file, line("when"), id, "when is required")
	} else {
		prog, err := compileExpr(spec.when, func(n ast.Node) {
			checkCalls(p, file, line("when"), id, "when", n, lists, cat)
		}, expr.AsBool())
		if err != nil {
			p.add(file, line("when"), id, "when: %s", exprMessage(err))
		} else {
			r.when = prog
			cat.envFields |= readFields(prog.Node())
		}
	}
	if spec.hasUser {
		if strings.TrimSpace(spec.user) == "" {
			p.add(file, line("user"), id, "user: empty expression")
		} else {
			prog, err := compileExpr(spec.user, func(n ast.Node) {
				checkCalls(p, file, line("user"), id, "user", n, lists, cat)
			}, expr.AsKind(reflect.String))
			if err != nil {
				p.add(file, line("user"), id, "user: %s", exprMessage(err))
			} else {
				r.user = prog
				cat.envFields |= readFields(prog.Node())
				if s, ok := prog.Node().(*ast.StringNode); ok && s.Value == "" && r.info.Action != ActionNone {
					p.add(file, line("user"), id, "user: action %s needs a user, the expression is always empty", r.info.Action)
				}
			}
		}
	}
	reason := spec.reason
	if reason == "" {
		reason = "rule {{ .rule_id }} matched"
	}
	tmpl, err := template.New(id).Funcs(templateFuncs).Parse(reason)
	if err != nil {
		p.add(file, line("reason"), id, "reason: %v", err)
	} else {
		known := templateData(&event.Event{})
		for _, f := range templateFields(tmpl.Tree.Root) {
			if _, ok := known[f]; !ok {
				p.add(file, line("reason"), id, "reason: unknown field .%s", f)
			}
		}
		r.reason = newReason(tmpl)
	}
	for _, t := range spec.tests {
		if t.every != "" {
			if d, err := time.ParseDuration(t.every); err != nil || d < 0 {
				p.add(file, t.line, id, "test %q: every: %q is not a duration", t.name, t.every)
			}
		}
	}
	r.tests = spec.tests
	checkProof(p, r)
	if len(p.list) > n {
		return nil
	}
	return r
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

// checkCalls validates the literal arguments of helper-function calls (list
// names, CIDRs, time zones, windows, patterns) and records what evaluation
// needs prepared: parsed CIDRs, loaded time zones, parsed windows and the
// ring size of each count() key.
func checkCalls(p *problems, file string, line int, id, key string, root ast.Node, lists map[string]listSpec, cat *catalog) {
	bad := func(format string, args ...any) {
		p.add(file, line, id, key+": "+format, args...)
	}
	lit := func(n ast.Node) (string, bool) {
		s, ok := n.(*ast.StringNode)
		if !ok {
			return "", false
		}
		return s.Value, true
	}
	knownList := func(fn string, n ast.Node) {
		if name, ok := lit(n); ok {
			if _, ok := lists[name]; !ok {
				bad("%s: unknown list %q", fn, name)
			}
		}
	}
	tz := func(fn string, n ast.Node) {
		name, ok := lit(n)
		if !ok {
			bad("%s: the time zone must be a string literal", fn)
			return
		}
		if _, ok := cat.locations[name]; ok {
			return
		}
		loc, err := time.LoadLocation(name)
		if err != nil || name == "" || name == "Local" {
			bad("%s: unknown time zone %q", fn, name)
			return
		}
		cat.locations[name] = loc
	}
	counts := map[*ast.CallNode]string{}
	sizes := map[*ast.CallNode]int{}
	v := visitor(func(node *ast.Node) {
		switch n := (*node).(type) {
		case *ast.BinaryNode:
			call, num := n.Left, n.Right
			if _, ok := call.(*ast.CallNode); !ok {
				call, num = n.Right, n.Left
			}
			c, ok := call.(*ast.CallNode)
			if !ok {
				return
			}
			in, ok := num.(*ast.IntegerNode)
			if !ok {
				return
			}
			size := in.Value + 1
			if n.Operator == ">=" && c == n.Left || n.Operator == "<=" && c == n.Right {
				size = in.Value
			}
			sizes[c] = size
		case *ast.CallNode:
			ident, ok := n.Callee.(*ast.IdentifierNode)
			if !ok {
				return
			}
			args := n.Arguments
			switch ident.Value {
			case "in_cidr":
				if len(args) == 2 {
					if s, ok := lit(args[1]); ok {
						if _, isList := lists[s]; isList {
							if _, ok := cat.prefixes[s]; !ok {
								bad("in_cidr: list %q holds entries that are not CIDRs or IP addresses", s)
							}
						} else if pfx, err := parsePrefix(s); err != nil {
							bad("in_cidr: %q is neither a CIDR, an IP address nor a known list", s)
						} else {
							cat.prefixes[s] = []netip.Prefix{pfx}
						}
					}
				}
			case "country_in", "in_list":
				if len(args) == 2 {
					knownList(ident.Value, args[1])
				}
			case "list":
				if len(args) == 1 {
					knownList(ident.Value, args[0])
				}
			case "local_hour":
				if len(args) == 1 {
					tz(ident.Value, args[0])
				}
			case "hour_in":
				if len(args) == 3 {
					tz(ident.Value, args[0])
					for _, a := range args[1:] {
						if h, ok := a.(*ast.IntegerNode); ok && (h.Value < 0 || h.Value > 24) {
							bad("hour_in: hour %d is not in 0..24", h.Value)
						}
					}
				}
			case "weekday_in":
				if len(args) >= 1 {
					tz(ident.Value, args[0])
					for _, a := range args[1:] {
						if d, ok := lit(a); ok {
							if _, ok := parseWeekday(d); !ok {
								bad("weekday_in: unknown day %q (mon..sun or monday..sunday)", d)
							}
						}
					}
				}
			case "glob":
				if len(args) == 2 {
					if pat, ok := lit(args[0]); ok {
						if _, err := path.Match(pat, ""); err != nil {
							bad("glob: bad pattern %q", pat)
						}
					}
				}
			case "risk_at_least":
				if len(args) == 1 {
					if l, ok := lit(args[0]); ok && riskRank(l) < 0 {
						bad("risk_at_least: unknown level %q (none, low, medium, high, critical)", l)
					}
				}
			case "count":
				if len(args) != 2 {
					return
				}
				k, ok1 := lit(args[0])
				w, ok2 := lit(args[1])
				if !ok1 || !ok2 || k == "" {
					bad("count: the key and the window must be string literals, e.g. count(\"mfa_fail\", \"10m\")")
					return
				}
				d, err := time.ParseDuration(w)
				if err != nil || d <= 0 {
					bad("count: window %q is not a positive duration", w)
					return
				}
				cat.windows[w] = d
				counts[n] = k
			}
		}
	})
	ast.Walk(&root, v)
	for call, k := range counts {
		size, ok := sizes[call]
		if !ok {
			size = defaultRingSize
		}
		size = max(1, min(size, maxRingSize))
		cat.ringSize[k] = max(cat.ringSize[k], size)
	}
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
	if r.info.Action == ActionReactivate {
		verb = "reactivates"
	}
	p.add(r.info.File, r.info.Line, r.info.ID, "an enforce rule that %s needs at least one inline test that matches and one that does not (has %d matching, %d not matching)", verb, matching, other)
}
