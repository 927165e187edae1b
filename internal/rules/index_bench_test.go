package rules

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tripline-dev/tripline/internal/event"
)

// generatedSourceRules returns n rules spread over the formats, each shaped
// like an imported Sigma rule: a source test, then tests of raw fields and
// of the normalized ones that match nothing in the corpus.
func generatedSourceRules(n int) string {
	formats := event.Formats()
	var b strings.Builder
	b.WriteString("rules:\n")
	for i := range n {
		src := string(formats[i%len(formats)])
		fmt.Fprintf(&b, `  - id: gen_%03d
    severity: low
    action: none
    when: >
      source == %q && (raw?.eventType ?? "") in ["gen.%d.a", "gen.%d.b"]
      && outcome == "failure" && has_suffix(user_email, "@gen%d.example.com")
`, i, src, i, i, i)
	}
	return b.String()
}

// BenchmarkEvaluateSourceIndex evaluates the sample events of every format
// (corpusEvents) against the shipped rules plus 200 generated rules spread
// over the formats, with the source index (Set.Evaluate) and running every
// rule (evaluateEvery), and reports events/s. shipped_only, the shipped
// rules alone, is the floor the index approaches.
func BenchmarkEvaluateSourceIndex(b *testing.B) {
	const generated = 200
	s, err := Load(shippedFS(b, generatedSourceRules(generated)))
	if err != nil {
		b.Fatal(err)
	}
	shipped, err := Load(shippedFS(b, "rules: []\n"))
	if err != nil {
		b.Fatal(err)
	}
	events := corpusEvents(b)
	ran := 0
	for i := range events {
		ran += len(s.index.lookup(events[i].Source).rules)
	}
	b.Logf("%d rules, %d events, %.1f rules run per event with the index", len(s.Rules()), len(events), float64(ran)/float64(len(events)))
	for _, bc := range []struct {
		name string
		set  *Set
		eval func(*Set, *event.Event) Result
	}{
		{"every_rule", s, evaluateEvery},
		{"indexed", s, (*Set).Evaluate},
		{"shipped_only", shipped, (*Set).Evaluate},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for i := range events {
					bc.eval(bc.set, &events[i])
				}
			}
			b.ReportMetric(float64(b.N*len(events))/b.Elapsed().Seconds(), "events/s")
		})
	}
}
