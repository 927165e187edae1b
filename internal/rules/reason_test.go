package rules

import (
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// TestReasonConcatenation checks that the concatenation path renders every
// field it handles as text/template does, and that other templates are left
// to text/template.
func TestReasonConcatenation(t *testing.T) {
	score := 87
	zero := 0
	events := []*event.Event{
		{},
		{UserEmail: "dana.reyes@example.com", UserID: "00u1", UserName: "dana", OPUserID: "OP1", Outcome: "success",
			Risk: "high", RiskScore: &score, Reasons: []string{"a", "b"}, SrcIP: "203.0.113.77", Country: "RO",
			City: "Bucharest", Time: time.Date(2025, 10, 14, 8, 41, 17, 0, time.UTC), EventID: "okta:1", Source: "okta", Kind: "signin"},
		{UserEmail: "li.wei@example.com", Risk: "unknown", RiskScore: &zero, Outcome: "failure"},
	}
	var b strings.Builder
	b.WriteString("x")
	for name := range reasonFields {
		b.WriteString(" {{ ." + name + " }}|{{- ." + name + " -}} |")
	}
	text := b.String()
	tmpl := template.Must(template.New("all").Funcs(templateFuncs).Parse(text))
	r := newReason(tmpl)
	if r.parts == nil {
		t.Fatal("template of plain field references not concatenated")
	}
	cat := newCatalog(nil, NewState(0))
	for _, ev := range events {
		e := newEvaluator(cat).(*evaluator)
		e.identity = e.env.fill(ev, allEnvFields)
		e.b.reset(ev)
		d := Decision{RuleID: "r", Mode: remediate.ModeShadow, Action: remediate.ActionNone, Severity: "low", User: e.identity + "!"}
		got, err := r.render(e, ev, &d)
		if err != nil {
			t.Fatal(err)
		}
		var want strings.Builder
		if err := tmpl.Execute(&want, e.templateData(&d)); err != nil {
			t.Fatal(err)
		}
		if got != want.String() {
			t.Errorf("event %+v:\n got %q\nwant %q", ev, got, want.String())
		}
	}
	for _, text := range []string{
		"{{ .reasons }}", "{{ .time }}", "{{ .raw.x }}", "{{ lower .src_ip }}", "{{ .src_ip | upper }}",
		"{{ if .src_ip }}x{{ end }}", "{{ $x := .src_ip }}{{ $x }}",
	} {
		tmpl := template.Must(template.New("t").Funcs(templateFuncs).Parse(text))
		if newReason(tmpl).parts != nil {
			t.Errorf("%q concatenated, want text/template", text)
		}
	}
}
