package sigma

import (
	"strings"
	"testing"
)

func TestWriteReport(t *testing.T) {
	r := &Result{
		Files: map[string][]byte{"b.yaml": nil, "a.yaml": nil},
		Outcomes: []Outcome{
			{File: "in/ok.yml", Index: 1, RuleID: "sigma_ok"},
			{File: "in/agg.yml", Index: 2, Title: "Many", Skip: &Skip{Reason: ReasonAggregation, Msg: "count()"}},
			{File: "in/bad.yml", Skip: &Skip{Reason: ReasonInvalid, Msg: "not YAML"}},
		},
		NewLists: []string{"sigma_x", "sigma_y"},
	}
	var out, errw strings.Builder
	if n := r.WriteReport(&out, &errw, "rules/"); n != 2 {
		t.Errorf("skipped %d, want 2", n)
	}
	wantOut := `wrote rules/a.yaml
wrote rules/b.yaml
fill the placeholder lists sigma_x, sigma_y in rules/sigma-placeholders.yaml: they hold only their placeholder, which matches nothing
imported 1, skipped 2 (aggregation 1, invalid 1)
`
	wantErr := `skip in/agg.yml (rule 2 "Many"): aggregation: count()
skip in/bad.yml: invalid: not YAML
`
	if out.String() != wantOut || errw.String() != wantErr {
		t.Errorf("out:\n%s\nwant:\n%s\nerr:\n%s\nwant:\n%s", out.String(), wantOut, errw.String(), wantErr)
	}
}
