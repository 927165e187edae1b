package rules

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateExplain = flag.Bool("update", false, "rewrite the golden files of testdata/explain")

// explainRules is the directory of the rules written for the explain
// golden tests.
const explainRules = "testdata/explain/rules"

// explainCases are the golden tests of the explanations: rules, the ids
// explained and the input (a document, or JSON lines).
var explainCases = []struct {
	name, rules, input string
	ids                []string
}{
	// A match: every clause evaluated, with the fields it read.
	{"match", shippedDir, shippedDir + "/testdata/okta-session-start-risky.json", []string{"risky_signin_success"}},
	// Short-circuits: a false && operand, a true || operand.
	{"short_circuit", shippedDir, shippedDir + "/testdata/okta-session-start-risky.json", []string{"anonymous_proxy_success", "mfa_fatigue"}},
	// A runtime error, on the clause that raised it.
	{"runtime_error", explainRules, shippedDir + "/testdata/okta-session-start-risky.json", []string{"kiosk_signin"}},
	// count(): five MFA failures in eight minutes, the fifth matches.
	{"count", shippedDir, "testdata/explain/mfa-failures.jsonl", []string{"mfa_fatigue"}},
	// A rule with a sigma: block: its selections named; an Entra event
	// it is not run for.
	{"sigma", explainRules, "testdata/explain/okta-and-entra.jsonl", []string{"sigma_okta_proxy_session"}},
	// The Sigma functions: the values they read in raw.
	{"sigma_functions", explainRules, shippedDir + "/testdata/okta-session-start-risky.json", []string{"sigma_okta_proxy_functions"}},
}

// TestExplainGolden compares the text and JSON explanations of
// explainCases with testdata/explain/NAME.txt and NAME.json; -update
// rewrites them.
func TestExplainGolden(t *testing.T) {
	t.Parallel()
	decode := shippedDecoder(t)
	for _, tc := range explainCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			set, err := LoadDir(tc.rules)
			if err != nil {
				t.Fatal(err)
			}
			x, err := set.NewExplainer(tc.ids...)
			if err != nil {
				t.Fatal(err)
			}
			var text, js bytes.Buffer
			for _, d := range explainInput(t, tc.input) {
				evs, err := decode(d.raw)
				if err != nil {
					t.Fatalf("line %d: %v", d.line, err)
				}
				for i := range evs {
					ee := EventExplanation{Line: d.line, Event: &evs[i], Rules: x.Explain(&evs[i])}
					if err := ee.WriteText(&text); err != nil {
						t.Fatal(err)
					}
					if err := ee.WriteJSON(&js); err != nil {
						t.Fatal(err)
					}
				}
			}
			golden(t, filepath.Join("testdata/explain", tc.name+".txt"), text.Bytes())
			golden(t, filepath.Join("testdata/explain", tc.name+".json"), js.Bytes())
		})
	}
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *updateExplain {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestExplainGolden -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		i := firstDiff(string(got), string(want))
		t.Errorf("%s differs at byte %d (go test -run TestExplainGolden -update rewrites it):\ngot:  %q\nwant: %q", path, i, excerpt(got, i), excerpt(want, i))
	}
}

// excerpt returns the bytes of b around i.
func excerpt(b []byte, i int) string {
	return string(b[max(0, i-60):min(len(b), i+60)])
}

// explainDoc is one input document and the line it starts on.
type explainDoc struct {
	line int
	raw  []byte
}

// explainInput reads a golden input: JSON lines (*.jsonl), or one
// document.
func explainInput(t *testing.T, path string) []explainDoc {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(path, ".jsonl") {
		return []explainDoc{{line: 1, raw: data}}
	}
	var out []explainDoc
	for i, l := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(l)) > 0 {
			out = append(out, explainDoc{line: i + 1, raw: l})
		}
	}
	return out
}
