package rules

import (
	"reflect"
	"strings"
	"text/template"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// compileRule checks and compiles one rule spec. It reports every problem
// it finds to p and returns nil when there was any.
func compileRule(p *problems, spec *ruleSpec, lists map[string]listSpec, cat *catalog) *rule {
	n := len(p.list)
	c := &ruleCompiler{p: p, spec: spec, lists: lists, cat: cat}
	c.checkID()
	r := &rule{info: RuleInfo{
		ID: spec.id, Description: spec.desc, File: spec.file, Line: c.line("id"),
		Severity: c.enum("severity", spec.severity, severities, true, ""),
		Mode:     remediate.Mode(c.enum("mode", spec.mode, modes, false, string(remediate.ModeShadow))),
		Action:   remediate.Action(c.enum("action", spec.action, actions, true, "")),
		Enabled:  spec.enabled, Tags: spec.tags, Tests: len(spec.tests), Sigma: spec.sigma,
	}}
	c.durations(&r.info)
	c.compileWhen(r)
	c.compileUser(r)
	c.compileReason(r)
	c.checkTestEvery()
	r.tests = spec.tests
	checkProof(p, r)
	if len(p.list) > n {
		return nil
	}
	return r
}

// ruleCompiler compiles one rule spec (see compileRule): each problem is
// reported with the rule's file, the line of the key at fault and the
// rule's id.
type ruleCompiler struct {
	p     *problems
	spec  *ruleSpec
	lists map[string]listSpec
	cat   *catalog
}

// line returns the line of key in the rule, or the line of the rule's
// first key when key is not written.
func (c *ruleCompiler) line(key string) int {
	if l, ok := c.spec.lines[key]; ok {
		return l
	}
	return c.spec.line
}

// add reports a problem at the line of key.
func (c *ruleCompiler) add(key, format string, args ...any) {
	c.p.add(c.spec.file, c.line(key), c.spec.id, format, args...)
}

// checkID reports a missing id or one that is not snake_case.
func (c *ruleCompiler) checkID() {
	switch id := c.spec.id; {
	case id == "":
		c.p.add(c.spec.file, c.spec.line, "", "id is required")
	case !snakeCase.MatchString(id):
		c.add("id", "id %q is not snake_case (lower-case letters, digits and single underscores)", id)
	}
}

// enum returns val when it is one of allowed, and def when it is empty or
// not allowed; an empty val is reported when required, one not allowed
// always.
func (c *ruleCompiler) enum(key, val string, allowed []string, required bool, def string) string {
	if val == "" {
		if required {
			c.add(key, "%s is required (one of %s)", key, strings.Join(allowed, ", "))
		}
		return def
	}
	for _, a := range allowed {
		if val == a {
			return val
		}
	}
	c.add(key, "%s: %q is not one of %s", key, val, strings.Join(allowed, ", "))
	return def
}

// durations parses cooldown, grace, approval_timeout (defaulted for an
// approve rule, refused for the other modes) and max_actions into info,
// whose Mode is already set.
func (c *ruleCompiler) durations(info *RuleInfo) {
	spec := c.spec
	if spec.cooldown != "" {
		d, err := time.ParseDuration(spec.cooldown)
		if err != nil || d < 0 {
			c.add("cooldown", "cooldown: %q is not a non-negative duration (e.g. 30m, 1h)", spec.cooldown)
		}
		info.Cooldown = d
	}
	if spec.hasGrace {
		d, err := time.ParseDuration(spec.grace)
		if err != nil || d < 0 {
			c.add("grace", "grace: %q is not a non-negative duration (e.g. 24h)", spec.grace)
		}
		info.Grace = d
	}
	if spec.approvalTimeout != "" {
		d, err := time.ParseDuration(spec.approvalTimeout)
		if err != nil || d < time.Minute || d > 7*24*time.Hour {
			c.add("approval_timeout", "approval_timeout: %q is not a duration between 1m and 168h (e.g. 30m)", spec.approvalTimeout)
		}
		if info.Mode != remediate.ModeApprove {
			c.add("approval_timeout", "approval_timeout is only for mode: approve")
		}
		info.ApprovalTimeout = d
	} else if info.Mode == remediate.ModeApprove {
		info.ApprovalTimeout = remediate.DefaultApprovalTimeout
	}
	if spec.hasSuspendFor {
		info.SuspendFor = c.suspendFor(info.Action)
	}
	if spec.hasLimit {
		l, err := parseLimit(spec.maxActs)
		if err != nil {
			c.add("max_actions", "max_actions: %q is not COUNT/WINDOW with a count of at least 1 and a positive duration (e.g. 10/1h: at most 10 actions in any hour)", spec.maxActs)
		}
		info.MaxActions = l
	}
}

// compileExpr compiles the expression src written under key, checking
// its helper calls (see checkCalls).
func (c *ruleCompiler) compileExpr(key, src string, opt expr.Option) (*vm.Program, error) {
	return compileExpr(src, func(n ast.Node) {
		checkCalls(c.p, c.spec.file, c.line(key), c.spec.id, key, n, c.lists, c.cat)
	}, opt)
}

// compileWhen compiles the required `when` expression, a boolean, into
// r.when and records the fields it reads.
func (c *ruleCompiler) compileWhen(r *rule) {
	if strings.TrimSpace(c.spec.when) == "" {
		c.add("when", "when is required")
		return
	}
	prog, err := c.compileExpr("when", c.spec.when, expr.AsBool())
	if err != nil {
		c.add("when", "when: %s", exprMessage(err))
		return
	}
	r.when = prog
	c.cat.envFields |= readFields(prog.Node())
}

// compileUser compiles the optional `user` expression, a string, into
// r.user and records the fields it reads. A rule that acts on a user must
// not have one that is always empty. r.info.Action is already set.
func (c *ruleCompiler) compileUser(r *rule) {
	if !c.spec.hasUser {
		return
	}
	if strings.TrimSpace(c.spec.user) == "" {
		c.add("user", "user: empty expression")
		return
	}
	prog, err := c.compileExpr("user", c.spec.user, expr.AsKind(reflect.String))
	if err != nil {
		c.add("user", "user: %s", exprMessage(err))
		return
	}
	r.user = prog
	c.cat.envFields |= readFields(prog.Node())
	if s, ok := prog.Node().(*ast.StringNode); ok && s.Value == "" && r.info.Action != remediate.ActionNone {
		c.add("user", "user: action %s needs a user, the expression is always empty", r.info.Action)
	}
}

// compileReason parses the reason template (a default one when the rule
// has none) into r.reason, refusing fields the template data lacks.
func (c *ruleCompiler) compileReason(r *rule) {
	reason := c.spec.reason
	if reason == "" {
		reason = "rule {{ .rule_id }} matched"
	}
	tmpl, err := template.New(c.spec.id).Funcs(templateFuncs).Parse(reason)
	if err != nil {
		c.add("reason", "reason: %v", err)
		return
	}
	known := templateData(&event.Event{})
	for _, f := range templateFields(tmpl.Tree.Root) {
		if _, ok := known[f]; !ok {
			c.add("reason", "reason: unknown field .%s", f)
		}
	}
	r.reason = newReason(tmpl)
}

// checkTestEvery reports each inline test whose `every` is not a duration.
func (c *ruleCompiler) checkTestEvery() {
	for _, t := range c.spec.tests {
		if t.every != "" {
			if d, err := time.ParseDuration(t.every); err != nil || d < 0 {
				c.p.add(c.spec.file, t.line, c.spec.id, "test %q: every: %q is not a duration", t.name, t.every)
			}
		}
	}
}

// suspendFor parses suspend_for: each entry a duration between
// remediate.MinContainment and remediate.MaxContainment, the last one
// possibly "permanent" (a 0 entry), on a rule whose action is suspend.
func (c *ruleCompiler) suspendFor(action remediate.Action) []time.Duration {
	if action != remediate.ActionSuspend {
		c.add("suspend_for", "suspend_for is only for action: suspend")
	}
	list := c.spec.suspendFor
	out := make([]time.Duration, 0, len(list))
	for i, v := range list {
		if v == "permanent" && i == len(list)-1 {
			out = append(out, 0)
			continue
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < remediate.MinContainment || d > remediate.MaxContainment {
			c.add("suspend_for", "suspend_for: %q is not a duration between 1m and 720h (30d)%s", v, permanentHint(i, len(list)))
			continue
		}
		out = append(out, d)
	}
	return out
}

// permanentHint says where "permanent" may stand, for the entry i of n.
func permanentHint(i, n int) string {
	if i < n-1 {
		return " (only the last entry may be permanent)"
	}
	return " or permanent"
}
