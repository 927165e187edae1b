package rules

import (
	"errors"
	"strings"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"github.com/expr-lang/expr/vm/runtime"

	"github.com/tripline-dev/tripline/internal/event"
)

// explainPass evaluates the rules on each event as Set.Evaluate does,
// with an evaluator of its own over a fresh State, and explains the rules
// asked about. The live pass runs the enabled rules, as the consumer does;
// the as-if pass runs every rule, disabled ones included.
type explainPass struct {
	set *Set
	e   *evaluator
	all bool
	// keys are every count() key of the Set: a binding that holds them
	// all as already recorded only reads counts (see readOnly).
	keys []string
}

func newExplainPass(s *Set, all bool) *explainPass {
	cat := *s.cat
	cat.state = NewState(0)
	p := &explainPass{set: s, e: newEvaluator(&cat).(*evaluator), all: all}
	for k := range cat.ringSize {
		p.keys = append(p.keys, k)
	}
	return p
}

// outcome is the value of an expression, or its runtime error.
type outcome struct {
	v   any
	err error
}

// run evaluates the rules on ev, as evaluate does, and adds to got the
// explanation of each rule want accepts.
//
// Each rule's `when` runs first with the evaluation's binding, recording
// count() as evaluation does; then its clauses run alone with a read-only
// copy of the binding (readOnly): they read the counts the rule's program
// recorded and record nothing, so explaining costs no extra count. A rule
// Set.Evaluate does not run on ev (its sources) runs, when asked about,
// with the read-only binding only; so does a rule the value index does
// not run on ev (see sourceIndex.valueSkip).
func (p *explainPass) run(x *Explainer, ev *event.Event, want func(*rule) bool, got map[*rule]*Explanation) {
	e := p.e
	e.identity = e.env.fill(ev, allEnvFields)
	e.b.reset(ev)
	e.dataSet = false
	ro := p.readOnly()
	env := map[string]any(e.env)
	for _, r := range p.set.rules {
		if !r.info.Enabled && !p.all {
			continue
		}
		wanted, runs := want(r), runsFor(r, ev.Source)
		skipped := ""
		if !runs {
			skipped = skipReason(r, ev.Source)
		} else if skipped = p.set.index.valueSkip(r, ev, e.b.paths); skipped != "" {
			runs = false
		}
		if !wanted && !runs {
			continue
		}
		var res outcome
		if runs {
			res.v, res.err = e.vm.Run(r.when, env)
		} else {
			p.with(ro, func() { res = p.eval(r.when, nil) })
		}
		matched, _ := res.v.(bool)
		exp := &Explanation{RuleID: r.info.ID, File: r.info.File, Line: r.info.Line, Enabled: r.info.Enabled, Match: res.err == nil && matched}
		if wanted {
			p.with(ro, func() { exp.Tree = p.explain(x.tree(r), res) })
			if res.err != nil {
				exp.Error = "when: " + errorLine(res.err)
			}
			got[r] = exp
		}
		if !runs {
			exp.Skipped = skipped
			continue
		}
		if !exp.Match {
			continue
		}
		d, err := decide(e, r, ev)
		if err != nil {
			exp.Error = errorLine(err)
			continue
		}
		exp.Decision = &d
	}
	e.env.clear()
	if e.dataSet {
		e.data["reasons"], e.data["raw"] = []string(nil), map[string]any(nil)
	}
	e.b.reset(nil)
}

// readOnly returns a copy of the pass's binding, bound to the same event,
// that holds every count() key as already recorded: count() then only
// reads the counts.
func (p *explainPass) readOnly() *binding {
	ro := *p.e.b
	ro.counted = p.keys
	return &ro
}

// with runs fn with the environment's binding set to b.
func (p *explainPass) with(b *binding, fn func()) {
	saved := p.e.env[bindingName]
	p.e.env[bindingName] = b
	defer func() { p.e.env[bindingName] = saved }()
	fn()
}

// eval runs prog, a clause compiled alone (see buildExplainTree).
func (p *explainPass) eval(prog *vm.Program, progErr error) outcome {
	if prog == nil {
		if progErr == nil {
			progErr = errors.New("explain: clause not compiled")
		}
		return outcome{err: progErr}
	}
	v, err := p.e.vm.Run(prog, map[string]any(p.e.env))
	return outcome{v, err}
}

// explain evaluates the tree t of a rule whose `when` gave root.
func (p *explainPass) explain(t *explainTree, root outcome) *ExplainNode {
	if t.err != nil {
		n := &ExplainNode{Expr: t.err.Error(), Evaluated: true}
		p.settle(n, root)
		return n
	}
	return p.node(t.root, true, &root)
}

// node explains n: when evaluated, its value (given, for the root) and
// its children, each marked evaluated or not as expr's evaluation order
// and short-circuits decide.
func (p *explainPass) node(n *xnode, evaluated bool, given *outcome) *ExplainNode {
	out := &ExplainNode{Expr: n.expr, Op: n.op, Selection: n.selection, Evaluated: evaluated}
	if !evaluated {
		for _, c := range n.children {
			out.Children = append(out.Children, p.node(c, false, nil))
		}
		return out
	}
	var res outcome
	if given != nil {
		res = *given
	} else {
		res = p.eval(n.prog, n.progErr)
	}
	rightRuns := true
	switch n.kind {
	case kindAnd, kindOr:
		going := true
		for _, c := range n.children {
			cn := p.node(c, going, nil)
			out.Children = append(out.Children, cn)
			if going {
				b, ok := cn.Value.(bool)
				going = !cn.Failed && ok && b == (n.kind == kindAnd)
			}
		}
	case kindNot:
		out.Children = append(out.Children, p.node(n.children[0], true, nil))
	case kindCond:
		cond := p.node(n.children[0], true, nil)
		b, ok := cond.Value.(bool)
		decided := !cond.Failed && ok
		out.Children = append(out.Children, cond, p.node(n.children[1], decided && b, nil), p.node(n.children[2], decided && !b, nil))
	default:
		if n.kind == kindCoalesce {
			left := p.eval(n.left, nil)
			rightRuns = left.err == nil && runtime.IsNil(left.v)
		}
		going := true
		for i, c := range n.children {
			cn := p.node(c, going && (n.childSlots[i] == 0 || rightRuns), nil)
			out.Children = append(out.Children, cn)
			going = going && !cn.Failed
		}
	}
	p.settle(out, res)
	for _, f := range n.fields {
		if f.slot == 0 || rightRuns {
			out.Fields = append(out.Fields, p.field(f))
		}
	}
	if n.count != nil && res.err == nil {
		c, _ := res.v.(int)
		out.Count = &ExplainCount{Key: n.count.key, Window: n.count.window, User: counterIdentity(p.e.b.ev), Count: c}
	}
	return out
}

// settle sets the value of an evaluated node, or its failure: the error
// is shown on the node that raised it, not on the nodes above.
func (p *explainPass) settle(out *ExplainNode, res outcome) {
	if res.err == nil {
		out.Value = res.v
		return
	}
	out.Failed = true
	for _, c := range out.Children {
		if c.Evaluated && c.Failed {
			return
		}
	}
	out.Error = errorMessage(res.err)
}

// field reads a field of the environment the node read.
func (p *explainPass) field(f fieldRef) ExplainField {
	out := ExplainField{Path: f.path}
	v, ok := p.e.env[f.root]
	if f.rawPath != "" {
		raw, _ := v.(map[string]any)
		switch vs := RawValues(raw, f.rawPath); len(vs) {
		case 0:
			out.Missing = true
		case 1:
			out.Value = vs[0]
		default:
			out.Value = vs
		}
		return out
	}
	for _, s := range f.steps {
		if v, ok = step(v, s); !ok {
			out.Missing = true
			return out
		}
	}
	out.Value = v
	return out
}

// step reads one key of a map or one index of a list (negative from the
// end, as expr does).
func step(v any, s any) (any, bool) {
	switch k := s.(type) {
	case string:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		v, ok = m[k]
		return v, ok
	case int:
		var list []any
		switch l := v.(type) {
		case []any:
			list = l
		case []string:
			if k < 0 {
				k += len(l)
			}
			if k < 0 || k >= len(l) {
				return nil, false
			}
			return l[k], true
		default:
			return nil, false
		}
		if k < 0 {
			k += len(list)
		}
		if k < 0 || k >= len(list) {
			return nil, false
		}
		return list[k], true
	}
	return nil, false
}

// errorMessage is the message of an expr runtime error, without the
// position and the snippet of the expression (the tree shows where).
func errorMessage(err error) string {
	var fe *file.Error
	if errors.As(err, &fe) {
		return fe.Message
	}
	return errorLine(err)
}

// errorLine is the first line of err's message.
func errorLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
