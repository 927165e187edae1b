package rules

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/event"
)

// TestSigmaKeysAgreeWithMatch checks that the value index files a
// sigma_eq value where sigma_eq finds it: for every plain value and every
// scalar document value, the value's key is hit by the document value
// (valueGroup.markLeaves) exactly when sigmaValue.match says they are
// equal; and that values with a wildcard, and cased ones, get no key.
func TestSigmaKeysAgreeWithMatch(t *testing.T) {
	t.Parallel()
	eq, _ := sigmaFuncNamed("sigma_eq")
	values := []any{
		"user.session.start", "User.Session.START", "50053", "true", "TRUE", "false", "", " 42 ", "1.5",
		"straße", "STRASSE", "ÄÖÜ", "\u212a", "k", "İ", "i", "\ufffd", `lit\*eral`, `back\\slash`,
		50053, 0, 1.5, -3, true, false,
	}
	docs := []any{
		"user.session.start", "USER.SESSION.START", "user.session.star", "50053", " 50053", "50053.0", "5.0053e4",
		"true", "True", "FALSE", "no", "", " 42 ", "42", "1.5", "1.50", "straße", "STRASSE", "äöü", "ÄÖÜ",
		"K", "k", "\u212a", "i", "İ", "\xff", "\ufffd", "lit*eral", "LIT*ERAL", `back\slash`, "-3", "-3.0", "0", "-0",
		float64(50053), float64(0), 1.5, float64(-3), 42.0, true, false, nil,
	}
	for _, v := range values {
		sv := newSigmaValue(v, eq)
		k, ok := sv.eqKey()
		if !ok {
			t.Errorf("value %#v: no key", v)
			continue
		}
		g := newValueGroup(nil)
		g.add(0, []sigmaKey{k})
		for _, d := range docs {
			var sel [1]uint64
			g.markLeaves(sel[:], d, nil)
			if hit, want := sel[0] != 0, sv.match(d); hit != want {
				t.Errorf("value %#v (key %s), document value %#v: index hit %t, sigma_eq matches %t", v, k, d, hit, want)
			}
		}
	}
	for _, v := range []string{"user.*", "a?c", "*"} {
		if sv := newSigmaValue(v, eq); func() bool { _, ok := sv.eqKey(); return ok }() {
			t.Errorf("wildcard value %q has a key", v)
		}
	}
	cased, _ := sigmaFuncNamed("sigma_eq_cased")
	if sv := newSigmaValue("Abc", cased); func() bool { _, ok := sv.eqKey(); return ok }() {
		t.Error("a cased value has a key")
	}
}

// valueRules are rules shaped like imported Sigma rules, and others, for
// the value index: numbers, booleans, mixed case, several paths, arrays,
// filters, dotted and case-insensitive keys, objects, a discriminator
// after another conjunct, after count() (not used), wildcards (not used).
// Every rule matches valueEvents at least once.
const valueRules = `lists:
  lst: [user.session.start]
rules:
  - {id: v_number, severity: low, action: none, when: 'source == "entra" && sigma_eq(raw, ["resultType", "properties.status.errorCode"], [50053, 50126]) && identity != ""'}
  - {id: v_number_text, severity: low, action: none, when: 'source == "entra" && sigma_eq(raw, "properties.status.errorCode", ["50053"])'}
  - {id: v_float, severity: low, action: none, when: 'sigma_eq(raw, "score", [1.5])'}
  - {id: v_bool, severity: low, action: none, when: 'source == "okta" && sigma_eq(raw, "securityContext.isProxy", [true])'}
  - {id: v_bool_text, severity: low, action: none, when: 'source == "okta" && sigma_eq(raw, "securityContext.isProxy", ["TRUE"])'}
  - {id: v_mixed_case, severity: low, action: none, when: 'source == "okta" && (sigma_eq(raw, "eventType", ["User.Session.START", "ÜBER.Event"]))'}
  - {id: v_key_case, severity: low, action: none, when: 'source == "okta" && sigma_eq(raw, "EVENTTYPE", ["user.session.start"])'}
  - {id: v_dotted, severity: low, action: none, when: 'sigma_eq(raw, "kibana.alert.rule.name", ["Dotted Rule"])'}
  - {id: v_array, severity: low, action: none, when: 'source == "gws" && sigma_eq(raw, "events.name", ["login_failure"])'}
  - {id: v_filter, severity: low, action: none, when: 'source == "gws" && sigma_eq(raw, "events.parameters[name=login_type].value", ["google_password"])'}
  - {id: v_two, severity: low, action: none, when: 'source == "gws" && sigma_eq(raw, "id.applicationName", ["login"]) && sigma_eq(raw, "events.name", ["login_success", "LOGIN_VERIFICATION"])'}
  - {id: v_app, severity: low, action: none, when: 'source == "gws" && sigma_eq(raw, "id.applicationName", ["LOGIN"]) && sigma_contains(raw, "events.name", ["fail"])'}
  - {id: v_app2, severity: low, action: none, when: 'source == "gws" && sigma_eq(raw, "id.applicationName", ["login"]) && sigma_startswith(raw, "events.name", ["log"])'}
  - {id: v_object, severity: low, action: none, when: 'source == "okta" && sigma_eq(raw, "client", ["lisbon"])'}
  - {id: v_empty, severity: low, action: none, when: 'source == "okta" && sigma_eq(raw, "legacyEventType", [""])'}
  - {id: v_after_contains, severity: low, action: none, when: 'source == "okta" && sigma_contains(raw, "displayMessage", ["sign"]) && sigma_eq(raw, "outcome.result", ["FAILURE"])'}
  - {id: v_fails_before, severity: low, action: none, when: '(raw?.fail == true ? raw.nosuch.deep == "x" : true) && sigma_eq(raw, "eventType", ["user.session.start"])'}
  - {id: v_count_after, severity: low, action: none, when: 'source == "okta" && sigma_eq(raw, "eventType", ["user.session.start"]) && count("after", "1h") >= 2'}
  - {id: v_any_source, severity: low, action: none, when: 'sigma_eq(raw, "eventType", ["user.session.start", 50053])'}
  - {id: n_count_before, severity: low, action: none, when: 'source == "okta" && count("before", "1h") >= 2 && sigma_eq(raw, "eventType", ["user.session.start"])'}
  - {id: n_wildcard, severity: low, action: none, when: 'source == "okta" && sigma_eq(raw, "eventType", ["user.session.*"])'}
  - {id: n_some_wildcard, severity: low, action: none, when: 'source == "okta" && sigma_eq(raw, "eventType", ["policy.update", "user.sess?on.start"])'}
  - {id: n_cased, severity: low, action: none, when: 'source == "okta" && sigma_eq_cased(raw, "eventType", ["user.session.start"])'}
  - {id: n_list, severity: low, action: none, when: 'source == "okta" && sigma_in_list(raw, "eventType", ["lst"])'}
  - {id: n_not, severity: low, action: none, when: 'source == "okta" && !sigma_eq(raw, "eventType", ["policy.update"])'}
  - {id: n_or, severity: low, action: none, when: 'source == "okta" && (sigma_eq(raw, "eventType", ["policy.update"]) || sigma_eq(raw, "outcome.result", ["FAILURE"]))'}
  - {id: n_fails_first, severity: low, action: none, when: 'raw?.fail == true && raw.nosuch.deep == "x" || sigma_eq(raw, "eventType", ["user.session.start"])'}
`

// indexedRules are the ids of valueRules that have a discriminator; the
// others (n_*) have none.
var indexedRules = []string{"v_number", "v_number_text", "v_float", "v_bool", "v_bool_text", "v_mixed_case", "v_key_case",
	"v_dotted", "v_array", "v_filter", "v_two", "v_app", "v_app2", "v_object", "v_empty", "v_after_contains", "v_fails_before", "v_count_after", "v_any_source"}

// valueEvents returns events for valueRules: each indexed rule's values
// present in some and absent from others, written in other cases and
// types than the rules' values.
func valueEvents(t testing.TB) []event.Event {
	t.Helper()
	docs := []struct{ source, raw string }{
		{"okta", `{"eventType": "USER.SESSION.START", "legacyEventType": "", "securityContext": {"isProxy": "True"}, "client": {"geographicalContext": {"city": "Lisbon"}}, "displayMessage": "User sign in", "outcome": {"result": "failure"}}`},
		{"okta", `{"eventType": "user.session.start", "securityContext": {"isProxy": true}, "outcome": {"result": "SUCCESS"}}`},
		{"okta", `{"eventType": "über.event", "securityContext": {"isProxy": false}, "client": {"city": "Porto"}, "displayMessage": "Sign-in", "outcome": {"result": "FAILURE"}}`},
		{"okta", `{"eventType": "policy.update", "fail": true, "displayMessage": "user sign out", "outcome": {"result": "SUCCESS"}}`},
		{"okta", `{"eventType": "user.session.start", "fail": true, "securityContext": {"isProxy": "false"}}`},
		{"okta", `{"eventType": ["user.session.end", "USER.session.start"], "legacyEventType": null}`},
		{"okta", `{"EventType": "user.session.start", "score": "1.50"}`},
		{"okta", `{"eventtype": "policy.update", "kibana.alert.rule.name": "dotted rule"}`},
		{"entra", `{"resultType": "50053", "properties": {"status": {"errorCode": 50053}}}`},
		{"entra", `{"resultType": 0, "properties": {"status": {"errorCode": 0}}, "score": 1.5}`},
		{"entra", `{"properties": {"status": {"errorCode": "50126"}}, "eventType": 50053}`},
		{"entra", `{"resultType": "50053.0", "fail": true, "kibana": {"alert.rule": {"name": "DOTTED RULE"}}}`},
		{"gws", `{"id": {"applicationName": "login"}, "events": [{"name": "login_failure", "parameters": [{"name": "login_type", "value": "google_password"}]}]}`},
		{"gws", `{"id": {"applicationName": "LOGIN"}, "events": [{"name": "login_verification", "parameters": [{"name": "LOGIN_TYPE", "value": "Google_Password"}]}, {"name": "login_success"}]}`},
		{"gws", `{"id": {"applicationName": "admin"}, "events": [{"name": "login_success", "parameters": [{"name": "other", "value": "google_password"}]}]}`},
		{"gws", `{"id": {"applicationName": "login"}, "events": [{"name": "logout"}], "eventType": "user.session.start"}`},
		{"nosuch", `{"eventType": "user.session.start", "score": 1.5}`},
		{"nosuch", `{"eventType": "other"}`},
	}
	out := make([]event.Event, len(docs))
	for i, d := range docs {
		out[i] = event.Event{Source: d.source, Kind: "signin", Outcome: "failure", UserEmail: "a@example.com",
			EventID: fmt.Sprintf("v%d", i), Raw: rawDoc(t, d.raw)}
	}
	return out
}

// TestValueIndexGivesTheSameDecisions evaluates valueEvents, then the
// corpus events, against the shipped rules plus valueRules, three times
// over, through the indexes and evaluating every rule: the same decisions
// in the same order (see sameDecisions). Each indexed rule both runs and
// is skipped by the value index on some events, and matches some; the
// rules without a discriminator have none.
func TestValueIndexGivesTheSameDecisions(t *testing.T) {
	t.Parallel()
	fsys := shippedFS(t, valueRules)
	events := append(valueEvents(t), corpusEvents(t)...)
	st := sameDecisions(t, fsys, events, 3)
	for _, id := range indexedRules {
		if st.ValueSkips[id] == 0 || st.ValueRuns[id] == 0 {
			t.Errorf("rule %s: run on %d events, skipped by the value index on %d; want both", id, st.ValueRuns[id], st.ValueSkips[id])
		}
	}
	s, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.rules {
		if r.info.File != "zz_extra.yaml" {
			continue
		}
		id := r.info.ID
		if st.Matched[id] == 0 {
			t.Errorf("rule %s never matched", id)
		}
		if has := s.index.tests[r] != nil; has != slices.Contains(indexedRules, id) {
			t.Errorf("rule %s: has a discriminator %t, want %t", id, has, !has)
		}
	}
	if st.SparedByValue == 0 {
		t.Error("the value index spared no runtime error: v_fails_before is not covered")
	}
	// v_two selects on id.applicationName and events.name: the index
	// picks the more selective, events.name (v_app and v_app2 select on
	// applicationName "login" too).
	for _, r := range s.rules {
		if r.info.ID == "v_two" {
			if got := s.index.tests[r].group; got != "events.name" {
				t.Errorf("v_two discriminates on %q, want events.name", got)
			}
		}
	}
}

// TestValueIndexSkipsRulesWithoutTheirValue checks that a rule whose
// discriminating sigma_eq finds none of its values in the event does not
// run: the runtime error of a conjunct before it is not raised, and a
// count() after it does not record; on an event holding one of the
// values (in another case, type or path), it runs. Decisions keep the
// rule order.
func TestValueIndexSkipsRulesWithoutTheirValue(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, `rules:
  - {id: first, severity: low, action: none, when: 'kind != ""'}
  - {id: fails, severity: low, action: none, when: 'source == "okta" && raw.nosuch.deep == "x" && sigma_eq(raw, ["eventType", "type"], ["user.session.start", 42])'}
  - {id: counts, severity: low, action: none, when: 'sigma_eq(raw, "eventType", ["User.Session.Start"]) && count("k", "1h") >= 2'}
  - {id: last, severity: low, action: none, when: 'outcome != ""'}
`)
	ids := func(r Result) (decisions, errs []string) {
		for _, d := range r.Decisions {
			decisions = append(decisions, d.RuleID)
		}
		for _, e := range r.Errors {
			errs = append(errs, e.RuleID)
		}
		return decisions, errs
	}
	ev := func(i int, raw string) *event.Event {
		return &event.Event{Source: "okta", Kind: "signin", Outcome: "success", UserEmail: "a@example.com",
			EventID: fmt.Sprint(i), Time: t0.Add(time.Duration(i) * time.Minute), Raw: rawDoc(t, raw)}
	}
	absent := ev(0, `{"eventType": "user.session.end", "type": 41}`)
	if got := evaluateEvery(s, absent); len(got.Errors) != 1 {
		t.Fatalf("every rule on the event: errors %v, want that of fails", got.Errors)
	}
	for i := 1; i <= 3; i++ {
		d, errs := ids(s.Evaluate(ev(i, `{"eventType": "user.session.end", "type": 41}`)))
		if want := []string{"first", "last"}; !slices.Equal(d, want) || errs != nil {
			t.Errorf("event %d without the values: decisions %v, errors %v; want %v and none", i, d, errs, want)
		}
	}
	// counts has recorded nothing: this is its first count.
	d, errs := ids(s.Evaluate(ev(4, `{"eventType": "USER.SESSION.START"}`)))
	if want := []string{"first", "last"}; !slices.Equal(d, want) || !slices.Equal(errs, []string{"fails"}) {
		t.Errorf("event with the value: decisions %v, errors %v; want %v and [fails]", d, errs, want)
	}
	d, errs = ids(s.Evaluate(ev(5, `{"type": "42.0"}`)))
	if want := []string{"first", "last"}; !slices.Equal(d, want) || !slices.Equal(errs, []string{"fails"}) {
		t.Errorf("event with the number: decisions %v, errors %v; want %v and [fails]", d, errs, want)
	}
	d, _ = ids(s.Evaluate(ev(6, `{"eventType": ["x", "user.session.start"]}`)))
	if want := []string{"first", "counts", "last"}; !slices.Equal(d, want) {
		t.Errorf("second event with the value: decisions %v, want %v", d, want)
	}
}

// TestExplainAgreesWithValueIndex: the explanations of valueRules agree
// with Set.Evaluate, rules the value index skips included, and say why
// such a rule does not run.
func TestExplainAgreesWithValueIndex(t *testing.T) {
	t.Parallel()
	evs := valueEvents(t)
	for i := range evs {
		evs[i].Time = t0.Add(time.Duration(i) * time.Minute)
	}
	matched := map[string]int{}
	agree(t, "value index", func() *Set { return mustLoad(t, valueRules) }, evs, matched)
	for _, id := range indexedRules {
		if matched[id] == 0 {
			t.Errorf("rule %s matched no event", id)
		}
	}
	x, err := mustLoad(t, valueRules).NewExplainer()
	if err != nil {
		t.Fatal(err)
	}
	ev := evs[3] // eventType policy.update
	for _, exp := range x.Explain(&ev) {
		if exp.RuleID != "v_fails_before" {
			continue
		}
		if want := "not run: raw.eventType holds none"; !strings.HasPrefix(exp.Skipped, want) || exp.Match {
			t.Errorf("v_fails_before on %s: skipped %q, match %t; want %q..., no match", ev.EventID, exp.Skipped, exp.Match, want)
		}
		return
	}
	t.Error("no explanation of v_fails_before")
}
