package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripline-dev/tripline/internal/eventtest"
)

// writeTree writes files (slash paths relative to dir, created with their
// directories) into a new temporary directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// benignOkta is the eventtest benign corpus as files of a rule directory.
func benignOkta() map[string]string {
	files := map[string]string{}
	for name, doc := range eventtest.BenignOkta() {
		files[BenignDir+"/"+name] = string(doc)
	}
	return files
}

// broadRule acts on every successful sign-in; its inline tests pass.
const broadRule = `rules:
  - id: broad
    severity: high
    mode: enforce
    action: suspend
    when: outcome == "success"
    tests:
      - {name: success, event: {user_email: a@example.com, outcome: success, risk: high}, expect: {match: true}}
      - {name: failure, event: {user_email: a@example.com, outcome: failure, risk: high}, expect: {match: false}}
`

func TestLoadCheckedRefusesARuleMatchingBenignSignIns(t *testing.T) {
	t.Parallel()
	files := benignOkta()
	files["rules.yaml"] = broadRule
	dir := writeTree(t, files)
	decode := shippedDecoder(t)

	_, err := LoadChecked(dir, decode)
	if !errors.Is(err, ErrBenignMatch) {
		t.Fatalf("err = %v, want ErrBenignMatch", err)
	}
	const want = "rules.yaml:2: rule broad matches the benign sample testdata/benign/okta-low-1.json (event okta:benign-1) and 2 more: a rule that acts must not match ordinary sign-ins"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v\nwant it to contain %q", err, want)
	}

	s, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.CheckBenign(dir, decode)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Pass || res[0].Samples != 3 || len(res[0].Hits) != 3 || res[0].Hits[2].EventID != "okta:benign-3" {
		t.Errorf("CheckBenign = %+v", res)
	}
	if n := s.State().Tracked(); n != 0 {
		t.Errorf("the benign check touched the Set's state: %d counters", n)
	}
}

func TestLoadCheckedBenignCorpus(t *testing.T) {
	t.Parallel()
	shadow := strings.Replace(broadRule, "mode: enforce", "mode: shadow", 1)
	failsAtRuntime := `rules:
  - id: fragile
    severity: high
    mode: enforce
    action: suspend
    when: raw.a.b == "x"
    tests:
      - {name: x, event: {user_email: a@example.com, raw: {a: {b: x}}}, expect: {match: true}}
      - {name: y, event: {user_email: a@example.com, raw: {a: {b: y}}}, expect: {match: false}}
`
	with := func(rules string, extra ...map[string]string) map[string]string {
		files := map[string]string{"rules.yaml": rules}
		for _, m := range extra {
			for k, v := range m {
				files[k] = v
			}
		}
		return files
	}
	cases := []struct {
		name    string
		files   map[string]string
		wantIs  error  // nil: accepted
		wantMsg string // substring of the error
	}{
		{"risky rule with the benign corpus", with(eventtest.RiskyRule, benignOkta()), nil, ""},
		{"shadow rule is not checked", with(shadow, benignOkta()), nil, ""},
		{"shadow rule needs no corpus", with(shadow), nil, ""},
		{"missing corpus", with(eventtest.RiskyRule), ErrInvalidRule,
			"testdata/benign: rules that act need a benign corpus in DIR/testdata/benign (copy rules/testdata/benign from the tripline repository)"},
		{"empty corpus", with(eventtest.RiskyRule, map[string]string{BenignDir + "/README": "no json here"}), ErrInvalidRule,
			"rules that act need a benign corpus in DIR/testdata/benign"},
		{"undecodable sample", with(eventtest.RiskyRule, benignOkta(), map[string]string{BenignDir + "/bad.json": "{not json"}), ErrInvalidRule,
			"testdata/benign/bad.json: benign sample: "},
		{"unknown format", with(eventtest.RiskyRule, map[string]string{BenignDir + "/odd.json": `{"hello": "world"}`}), ErrInvalidRule,
			"testdata/benign/odd.json: benign sample: "},
		{"undecodable sample with only shadow rules", with(shadow, map[string]string{BenignDir + "/bad.json": "{not json"}), ErrInvalidRule,
			"testdata/benign/bad.json: benign sample: "},
		{"runtime error on a benign sample", with(failsAtRuntime, benignOkta()), ErrBenignMatch,
			"rules.yaml:2: rule fragile fails on the benign sample testdata/benign/okta-low-1.json (event okta:benign-1) and 2 more: when:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := writeTree(t, tc.files)
			s, err := LoadChecked(dir, shippedDecoder(t))
			if tc.wantIs == nil {
				if err != nil || s == nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			msg := strings.ReplaceAll(tc.wantMsg, "DIR", dir)
			if s != nil || !errors.Is(err, tc.wantIs) || !strings.Contains(err.Error(), msg) {
				t.Errorf("err = %v\nwant %v containing %q", err, tc.wantIs, msg)
			}
		})
	}
}

func TestCheckBenignPasses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := eventtest.WriteRulesDir(dir, eventtest.RiskyRule); err != nil {
		t.Fatal(err)
	}
	decode := shippedDecoder(t)
	s, err := LoadChecked(dir, decode)
	if err != nil {
		t.Fatalf("a directory written by eventtest.WriteRulesDir is refused: %v", err)
	}
	res, err := s.CheckBenign(dir, decode)
	if err != nil || len(res) != 1 || !res[0].Pass || res[0].Samples != 3 || res[0].RuleID != "risky_success" || res[0].Problem() != "" {
		t.Errorf("CheckBenign = %+v, %v", res, err)
	}
	// The corpus is benign: every event decodes as a successful low-risk
	// sign-in.
	events, problems := readBenign(dir, decode)
	if len(problems) > 0 || len(events) != 3 {
		t.Fatalf("corpus: %d events, %v", len(events), problems)
	}
	for _, b := range events {
		if b.ev.Outcome != "success" || b.ev.Risk != "low" {
			t.Errorf("%s: outcome %s, risk %s", b.file, b.ev.Outcome, b.ev.Risk)
		}
	}
}

func TestCheckBenignWithoutDecoder(t *testing.T) {
	t.Parallel()
	files := benignOkta()
	files["rules.yaml"] = eventtest.RiskyRule
	dir := writeTree(t, files)
	if _, err := LoadChecked(dir, nil); !errors.Is(err, ErrInvalidRule) || !strings.Contains(err.Error(), "no event decoder to read the benign corpus") {
		t.Errorf("err = %v", err)
	}
}

func TestCheckBenignUsesAFreshState(t *testing.T) {
	t.Parallel()
	files := benignOkta()
	// Each benign user signs in once: the second sign-in of a user within an
	// hour never happens in the corpus, unless counts leak between runs.
	files["rules.yaml"] = `rules:
  - id: second_signin
    severity: high
    mode: enforce
    action: suspend
    when: outcome == "success" && count("signin", "1h") >= 2
    tests:
      - {name: second, event: {user_email: li.wei@example.com, outcome: success, event_id: x}, repeat: 2, expect: {match: true}}
      - {name: first, event: {user_email: li.wei@example.com, outcome: success, event_id: x}, expect: {match: false}}
`
	dir := writeTree(t, files)
	decode := shippedDecoder(t)
	s, err := LoadChecked(dir, decode)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		res, err := s.CheckBenign(dir, decode)
		if err != nil || len(res) != 1 || !res[0].Pass {
			t.Fatalf("run %d: %+v, %v", i, res, err)
		}
	}
	if n := s.State().Tracked(); n != 0 {
		t.Errorf("the benign check recorded %d counters in the Set's state", n)
	}
	// The Set's own counts do not leak into the check either.
	for _, name := range []string{"okta-low-1.json", "okta-low-2.json", "okta-low-3.json"} {
		evs, err := decode(eventtest.BenignOkta()[name])
		if err != nil {
			t.Fatal(err)
		}
		evs[0].EventID += "-earlier"
		s.Evaluate(&evs[0])
	}
	if res, _ := s.CheckBenign(dir, decode); len(res) != 1 || !res[0].Pass {
		t.Errorf("after live evaluations: %+v", res)
	}
}
