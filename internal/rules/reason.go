package rules

import (
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/tripline-dev/tripline/internal/event"
)

// reason renders a rule's reason template. Templates made only of text and
// plain field references ({{ .src_ip }}) to fields whose text form is known
// are rendered by concatenation (parts); any other template is executed by
// text/template against the template data. Both give the same text.
type reason struct {
	tmpl  *template.Template
	parts []reasonPart // nil: execute tmpl
}

// reasonPart is a literal text or, when field is set, the text of a field.
type reasonPart struct {
	text  string
	field reasonField
}

// reasonField returns the text form of one template field for a decision
// about an event, as text/template prints the field's template data value.
type reasonField func(ev *event.Event, d *Decision) string

// reasonFields are the template fields the concatenation path renders: the
// string, int and bool entries of the template data (see env.fill and
// decide), read from the event and the decision directly.
var reasonFields = map[string]reasonField{
	"user_email": func(ev *event.Event, _ *Decision) string { return ev.UserEmail },
	"user_id":    func(ev *event.Event, _ *Decision) string { return ev.UserID },
	"user_name":  func(ev *event.Event, _ *Decision) string { return ev.UserName },
	"op_user_id": func(ev *event.Event, _ *Decision) string { return ev.OPUserID },
	"outcome":    func(ev *event.Event, _ *Decision) string { return ev.Outcome },
	"risk":       func(ev *event.Event, _ *Decision) string { return ev.Risk },
	"risk_score": func(ev *event.Event, _ *Decision) string {
		if ev.RiskScore == nil {
			return strconv.Itoa(NoRiskScore)
		}
		return strconv.Itoa(*ev.RiskScore)
	},
	"has_risk_score": func(ev *event.Event, _ *Decision) string { return strconv.FormatBool(ev.RiskScore != nil) },
	"risk_rank":      func(ev *event.Event, _ *Decision) string { return strconv.Itoa(riskRank(ev.Risk)) },
	"src_ip":         func(ev *event.Event, _ *Decision) string { return ev.SrcIP },
	"country":        func(ev *event.Event, _ *Decision) string { return ev.Country },
	"city":           func(ev *event.Event, _ *Decision) string { return ev.City },
	"event_id":       func(ev *event.Event, _ *Decision) string { return ev.EventID },
	"source":         func(ev *event.Event, _ *Decision) string { return ev.Source },
	"kind":           func(ev *event.Event, _ *Decision) string { return ev.Kind },
	"identity":       func(ev *event.Event, _ *Decision) string { return defaultIdentity(ev) },
	"rule_id":        func(_ *event.Event, d *Decision) string { return d.RuleID },
	"severity":       func(_ *event.Event, d *Decision) string { return d.Severity },
	"action":         func(_ *event.Event, d *Decision) string { return string(d.Action) },
	"mode":           func(_ *event.Event, d *Decision) string { return string(d.Mode) },
	"user":           func(_ *event.Event, d *Decision) string { return d.User },
}

// newReason prepares a parsed reason template for rendering.
func newReason(tmpl *template.Template) *reason {
	return &reason{tmpl: tmpl, parts: simpleParts(tmpl.Tree.Root)}
}

// simpleParts splits a template made only of text and {{ .field }} actions
// on fields of reasonFields into parts; it returns nil for any other
// template (functions, pipelines, conditionals, nested fields).
func simpleParts(root *parse.ListNode) []reasonPart {
	parts := []reasonPart{}
	for _, n := range root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			parts = append(parts, reasonPart{text: string(n.Text)})
		case *parse.ActionNode:
			p := n.Pipe
			if p == nil || len(p.Decl) != 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
				return nil
			}
			f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
			if !ok || len(f.Ident) != 1 {
				return nil
			}
			fn, ok := reasonFields[f.Ident[0]]
			if !ok {
				return nil
			}
			parts = append(parts, reasonPart{field: fn})
		default:
			return nil
		}
	}
	return parts
}

// render returns the reason for decision d about ev, which e is
// evaluating; e provides the template data when text/template must execute
// the template.
func (r *reason) render(e *evaluator, ev *event.Event, d *Decision) (string, error) {
	if r.parts == nil {
		var b strings.Builder
		if err := r.tmpl.Execute(&b, e.templateData(d)); err != nil {
			return "", err
		}
		return b.String(), nil
	}
	if len(r.parts) == 1 && r.parts[0].field == nil {
		return r.parts[0].text, nil
	}
	var buf [256]byte
	b := buf[:0]
	for _, p := range r.parts {
		if p.field != nil {
			b = append(b, p.field(ev, d)...)
		} else {
			b = append(b, p.text...)
		}
	}
	return string(b), nil
}
