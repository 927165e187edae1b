package sigma

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/tripline-dev/tripline/internal/rules"
)

// oktaRule is a Sigma rule for Okta with the given detection (indented
// by four spaces under detection:).
func oktaRule(title, detection string) string {
	return "title: " + title + "\nid: 11111111-2222-4333-8444-555555555555\nstatus: test\nauthor: A, B\n" +
		"date: 2025-01-02\nmodified: 2025-03-04\nreferences:\n    - https://example.com/r\n" +
		"tags:\n    - attack.t1078\nlogsource:\n    product: okta\n    service: okta\ndetection:\n" + detection + "level: high\n"
}

// importOne imports Sigma files given as name/content pairs with the
// shipped mappings.
func importOne(t *testing.T, files ...string) *Result {
	t.Helper()
	var in []Input
	for i := 0; i+1 < len(files); i += 2 {
		in = append(in, Input{Name: files[i], Data: []byte(files[i+1])})
	}
	res, err := (&Importer{Mappings: shippedMappings(t)}).Import(in)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// ruleFile decodes a written rule file.
func ruleFile(t *testing.T, data []byte) []outRule {
	t.Helper()
	var f struct {
		Rules []outRule `yaml:"rules"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return f.Rules
}

// loadResult loads the written files as rules.Load does and runs their
// inline tests.
func loadResult(t *testing.T, res *Result) *rules.Set {
	t.Helper()
	fsys := fstest.MapFS{}
	for n, d := range res.Files {
		fsys[n] = &fstest.MapFile{Data: d}
	}
	set, err := rules.Load(fsys)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	for _, r := range set.Test(nil) {
		if !r.Pass {
			t.Errorf("test %s %q: %v", r.RuleID, r.Name, r.Problems)
		}
	}
	return set
}

func TestImportRuleFields(t *testing.T) {
	t.Parallel()
	res := importOne(t, "in/Okta API-Token (v2).yml", oktaRule("Okta {{ Token }} Created",
		"    selection:\n        eventType: system.api_token.create\n    condition: selection\n")+
		"description: |\n    Detects a token\n    created.\n")
	data, ok := res.Files["sigma_okta_api_token_v2.yaml"]
	if !ok {
		t.Fatalf("files %v, want sigma_okta_api_token_v2.yaml", slices.Sorted(mapsKeys(res.Files)))
	}
	rs := ruleFile(t, data)
	if len(rs) != 1 {
		t.Fatalf("rules %+v", rs)
	}
	r := rs[0]
	want := outRule{
		ID: "sigma_okta_api_token_v2", Description: "Okta {{ Token }} Created: Detects a token created.",
		Severity: "high", Mode: "shadow", Action: "suspend",
		When:   `source == "okta" && (sigma_eq(raw, "eventType", ["system.api_token.create"])) && identity != ""`,
		Reason: `Sigma rule "Okta { { Token } } Created" matched`,
		Tags:   []string{"attack.t1078"},
		Sigma: &rules.SigmaOrigin{
			ID: "11111111-2222-4333-8444-555555555555", Title: "Okta {{ Token }} Created", Status: "test",
			Author: "A, B", Date: "2025-01-02", Modified: "2025-03-04", References: []string{"https://example.com/r"},
			Logsource: map[string]string{"product": "okta", "service": "okta"}, File: "in/Okta API-Token (v2).yml",
			Condition:  "selection",
			Selections: []rules.SigmaSelection{{Name: "selection", When: `sigma_eq(raw, "eventType", ["system.api_token.create"])`}},
		},
	}
	got := r
	got.Tests = nil
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rule (-want +got):\n%s", d)
	}
	if len(r.Tests) != 2 || !r.Tests[0].Expect.Match || r.Tests[1].Expect.Match {
		t.Errorf("tests %+v, want one matching and one not", r.Tests)
	}
	if !strings.HasPrefix(string(data), fileHeader) {
		t.Errorf("the file does not start with the header:\n%s", data)
	}
	loadResult(t, res)
}

func mapsKeys(m map[string][]byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestImportSeverity(t *testing.T) {
	t.Parallel()
	for level, want := range map[string]string{"informational": "info", "low": "low", "medium": "medium", "high": "high", "critical": "critical", "": "medium"} {
		if got := severity(level); got != want {
			t.Errorf("severity(%q) = %q, want %q", level, got, want)
		}
	}
}

// TestImportIDs checks the rule ids: a file's rules get _2, _3..., and an
// id another file took gets the first free suffix, the same every time.
func TestImportIDs(t *testing.T) {
	t.Parallel()
	det := "    selection:\n        eventType: user.session.start\n    condition: selection\n"
	collection := oktaRule("First", det) + "---\n" + oktaRule("Second", det)
	files := []string{"a/x.yml", collection, "b/x.yml", oktaRule("Third", det), "c/x_2.yml", oktaRule("Fourth", det)}
	res := importOne(t, files...)
	var ids []string
	for _, o := range res.Outcomes {
		ids = append(ids, o.RuleID)
	}
	want := []string{"sigma_x", "sigma_x_2", "sigma_x_3", "sigma_x_2_2"}
	if d := cmp.Diff(want, ids); d != "" {
		t.Errorf("ids (-want +got):\n%s", d)
	}
	if got := slices.Sorted(mapsKeys(res.Files)); !slices.Equal(got, []string{"sigma_x.yaml", "sigma_x_2_2.yaml", "sigma_x_3.yaml"}) {
		t.Errorf("files %v", got)
	}
	again := importOne(t, files...)
	for n, d := range res.Files {
		if string(again.Files[n]) != string(d) {
			t.Errorf("%s differs on the second import", n)
		}
	}
	loadResult(t, res)
}

// TestImportCollections checks Sigma's collection actions: global merges
// a template (its keys win), reset drops it, repeat adds to the previous
// rule.
func TestImportCollections(t *testing.T) {
	t.Parallel()
	src := `action: global
title: Template
logsource:
    product: okta
    service: okta
detection:
    filter:
        outcome.result: FAILURE
    condition: selection and not filter
level: low
---
title: One
detection:
    selection:
        eventType: user.session.start
---
action: repeat
title: Two
detection:
    selection:
        eventType: user.session.end
---
action: reset
---
title: Three
logsource:
    product: okta
detection:
    selection:
        eventType: zone.delete
    condition: selection
`
	res := importOne(t, "c.yml", src)
	if len(res.Outcomes) != 3 {
		t.Fatalf("outcomes %+v", res.Outcomes)
	}
	rs := ruleFile(t, res.Files["sigma_c.yaml"])
	var whens []string
	for _, r := range rs {
		whens = append(whens, r.ID+": "+r.Sigma.Title+": "+r.Sigma.Condition+": "+r.When)
	}
	want := []string{
		`sigma_c: Template: selection and not filter: source == "okta" && (sigma_eq(raw, "eventType", ["user.session.start"]) && !sigma_eq(raw, "outcome.result", ["FAILURE"])) && identity != ""`,
		`sigma_c_2: Two: selection and not filter: source == "okta" && (sigma_eq(raw, "eventType", ["user.session.end"]) && !sigma_eq(raw, "outcome.result", ["FAILURE"])) && identity != ""`,
		`sigma_c_3: Three: selection: source == "okta" && (sigma_eq(raw, "eventType", ["zone.delete"])) && identity != ""`,
	}
	if d := cmp.Diff(want, whens); d != "" {
		t.Errorf("rules (-want +got):\n%s", d)
	}
	loadResult(t, res)
}

// TestImportCompile checks the `when` compiled from detections: the
// condition forms, the modifiers and the values.
func TestImportCompile(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, detection, want string }{
		{"list of values", "    s:\n        eventType:\n            - a\n            - b\n    condition: s\n",
			`sigma_eq(raw, "eventType", ["a", "b"])`},
		{"number, bool and null", "    s:\n        n: 5\n        b: true\n        x: null\n        f: 1.5\n    condition: s\n",
			`sigma_eq(raw, "n", [5]) && sigma_eq(raw, "b", [true]) && sigma_null(raw, "x") && sigma_eq(raw, "f", [1.5])`},
		{"value or null", "    s:\n        x:\n            - ''\n            - null\n    condition: s\n",
			`sigma_null(raw, "x") || sigma_eq(raw, "x", [""])`},
		{"contains all", "    s:\n        x|contains|all:\n            - a\n            - b\n    condition: s\n",
			`sigma_contains(raw, "x", ["a"]) && sigma_contains(raw, "x", ["b"])`},
		{"cased startswith endswith", "    s:\n        x|startswith|cased: A\n        y|endswith: 5\n    condition: s\n",
			`sigma_startswith_cased(raw, "x", ["A"]) && sigma_endswith(raw, "y", ["5"])`},
		{"re with flags", "    s:\n        x|re|i|s: '^a.b'\n    condition: s\n",
			`sigma_re(raw, "x", ["(?is)^a.b"])`},
		{"cidr, compare, exists", "    s:\n        ip|cidr: 10.0.0.0/8\n        n|gte: 3\n        m|lt: '4'\n        e|exists: false\n    condition: s\n",
			`sigma_cidr(raw, "ip", ["10.0.0.0/8"]) && sigma_gte(raw, "n", [3]) && sigma_lt(raw, "m", [4]) && !sigma_exists(raw, "e")`},
		{"fieldref", "    s:\n        a|fieldref: b\n    condition: s\n",
			`sigma_fieldref(raw, "a", ["b"])`},
		{"keywords", "    k:\n        - evil\n        - 42\n    condition: k\n",
			`sigma_keyword(raw, ["evil", "42"])`},
		{"keywords all cased", "    k:\n        '|all|cased':\n            - a\n            - b\n    condition: k\n",
			`sigma_keyword_cased(raw, ["a"]) && sigma_keyword_cased(raw, ["b"])`},
		{"list of maps", "    s:\n        - a: 1\n          b: 2\n        - c: 3\n    condition: s\n",
			`(sigma_eq(raw, "a", [1]) && sigma_eq(raw, "b", [2])) || sigma_eq(raw, "c", [3])`},
		{"windash", "    s:\n        x|contains|windash: ' -a'\n    condition: s\n",
			`sigma_contains(raw, "x", [" -a", " /a", " –a", " —a", " ―a"])`},
		{"base64", "    s:\n        x|base64|contains: 'evil payload'\n    condition: s\n",
			`sigma_contains(raw, "x", ["ZXZpbCBwYXlsb2Fk"])`},
		{"base64offset", "    s:\n        x|base64offset|contains: 'payload'\n    condition: s\n",
			`sigma_contains(raw, "x", ["cGF5bG9hZ", "BheWxvYW", "wYXlsb2Fk"])`},
		{"expand", "    s:\n        x|contains|expand: '%Known_Places%'\n    condition: s\n",
			`sigma_contains_list(raw, "x", ["sigma_known_places"])`},
		{"1 of, all of, not, parentheses", "    sel_a:\n        a: 1\n    sel_b:\n        b: 2\n    f:\n        c: 3\n    condition: (1 of sel_*) and not f or all of sel_*\n",
			`((sigma_eq(raw, "a", [1]) || sigma_eq(raw, "b", [2])) && !sigma_eq(raw, "c", [3])) || (sigma_eq(raw, "a", [1]) && sigma_eq(raw, "b", [2]))`},
		{"them without underscores", "    a:\n        a: 1\n    _b:\n        b: 2\n    condition: 1 of them\n",
			`sigma_eq(raw, "a", [1])`},
		{"condition list", "    a:\n        a: 1\n    b:\n        b: 2\n    condition:\n        - a\n        - b\n",
			`sigma_eq(raw, "a", [1]) || sigma_eq(raw, "b", [2])`},
		{"escapes kept for the runtime", "    s:\n        x: 'a\\*b\\?'\n    condition: s\n",
			`sigma_eq(raw, "x", ["a\\*b\\?"])`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := importOne(t, "r.yml", oktaRule("T", tc.detection))
			if o := res.Outcomes[0]; o.Skip != nil {
				t.Fatalf("skipped: %v", o.Skip)
			}
			r := ruleFile(t, res.Files["sigma_r.yaml"])[0]
			want := `source == "okta" && (` + tc.want + `) && identity != ""`
			if r.When != want {
				t.Errorf("when:\n got %s\nwant %s", r.When, want)
			}
			loadResult(t, res)
		})
	}
}

// TestImportSkips checks the skip reasons of rules that cannot be
// compiled exactly, and that the message names what is at fault.
func TestImportSkips(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		reason    Reason
		msg       string
	}{
		{"near", oktaRule("T", "    a:\n        a: 1\n    b:\n        b: 1\n    condition: a near b\n"), ReasonAggregation, "near"},
		{"2 of", oktaRule("T", "    a:\n        a: 1\n    condition: 2 of a*\n"), ReasonInvalid, "only 1 of and all of"},
		{"neq", oktaRule("T", "    s:\n        a|neq: 1\n    condition: s\n"), ReasonModifier, "neq is not supported"},
		{"time modifier", oktaRule("T", "    s:\n        published|hour: 3\n    condition: s\n"), ReasonModifier, "hour is not supported"},
		{"backreference", oktaRule("T", "    s:\n        a|re: '(a)\\1'\n    condition: s\n"), ReasonRegexp, "cannot run in RE2"},
		{"two match modifiers", oktaRule("T", "    s:\n        a|contains|startswith: x\n    condition: s\n"), ReasonModifier, "cannot be combined"},
		{"keyword modifier", oktaRule("T", "    k:\n        '|contains':\n            - x\n    condition: k\n"), ReasonModifier, "keyword search"},
		{"wildcard base64", oktaRule("T", "    s:\n        a|base64: 'x*'\n    condition: s\n"), ReasonInvalid, "wildcards"},
		{"gt on text", oktaRule("T", "    s:\n        a|gt: x\n    condition: s\n"), ReasonInvalid, "takes numbers"},
		{"empty of", oktaRule("T", "    a:\n        a: 1\n    condition: 1 of z*\n"), ReasonInvalid, "matches no search identifier"},
		{"no condition", oktaRule("T", "    a:\n        a: 1\n"), ReasonInvalid, "no condition"},
		{"no detection", "title: T\nlogsource:\n    product: okta\n", ReasonInvalid, "no detection"},
		{"logsource", strings.Replace(oktaRule("T", "    a:\n        a: 1\n    condition: a\n"), "product: okta", "product: onelogin", 1), ReasonLogsource, "product=onelogin service=okta"},
		{"not a mapping", "- a\n- b\n", ReasonInvalid, "not a mapping"},
		{"unknown action", "action: merge\ntitle: T\n", ReasonInvalid, "unknown collection action"},
		{"repeat first", "action: repeat\ntitle: T\n", ReasonInvalid, "no rule precedes"},
		{"empty file", "# nothing\n", ReasonInvalid, "no YAML document"},
		{"empty placeholder list", oktaRule("T", "    s:\n        a|expand: '%p%'\n    condition: s\n"), "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := importOne(t, "r.yml", tc.src)
			if len(res.Outcomes) != 1 {
				t.Fatalf("outcomes %+v", res.Outcomes)
			}
			sk := res.Outcomes[0].Skip
			if tc.reason == "" {
				if sk != nil {
					t.Fatalf("skipped: %v", sk)
				}
				return
			}
			if sk == nil || sk.Reason != tc.reason || !strings.Contains(sk.Msg, tc.msg) {
				t.Errorf("skip = %v, want %s: ...%s...", sk, tc.reason, tc.msg)
			}
		})
	}
}

// TestImportPlaceholders checks that a placeholder becomes a list holding
// the placeholder (a new list, reported), and that values already in the
// list are kept.
func TestImportPlaceholders(t *testing.T) {
	t.Parallel()
	src := oktaRule("T", "    s:\n        client.geographicalContext.country|expand: '%Blocked_Countries%'\n    condition: s\n")
	res := importOne(t, "r.yml", src)
	if !slices.Equal(res.NewLists, []string{"sigma_blocked_countries"}) {
		t.Errorf("new lists %v", res.NewLists)
	}
	lists, err := ParseLists(res.Files[PlaceholdersFile])
	if err != nil {
		t.Fatal(err)
	}
	if got := lists["sigma_blocked_countries"]; !slices.Equal(got, []string{"%Blocked_Countries%"}) {
		t.Errorf("list %q, want the placeholder", got)
	}
	loadResult(t, res)

	im := &Importer{Mappings: shippedMappings(t), Lists: map[string][]string{"sigma_blocked_countries": {"Romania", "France"}, "sigma_other": {"x"}}}
	again, err := im.Import([]Input{{Name: "r.yml", Data: []byte(src)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.NewLists) != 0 {
		t.Errorf("new lists %v, want none", again.NewLists)
	}
	lists, err = ParseLists(again.Files[PlaceholdersFile])
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"sigma_blocked_countries": {"Romania", "France"}, "sigma_other": {"x"}}
	if d := cmp.Diff(want, lists); d != "" {
		t.Errorf("lists (-want +got):\n%s", d)
	}
	r := ruleFile(t, again.Files["sigma_r.yaml"])[0]
	if got := r.Tests[0].Event.Raw["client"]; got == nil || !strings.Contains(toString(got), "Romania") {
		t.Errorf("the matching test uses %v, want the list's first value", got)
	}
	loadResult(t, again)
}

func toString(v any) string {
	b, _ := yaml.Marshal(v)
	return string(b)
}

// TestImportGuardSeveralFormats checks the guard of a logsource read in
// several formats, from a user's mapping.
func TestImportGuardSeveralFormats(t *testing.T) {
	t.Parallel()
	ms := shippedMappings(t)
	if err := ms.Add("m.yaml", []byte("name: custom\nlogsources:\n  - product: acme\n    formats: [ecs, ocsf]\n")); err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(oktaRule("T", "    s:\n        user.name: x\n    condition: s\n"), "product: okta\n    service: okta", "product: acme", 1)
	res, err := (&Importer{Mappings: ms}).Import([]Input{{Name: "r.yml", Data: []byte(src)}})
	if err != nil {
		t.Fatal(err)
	}
	if sk := res.Outcomes[0].Skip; sk != nil {
		t.Fatal(sk)
	}
	r := ruleFile(t, res.Files["sigma_r.yaml"])[0]
	if want := `source in ["ecs", "ocsf"] && (sigma_eq(raw, "user.name", ["x"])) && identity != ""`; r.When != want {
		t.Errorf("when %s, want %s", r.When, want)
	}
	if r.Tests[1].Event.Source != "ecs" && r.Tests[1].Expect.Match {
		t.Errorf("tests %+v", r.Tests)
	}
	loadResult(t, res)
}
