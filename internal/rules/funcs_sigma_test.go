package rules

import (
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/tripline-dev/tripline/internal/event"
)

// sigmaLists are the lists the Sigma function tests can name.
const sigmaLists = `lists:
  sigma_apps: [App-One, "*-two", "thr?e"]
  sigma_empty: []
`

// loadSigma loads one rule whose when is `source == "okta" && (when)`.
func loadSigma(t testing.TB, when string) *Set {
	t.Helper()
	src := sigmaLists + "rules:\n  - id: r\n    severity: low\n    action: none\n    when: " + strconv.Quote(`source == "okta" && (`+when+`)`) + "\n"
	return mustLoad(t, src)
}

// sigmaMatches evaluates when on an Okta event whose raw is the JSON doc.
func sigmaMatches(t testing.TB, s *Set, doc string) bool {
	t.Helper()
	ev := event.Event{Source: "okta", UserEmail: "a@example.com", Raw: rawDoc(t, doc)}
	res := s.Evaluate(&ev)
	if len(res.Errors) > 0 {
		t.Fatalf("runtime error: %v", res.Errors[0])
	}
	return len(res.Decisions) > 0
}

// sigmaCase is one document and whether the expression matches it.
type sigmaCase struct {
	doc   string
	match bool
}

func TestSigmaFunctions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		when  string
		cases []sigmaCase
	}{
		{"eq is case-insensitive", `sigma_eq(raw, "a", ["Admin"])`, []sigmaCase{
			{`{"a": "admin"}`, true}, {`{"a": "ADMIN"}`, true}, {`{"a": "admins"}`, false}, {`{}`, false},
		}},
		{"eq_cased is case-sensitive", `sigma_eq_cased(raw, "a", ["Admin"])`, []sigmaCase{
			{`{"a": "Admin"}`, true}, {`{"a": "admin"}`, false},
		}},
		{"list of values is OR", `sigma_eq(raw, "a", ["x", "y"])`, []sigmaCase{
			{`{"a": "y"}`, true}, {`{"a": "z"}`, false},
		}},
		{"star wildcard", `sigma_eq(raw, "a", ["ad*n"])`, []sigmaCase{
			{`{"a": "adn"}`, true}, {`{"a": "ADMIN"}`, true}, {`{"a": "admin2"}`, false},
		}},
		{"question mark is one character", `sigma_eq(raw, "a", ["a?c"])`, []sigmaCase{
			{`{"a": "abc"}`, true}, {`{"a": "aéc"}`, true}, {`{"a": "ac"}`, false}, {`{"a": "abbc"}`, false},
		}},
		{"escaped star is literal", `sigma_eq(raw, "a", ["a\\*c"])`, []sigmaCase{
			{`{"a": "a*c"}`, true}, {`{"a": "abc"}`, false},
		}},
		{"escaped question mark is literal", `sigma_eq(raw, "a", ["a\\?"])`, []sigmaCase{
			{`{"a": "a?"}`, true}, {`{"a": "ab"}`, false},
		}},
		{"escaped backslash before a wildcard", `sigma_eq(raw, "a", ["c:\\\\*"])`, []sigmaCase{
			{`{"a": "c:\\windows"}`, true}, {`{"a": "c:windows"}`, false},
		}},
		{"plain backslash stays", `sigma_eq(raw, "a", ["c:\\windows"])`, []sigmaCase{
			{`{"a": "C:\\Windows"}`, true},
		}},
		{"empty string matches only the empty string", `sigma_eq(raw, "a", [""])`, []sigmaCase{
			{`{"a": ""}`, true}, {`{"a": "x"}`, false}, {`{}`, false}, {`{"a": null}`, false},
		}},
		{"contains", `sigma_contains(raw, "a", ["MIN"])`, []sigmaCase{
			{`{"a": "/admin/x"}`, true}, {`{"a": "/user"}`, false},
		}},
		{"contains with an inner wildcard", `sigma_contains(raw, "a", ["a*z"])`, []sigmaCase{
			{`{"a": "xxa..zxx"}`, true}, {`{"a": "za"}`, false},
		}},
		{"contains star matches any value, not absence", `sigma_contains(raw, "a", ["*"])`, []sigmaCase{
			{`{"a": ""}`, true}, {`{"a": 5}`, true}, {`{}`, false}, {`{"a": null}`, false},
		}},
		{"contains_cased", `sigma_contains_cased(raw, "a", ["MIN"])`, []sigmaCase{
			{`{"a": "ADMIN"}`, true}, {`{"a": "admin"}`, false},
		}},
		{"startswith", `sigma_startswith(raw, "a", ["Update"])`, []sigmaCase{
			{`{"a": "updateFunctionConfiguration20150331"}`, true}, {`{"a": "xUpdate"}`, false},
		}},
		{"startswith_cased", `sigma_startswith_cased(raw, "a", ["Up"])`, []sigmaCase{
			{`{"a": "Update"}`, true}, {`{"a": "update"}`, false},
		}},
		{"endswith", `sigma_endswith(raw, "a", ["SignInLogs"])`, []sigmaCase{
			{`{"a": "NonInteractiveUserSignInLogs"}`, true}, {`{"a": "UserRiskEvents"}`, false},
		}},
		{"endswith_cased", `sigma_endswith_cased(raw, "a", ["Logs"])`, []sigmaCase{
			{`{"a": "SignInLogs"}`, true}, {`{"a": "SIGNINLOGS"}`, false},
		}},
		{"re is case-sensitive and unanchored", `sigma_re(raw, "a", ["^0oa.*|@ex"])`, []sigmaCase{
			{`{"a": "0oa1"}`, true}, {`{"a": "a@example.com"}`, true}, {`{"a": "0OA1"}`, false}, {`{"a": "x0oa"}`, false},
		}},
		{"re with the i flag", `sigma_re(raw, "a", ["(?i)^admin$"])`, []sigmaCase{
			{`{"a": "ADMIN"}`, true}, {`{"a": "admins"}`, false},
		}},
		{"re with the m flag", `sigma_re(raw, "a", ["(?m)^b$"])`, []sigmaCase{
			{`{"a": "a\nb\nc"}`, true},
		}},
		{"re without the m flag", `sigma_re(raw, "a", ["^b$"])`, []sigmaCase{
			{`{"a": "a\nb\nc"}`, false},
		}},
		{"re with the s flag", `sigma_re(raw, "a", ["(?s)a.c"])`, []sigmaCase{
			{`{"a": "a\nc"}`, true},
		}},
		{"re without the s flag", `sigma_re(raw, "a", ["a.c"])`, []sigmaCase{
			{`{"a": "a\nc"}`, false},
		}},
		{"re reads numbers as text", `sigma_re(raw, "a", ["^5005[0-9]$"])`, []sigmaCase{
			{`{"a": 50053}`, true},
		}},
		{"cidr", `sigma_cidr(raw, "ip", ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"])`, []sigmaCase{
			{`{"ip": "10.1.2.3"}`, true}, {`{"ip": "2001:db8::1"}`, true}, {`{"ip": "::ffff:10.0.0.1"}`, true},
			{`{"ip": "192.0.2.7"}`, true}, {`{"ip": "192.0.2.8"}`, false}, {`{"ip": "AWS Internal"}`, false}, {`{}`, false},
		}},
		{"exists", `sigma_exists(raw, "a.b")`, []sigmaCase{
			{`{"a": {"b": "x"}}`, true}, {`{"a": {"b": null}}`, true}, {`{"a": {"b": []}}`, true}, {`{"a": {"B": ""}}`, true},
			{`{"a": {}}`, false}, {`{}`, false},
		}},
		{"exists false", `!sigma_exists(raw, "a")`, []sigmaCase{
			{`{}`, true}, {`{"a": null}`, false},
		}},
		{"null is absent or null", `sigma_null(raw, "a")`, []sigmaCase{
			{`{}`, true}, {`{"a": null}`, true}, {`{"a": []}`, true}, {`{"a": [null]}`, true},
			{`{"a": ""}`, false}, {`{"a": "x"}`, false}, {`{"a": [null, "x"]}`, false}, {`{"a": {}}`, false},
		}},
		{"gt", `sigma_gt(raw, "n", [5])`, []sigmaCase{
			{`{"n": 6}`, true}, {`{"n": "6"}`, true}, {`{"n": 5}`, false}, {`{"n": "x"}`, false}, {`{}`, false},
		}},
		{"gte", `sigma_gte(raw, "n", [5])`, []sigmaCase{
			{`{"n": 5}`, true}, {`{"n": 4.9}`, false},
		}},
		{"lt", `sigma_lt(raw, "n", [5.5])`, []sigmaCase{
			{`{"n": 5}`, true}, {`{"n": 5.5}`, false},
		}},
		{"lte", `sigma_lte(raw, "n", [-1])`, []sigmaCase{
			{`{"n": -1}`, true}, {`{"n": "-2"}`, true}, {`{"n": 0}`, false},
		}},
		{"fieldref", `sigma_fieldref(raw, "a", ["b"])`, []sigmaCase{
			{`{"a": "Bob", "b": "bob"}`, true}, {`{"a": 5, "b": "5"}`, true}, {`{"a": "bob", "b": "ann"}`, false},
			{`{"a": "bob"}`, false}, {`{"b": "bob"}`, false},
		}},
		{"in_list with wildcards in members", `sigma_in_list(raw, "app", ["sigma_apps"])`, []sigmaCase{
			{`{"app": "app-one"}`, true}, {`{"app": "Number-Two"}`, true}, {`{"app": "three"}`, true},
			{`{"app": "app-one-more"}`, false},
		}},
		{"contains_list", `sigma_contains_list(raw, "app", ["sigma_apps"])`, []sigmaCase{
			{`{"app": "my app-one here"}`, true}, {`{"app": "nothing"}`, false},
		}},
		{"startswith_list", `sigma_startswith_list(raw, "app", ["sigma_apps"])`, []sigmaCase{
			{`{"app": "App-One-2"}`, true}, {`{"app": "x app-one"}`, false},
		}},
		{"endswith_list", `sigma_endswith_list(raw, "app", ["sigma_apps"])`, []sigmaCase{
			{`{"app": "the app-one"}`, true}, {`{"app": "app-one!"}`, false},
		}},
		{"empty list matches nothing", `sigma_in_list(raw, "app", ["sigma_empty"])`, []sigmaCase{
			{`{"app": ""}`, false},
		}},
		{"keyword searches every string", `sigma_keyword(raw, ["EVIL"])`, []sigmaCase{
			{`{"a": {"b": ["x", "an evil one"]}}`, true}, {`{"evil": "key, not a value"}`, false}, {`{"a": 1}`, false},
		}},
		{"keyword_cased", `sigma_keyword_cased(raw, ["Evil"])`, []sigmaCase{
			{`{"a": "Evil"}`, true}, {`{"a": "evil"}`, false},
		}},
		{"string 'true' matches JSON true", `sigma_eq(raw, "isProxy", ["true"])`, []sigmaCase{
			{`{"isProxy": true}`, true}, {`{"isProxy": "TRUE"}`, true}, {`{"isProxy": false}`, false},
		}},
		{"number matches a numeric string", `sigma_eq(raw, "resultType", [50053])`, []sigmaCase{
			{`{"resultType": "50053"}`, true}, {`{"resultType": 50053}`, true}, {`{"resultType": "50053x"}`, false},
		}},
		{"numeric string matches a number", `sigma_eq(raw, "code", ["50053"])`, []sigmaCase{
			{`{"code": 50053}`, true}, {`{"code": 50053.5}`, false},
		}},
		{"bool matches a bool or its text", `sigma_eq(raw, "b", [false])`, []sigmaCase{
			{`{"b": false}`, true}, {`{"b": "False"}`, true}, {`{"b": 0}`, false},
		}},
		{"a path crossing an array matches any element", `sigma_eq(raw, "target.displayName", ["Okta Admin Console"])`, []sigmaCase{
			{`{"target": [{"displayName": "Ann"}, {"displayName": "okta admin console"}]}`, true},
			{`{"target": [{"displayName": "Ann"}]}`, false},
		}},
		{"an array value matches any element", `sigma_eq(raw, "reasons", ["b"])`, []sigmaCase{
			{`{"reasons": ["a", "b"]}`, true},
		}},
		{"an object value matches any value inside", `sigma_contains(raw, "requestParameters", ["Suspended"])`, []sigmaCase{
			{`{"requestParameters": {"bucketName": "b", "VersioningConfiguration": {"Status": "Suspended"}}}`, true},
			{`{"requestParameters": {"bucketName": "Suspended-not", "x": 1}}`, true},
			{`{"requestParameters": {"bucketName": "b"}}`, false},
		}},
		{"alternative paths are pooled", `sigma_eq(raw, ["resultType", "properties.status.errorCode"], [0])`, []sigmaCase{
			{`{"resultType": "0"}`, true}, {`{"properties": {"status": {"errorCode": 0}}}`, true},
			{`{"resultType": "50053", "properties": {"status": {"errorCode": 0}}}`, true}, {`{"resultType": "1"}`, false},
		}},
		{"null over alternative paths needs all absent", `sigma_null(raw, ["a", "b"])`, []sigmaCase{
			{`{}`, true}, {`{"b": "x"}`, false},
		}},
		{"filter segment", `sigma_eq(raw, "events.parameters[name=NEW_VALUE].value", ["false"])`, []sigmaCase{
			{`{"events": [{"parameters": [{"name": "OLD_VALUE", "value": "true"}, {"name": "NEW_VALUE", "value": "false"}]}]}`, true},
			{`{"events": [{"parameters": [{"name": "OLD_VALUE", "value": "false"}, {"name": "NEW_VALUE", "value": "true"}]}]}`, false},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := loadSigma(t, tc.when)
			for _, c := range tc.cases {
				if got := sigmaMatches(t, s, c.doc); got != c.match {
					t.Errorf("%s on %s = %t, want %t", tc.when, c.doc, got, c.match)
				}
			}
		})
	}
}

// TestSigmaGuardedBySource checks that an imported rule's guard keeps it
// off other sources, whatever the document says.
func TestSigmaGuardedBySource(t *testing.T) {
	t.Parallel()
	s := loadSigma(t, `sigma_eq(raw, "a", ["x"])`)
	ev := event.Event{Source: "entra", Raw: rawDoc(t, `{"a": "x"}`)}
	if res := s.Evaluate(&ev); len(res.Decisions) != 0 {
		t.Errorf("an entra event matched an okta rule: %+v", res.Decisions)
	}
}

// TestSigmaLoadErrors checks that bad literal arguments fail the load,
// naming the function.
func TestSigmaLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ when, want string }{
		{`sigma_re(raw, "a", ["(?<=x)y"])`, "sigma_re: regular expression"},
		{`sigma_cidr(raw, "a", ["10.0.0.0/33"])`, "sigma_cidr: \"10.0.0.0/33\" is not a CIDR"},
		{`sigma_gt(raw, "a", ["x"])`, "sigma_gt: x is not a number"},
		{`sigma_in_list(raw, "a", ["nope"])`, `sigma_in_list: unknown list "nope"`},
		{`sigma_eq(raw, "a", [user_email])`, "sigma_eq: the values must be literals"},
		{`sigma_eq(raw, user_email, ["x"])`, "sigma_eq: the field path must be literals"},
		{`sigma_eq(raw, "a..b", ["x"])`, `sigma_eq: field path "a..b" has an empty segment`},
		{`sigma_null(raw, [""])`, `sigma_null: field path "" has an empty segment`},
		{`sigma_fieldref(raw, "a", [1])`, "sigma_fieldref: the field path must be a string"},
	}
	for _, tc := range tests {
		src := sigmaLists + "rules:\n  - id: r\n    severity: low\n    action: none\n    when: " + strconv.Quote(tc.when) + "\n"
		_, err := Load(fstest.MapFS{"r.yaml": {Data: []byte(src)}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.when, err, tc.want)
		}
	}
}

// TestSigmaSitesPreparedAtLoad checks that every Sigma call of a loaded
// rule is prepared once at load and found again at evaluation, instead
// of being compiled per event.
func TestSigmaSitesPreparedAtLoad(t *testing.T) {
	s := loadSigma(t, `sigma_re(raw, "a", ["^x"]) || sigma_eq(raw, ["a", "b"], ["y"]) || sigma_null(raw, "c") || sigma_exists(raw, ["d", "e"]) || sigma_keyword(raw, ["k"])`)
	if s.cat.sigma == nil || len(s.cat.sigma.byList) != 4 || len(s.cat.sigma.byPath) != 1 {
		t.Fatalf("prepared sites = %+v, want 4 by list and 1 by path", s.cat.sigma)
	}
	ev := event.Event{Source: "okta", UserEmail: "a@example.com", Raw: rawDoc(t, `{"a": "y"}`)}
	// A site not found would be prepared again at every call, compiling
	// the regular expression: thousands of allocations.
	allocs := testing.AllocsPerRun(100, func() { s.Evaluate(&ev) })
	if allocs > 20 {
		t.Errorf("Evaluate allocates %.0f times per run, want the prepared sites to be used", allocs)
	}
}

// TestSigmaSiteWithoutLoad checks that a call compiled without the load
// checks (no prepared site) is prepared on the spot, and panics on a bad
// literal like the other helpers.
func TestSigmaSiteWithoutLoad(t *testing.T) {
	t.Parallel()
	b := &binding{cat: &catalog{}}
	f, _ := sigmaFuncNamed("sigma_contains")
	doc := map[string]any{"a": "xYz"}
	if !b.sigmaSite(f, []any{doc, "a", []any{"y"}}).eval(b, doc) {
		t.Error("sigma_contains without a prepared site did not match")
	}
	re, _ := sigmaFuncNamed("sigma_re")
	defer func() {
		if recover() == nil {
			t.Error("a bad regular expression did not panic")
		}
	}()
	b.sigmaSite(re, []any{doc, "a", []any{"("}})
}

// TestSigmaHelpersAvoidReflection checks that the Sigma functions, like
// the other helpers, compile to expr's calls without reflection.
func TestSigmaHelpersAvoidReflection(t *testing.T) {
	t.Parallel()
	var calls []string
	for _, f := range sigmaFuncs {
		switch f.kind {
		case sigmaExists, sigmaNull:
			calls = append(calls, f.name+`(raw, "a")`, f.name+`(raw, ["a", "b"])`)
		case sigmaKeyword:
			calls = append(calls, f.name+`(raw, ["a"])`)
		case sigmaRe:
			calls = append(calls, f.name+`(raw, "a", ["a"])`)
		case sigmaCIDR:
			calls = append(calls, f.name+`(raw, "a", ["10.0.0.0/8"])`)
		case sigmaGt, sigmaGte, sigmaLt, sigmaLte:
			calls = append(calls, f.name+`(raw, "a", [1])`)
		default:
			v := `"a"`
			if f.list {
				v = `"sigma_apps"`
			}
			calls = append(calls, f.name+`(raw, "a", [`+v+`])`, f.name+`(raw, ["a", "b"], [`+v+`])`)
		}
	}
	for _, c := range calls {
		s := loadSigma(t, c)
		for _, line := range strings.Split(s.rules[0].when.Disassemble(), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[1] == "OpCall" {
				t.Errorf("%s compiles to a reflective call", c)
			}
		}
	}
}

// TestSigmaGlobEscapes checks the parsing of Sigma string values.
func TestSigmaGlobEscapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value, text string
		match       bool
	}{
		{`a\*b`, `a*b`, true},
		{`a\*b`, `axb`, false},
		{`a\\*`, `a\xyz`, true},
		{`a\\\*`, `a\*`, true},
		{`a\\\*`, `a\x`, false},
		{`a\\\\b`, `a\\b`, true},
		{`a\b`, `a\b`, true},
		{`a\`, `a\`, true},
		{`**a`, `xa`, true},
		{`*`, ``, true},
		{`?`, ``, false},
	}
	for _, tc := range tests {
		if got := compileGlob(tc.value, false).match(tc.text); got != tc.match {
			t.Errorf("%q matches %q = %t, want %t", tc.value, tc.text, got, tc.match)
		}
	}
}

// TestMaybeFloat checks that maybeFloat refuses only strings
// strconv.ParseFloat refuses, so that numeric keeps ParseFloat's syntax.
func TestMaybeFloat(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "+", "-", "1", "-1", "+1.5", ".5", "-.5e3", "1e5", "0x1p-2", "1_000", "Inf", "-inf",
		"+Infinity", "NaN", "nan", "+NaN", "N", "i", "user.session.start", "true", "e5", "_1", "x1", " 1", "١"} {
		_, err := strconv.ParseFloat(s, 64)
		if !maybeFloat(s) && err == nil {
			t.Errorf("maybeFloat(%q) = false, but ParseFloat accepts it", s)
		}
	}
	for _, s := range []string{"user.session.start", "true", "", "-", "e5", "Okta"} {
		if maybeFloat(s) {
			t.Errorf("maybeFloat(%q) = true, want false", s)
		}
	}
}

// TestSigmaGlobFastForm checks that a pattern's fast form (an ASCII
// literal after or before a star) matches exactly the texts the generic
// matcher does, cased or not, on ASCII and other texts, and that the
// forms are recognised.
func TestSigmaGlobFastForm(t *testing.T) {
	t.Parallel()
	values := []string{"", "SignInLogs", "bench-7", `a\*b`, `x\?`, "Ab", "k", "ß", "a?c", "a*c"}
	texts := []string{"", "signinlogs", "SIGNINLOGS", "AuditSignInLogs", "SignInLogsX", "xbench-7y", "BENCH-7", "a*b", "ab",
		"x?", "xy", "Ab", "aB", "ab", "\u212a", "K", "k", "ß", "SS", "aXc", "signinlogs\u212a", "\u212abench-7", "\xffab"}
	shapes := map[globShape]bool{}
	for _, v := range values {
		for _, cased := range []bool{false, true} {
			base := compileGlob(v, cased)
			for _, g := range []sigmaGlob{base, base.surround(true, true), base.surround(false, true), base.surround(true, false)} {
				shapes[g.shape] = true
				generic := g
				generic.shape = globGeneric
				for _, text := range texts {
					if got, want := g.match(text), generic.match(text); got != want {
						t.Errorf("%q (cased %t, shape %d) on %q: fast %t, generic %t", v, cased, g.shape, text, got, want)
					}
				}
			}
		}
	}
	for _, s := range []globShape{globGeneric, globExact, globPrefix, globSuffix, globContains} {
		if !shapes[s] {
			t.Errorf("no pattern has shape %d", s)
		}
	}
}
