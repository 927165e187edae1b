package rules

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tripline-dev/tripline/internal/event"
)

// evaluateEvery is Set.Evaluate without the source index: every enabled
// rule runs, with the data entries every rule reads, as before the index.
// It is the reference the index is compared with.
func evaluateEvery(s *Set, ev *event.Event) Result {
	e := s.pool.Get().(*evaluator)
	defer s.pool.Put(e)
	return evaluate(e, s.rules, ev, false)
}

// TestWhenSources derives the sources of `when` expressions of every shape
// that matters: nil is any source, an empty list none.
func TestWhenSources(t *testing.T) {
	t.Parallel()
	cases := []struct {
		when string
		want []string
	}{
		{`source == "okta"`, []string{"okta"}},
		{`"okta" == source`, []string{"okta"}},
		{`source == "okta" && outcome == "success"`, []string{"okta"}},
		{`source == "okta" and outcome == "success"`, []string{"okta"}},
		{`outcome == "success" && source == "okta"`, []string{"okta"}},
		{`outcome == "success" && "okta" == source && kind == "signin"`, []string{"okta"}},
		{`(outcome == "success" && (source == "okta" && kind == "signin")) && risk == "high"`, []string{"okta"}},
		{`(source == "okta") && (outcome == "failure" || outcome == "blocked")`, []string{"okta"}},
		{`source in ["okta", "entra"] && outcome == "failure"`, []string{"entra", "okta"}},
		{`source in ["okta"]`, []string{"okta"}},
		{`source in ["entra", "okta", "entra"]`, []string{"entra", "okta"}},
		{`source in ["okta", "entra"] && source == "okta"`, []string{"okta"}},
		{`source in ["okta", "gws", "splunk"] && kind != "" && source in ["gws", "splunk", "panther"]`, []string{"gws", "splunk"}},
		{`source == "ok" + "ta" && kind == "signin"`, []string{"okta"}},
		{`true && source == "guardduty"`, []string{"guardduty"}},
		{`source == "nosuch" && kind == "signin"`, []string{"nosuch"}},
		{`source == "okta" && source == "entra"`, []string{}},
		{`source in [] && kind == "signin"`, []string{}},
		// count() before the source test: the rule must keep recording
		// events of every source.
		{`count("k", "1h") >= 2 && source == "okta"`, nil},
		{`outcome == "failure" && count("k", "1h") >= 2 && source == "okta"`, nil},
		{`(source == "okta" || count("k", "1h") >= 2) && source == "entra"`, nil},
		{`source == "okta" && count("k", "1h") >= 2`, []string{"okta"}},
		{`source == "okta" && count("k", "1h") >= 2 && source == "entra"`, []string{"okta"}},
		// Shapes that say nothing about the source.
		{`outcome == "success"`, nil},
		{`!(source == "okta")`, nil},
		{`not (source == "okta") && kind == "signin"`, nil},
		{`source != "okta" && kind == "signin"`, nil},
		{`source not in ["okta", "entra"] && kind == "signin"`, nil},
		{`source == "okta" || source == "entra"`, nil},
		{`source == "okta" or kind == "alert"`, nil},
		{`(source == "okta" || source == "entra") && kind == "signin"`, nil},
		{`source == "okta" && kind == "signin" || kind == "alert"`, nil},
		{`source == user_name && kind == "signin"`, nil},
		{`source == (raw?.vendor ?? "") && kind == "signin"`, nil},
		{`lower(source) == "okta"`, nil},
		{`source in list("sources") && kind == "signin"`, nil},
		{`has_prefix(source, "okta")`, nil},
		{`$env.source == "okta"`, nil},
		{`let s = "okta"; source == s`, nil},
		{`source == "okta" ? kind == "signin" : false`, nil},
		{`source == "okta" && false`, nil}, // folded to false
	}
	var b strings.Builder
	b.WriteString("lists:\n  sources: [okta]\nrules:\n")
	for i, c := range cases {
		fmt.Fprintf(&b, "  - {id: r%d, severity: low, action: none, when: %q}\n", i, c.when)
	}
	s := mustLoad(t, b.String())
	infos := s.Rules()
	for i, c := range cases {
		if d := cmp.Diff(c.want, infos[i].Sources); d != "" {
			t.Errorf("%s: sources (-want +got):\n%s", c.when, d)
		}
	}
}

// shippedFS returns the shipped rule directory (rule files, lists,
// protected identities and test fixtures) with extra as one more rule file.
func shippedFS(tb testing.TB, extra string) fstest.MapFS {
	tb.Helper()
	fsys := fstest.MapFS{"zz_extra.yaml": {Data: []byte(extra)}}
	root := os.DirFS(shippedDir)
	err := fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := fs.ReadFile(root, name)
		fsys[name] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return fsys
}

// corpusEvents decodes the samples of internal/event/testdata, the shipped
// rules' fixtures and the benign corpus, and returns their events
// interleaved by source (one of each source in turn), so that consecutive
// events seldom share a source, followed by events of a source no format
// produces and of an empty source.
func corpusEvents(tb testing.TB) []event.Event {
	tb.Helper()
	decode := shippedDecoder(tb)
	var files []string
	for _, pat := range []string{"../event/testdata/*.json", shippedDir + "/testdata/*.json", shippedDir + "/" + BenignDir + "/*.json"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			tb.Fatal(err)
		}
		files = append(files, m...)
	}
	bySource := map[string][]event.Event{}
	var sources []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		evs, _ := decode(raw) // a batch with a bad item still yields the others
		for _, ev := range evs {
			if _, ok := bySource[ev.Source]; !ok {
				sources = append(sources, ev.Source)
			}
			bySource[ev.Source] = append(bySource[ev.Source], ev)
		}
	}
	var out []event.Event
	for i := 0; ; i++ {
		n := len(out)
		for _, src := range sources {
			if i < len(bySource[src]) {
				out = append(out, bySource[src][i])
			}
		}
		if len(out) == n {
			break
		}
	}
	if len(sources) < 10 || len(out) < 40 {
		tb.Fatalf("corpus: %d events of %d sources (%v)", len(out), len(sources), sources)
	}
	for _, src := range []string{"nosuch", ""} {
		ev := bySource["okta"][0]
		ev.Source, ev.EventID = src, src+":"+ev.EventID
		out = append(out, ev)
	}
	return out
}

// indexRules are rules written for each source, in the shapes the index
// must get right, mixed with rules for any source. Their user expressions
// read data entries the other rules of their source do not, so that a
// source whose entries are filled from the wrong rules shows in the
// decisions.
const indexRules = `rules:
  - id: okta_signin
    severity: low
    action: none
    when: source == "okta" && kind == "signin"
    user: user_id + "/" + city + "/" + user_name
  - id: any_failure
    severity: low
    action: none
    when: outcome in ["failure", "blocked"]
  - id: okta_failure_reversed
    severity: low
    action: none
    when: '"okta" == source && outcome == "failure"'
  - id: entra_or_ocsf_risky
    severity: low
    action: none
    when: source in ["entra", "ocsf"] && risk_at_least("medium")
    user: user_email + "|" + country
  - id: gws_nested
    severity: low
    action: none
    when: (kind != "" && (source == "gws" && outcome != "")) && user_email != ""
    user: op_user_id + user_id
  - id: onepassword_and
    severity: low
    action: none
    when: source == "1password" and outcome in ["failure", "blocked", "success"]
    user: src_ip
  - id: cloudtrail_last
    severity: low
    action: none
    when: 'any(reasons, # != "") && source == "cloudtrail"'
    user: user_name + user_id
  - id: ecs_after_error
    severity: low
    action: none
    when: raw.nosuch.deep == "x" && source == "ecs"
  - id: okta_count_first
    severity: low
    action: none
    when: count("before_source", "24h") >= 2 && source == "okta"
  - id: entra_count_after
    severity: low
    action: none
    when: source == "entra" && count("after_source", "24h") >= 2
  - id: gws_shared_count
    severity: low
    action: none
    when: source == "gws" && count("shared", "24h") >= 1
  - id: any_shared_count
    severity: low
    action: none
    when: count("shared", "24h") >= 3
  - id: any_not_okta_alert
    severity: low
    action: none
    when: '!(source == "okta") && kind == "alert"'
  - id: any_not_in
    severity: low
    action: none
    when: source not in ["okta", "entra"] && outcome == "success"
  - id: any_or_top
    severity: low
    action: none
    when: source == "okta" || source == "splunk"
  - id: any_or_inside
    severity: low
    action: none
    when: (source == "okta" || source == "panther") && risk_at_least("high")
  - id: any_non_literal
    severity: low
    action: none
    when: source == lower(user_name) || source == "guardduty"
  - id: none_contradiction
    severity: low
    action: none
    when: source == "okta" && source == "entra"
  - id: nosuch_only
    severity: low
    action: none
    when: source == "nosuch" && kind != ""
  - id: splunk_gws_intersection
    severity: low
    action: none
    when: source in ["okta", "gws", "splunk"] && outcome != "" && source in ["gws", "splunk", "panther"]
  - id: okta_disabled
    severity: low
    action: none
    enabled: false
    when: source == "okta"
  - id: empty_source
    severity: low
    action: none
    when: source == "" && kind != ""
  - id: guardduty_folded
    severity: low
    action: none
    when: true && source == "guardduty"
    user: event_id
  - id: any_ternary
    severity: low
    action: none
    when: 'source == "elastic-alert" ? risk_at_least("high") : false'
    user: '"ternary:" + risk'
`

// TestIndexGivesTheSameDecisions evaluates the sample events, interleaved by
// source, three times over against the shipped rules plus indexRules, with
// the indexes and evaluating every rule (see sameDecisions).
func TestIndexGivesTheSameDecisions(t *testing.T) {
	t.Parallel()
	st := sameDecisions(t, shippedFS(t, indexRules), corpusEvents(t), 3)
	matched := st.Matched
	// The comparison means something only if the rules written for each
	// source match, and if the index did skip rules that fail.
	for _, id := range []string{"okta_signin", "any_failure", "okta_failure_reversed", "entra_or_ocsf_risky", "gws_nested",
		"onepassword_and", "cloudtrail_last", "okta_count_first", "entra_count_after", "gws_shared_count", "any_shared_count",
		"any_not_okta_alert", "any_not_in", "any_or_top", "any_or_inside", "any_non_literal", "nosuch_only",
		"splunk_gws_intersection", "empty_source", "guardduty_folded", "any_ternary"} {
		if matched[id] == 0 {
			t.Errorf("rule %s never matched", id)
		}
	}
	for _, id := range []string{"none_contradiction", "okta_disabled"} {
		if matched[id] != 0 {
			t.Errorf("rule %s matched %d times", id, matched[id])
		}
	}
	if st.ShippedMatches == 0 {
		t.Error("no shipped rule matched")
	}
	if st.SparedBySource == 0 {
		t.Error("the index skipped no failing rule of another source")
	}
}

// indexStats is what sameDecisions saw.
type indexStats struct {
	// Matched counts the decisions of each rule.
	Matched map[string]int
	// ShippedMatches counts the decisions of rules of shippedDir's files.
	ShippedMatches int
	// SparedBySource and SparedByValue count the runtime errors of rules
	// the source index and the value index did not run.
	SparedBySource, SparedByValue int
	// ValueSkips counts, by rule, the events of its sources the value
	// index did not run it on; ValueRuns, those it ran it on.
	ValueSkips, ValueRuns map[string]int
}

// sameDecisions loads fsys twice, each Set with its own State, and
// evaluates events in order, rounds times over (a minute apart, with new
// event ids in each round, so that count() thresholds are crossed), once
// through Set.Evaluate (the source and value indexes) and once evaluating
// every rule (evaluateEvery). It wants the same decisions in the same
// order, and the same errors but for those of rules the indexes did not
// run on the event: restricted to other sources, or whose discriminating
// sigma_eq finds none of its values (sourceIndex.valueSkip).
func sameDecisions(t *testing.T, fsys fs.FS, events []event.Event, rounds int) indexStats {
	t.Helper()
	indexed, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	every, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*rule{}
	for _, r := range indexed.rules {
		byID[r.info.ID] = r
	}
	st := indexStats{Matched: map[string]int{}, ValueSkips: map[string]int{}, ValueRuns: map[string]int{}}
	var cache *pathCache
	for round := range rounds {
		for i, ev := range events {
			ev.Time = t0.Add(time.Duration(round*len(events)+i) * time.Minute)
			ev.EventID = fmt.Sprintf("%s#%d", ev.EventID, round)
			got, want := indexed.Evaluate(&ev), evaluateEvery(every, &ev)
			if d := cmp.Diff(want.Decisions, got.Decisions); d != "" {
				t.Fatalf("round %d, %s event %s: decisions (-every rule +indexed):\n%s", round, ev.Source, ev.EventID, d)
			}
			for _, d := range got.Decisions {
				st.Matched[d.RuleID]++
				if !strings.HasPrefix(byID[d.RuleID].info.File, "zz_") {
					st.ShippedMatches++
				}
			}
			cache = cache.bind(&ev)
			valueSkip := map[string]bool{}
			for _, r := range indexed.rules {
				if !r.info.Enabled || indexed.index.tests[r] == nil || !runsFor(r, ev.Source) {
					continue
				}
				if indexed.index.valueSkip(r, &ev, cache) != "" {
					valueSkip[r.info.ID] = true
					st.ValueSkips[r.info.ID]++
				} else {
					st.ValueRuns[r.info.ID]++
				}
			}
			// got.Errors is want.Errors less errors of rules the
			// indexes did not run.
			rest := got.Errors
			for _, w := range want.Errors {
				if len(rest) > 0 && rest[0].RuleID == w.RuleID && rest[0].Error() == w.Error() {
					rest = rest[1:]
					continue
				}
				switch {
				case !runsFor(byID[w.RuleID], ev.Source):
					st.SparedBySource++
				case valueSkip[w.RuleID]:
					st.SparedByValue++
				default:
					t.Errorf("round %d, %s event %s: error of rule %s missing: %v", round, ev.Source, ev.EventID, w.RuleID, w)
				}
			}
			if len(rest) > 0 {
				t.Errorf("round %d, %s event %s: errors not raised when every rule runs: %v", round, ev.Source, ev.EventID, rest)
			}
		}
	}
	cache.bind(nil)
	return st
}

// TestEvaluateSkipsRulesOfOtherSources checks that a rule restricted to
// other sources does not run (its runtime error does not show), that a rule
// whose count() comes before its source test runs and records on every
// source, and that decisions keep the rule order.
func TestEvaluateSkipsRulesOfOtherSources(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, `rules:
  - {id: any_first, severity: low, action: none, when: 'kind != ""'}
  - {id: okta_fails, severity: low, action: none, when: 'raw.nosuch.deep == "x" && source == "okta"'}
  - {id: okta_only, severity: low, action: none, when: 'source == "okta" && kind != ""'}
  - {id: any_second, severity: low, action: none, when: 'outcome != "nothing"'}
  - {id: never_runs, severity: low, action: none, when: 'raw.nosuch.deep == "x" && source == "nosuch"'}
  - {id: okta_counts_all, severity: low, action: none, when: 'count("pre", "1h") >= 2 && source == "okta"'}
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
	entra := &event.Event{Source: "entra", Kind: "signin", Outcome: "success", UserEmail: "a@example.com", EventID: "e1", Time: t0}
	if got := evaluateEvery(s, entra); len(got.Errors) != 2 {
		t.Fatalf("every rule on the entra event: errors %v, want those of okta_fails and never_runs", got.Errors)
	}
	d, errs := ids(s.Evaluate(entra))
	if want := []string{"any_first", "any_second"}; !slices.Equal(d, want) || errs != nil {
		t.Errorf("entra event: decisions %v, errors %v; want %v and none", d, errs, want)
	}
	okta := &event.Event{Source: "okta", Kind: "signin", Outcome: "success", UserEmail: "a@example.com", EventID: "o1", Time: t0.Add(time.Minute)}
	d, errs = ids(s.Evaluate(okta))
	// okta_counts_all counted the entra event: this is the second.
	if want := []string{"any_first", "okta_only", "any_second", "okta_counts_all"}; !slices.Equal(d, want) || !slices.Equal(errs, []string{"okta_fails"}) {
		t.Errorf("okta event: decisions %v, errors %v; want %v and [okta_fails]", d, errs, want)
	}
}

// TestIndexFillsTheEntriesOfItsRules checks that an event fills the data
// entries the rules of its source read, not those read only by rules of
// other sources.
func TestIndexFillsTheEntriesOfItsRules(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, `rules:
  - {id: any, severity: low, action: none, when: outcome == "failure"}
  - {id: okta, severity: low, action: none, when: source == "okta" && city == "Lisbon", user: user_id}
  - {id: entra, severity: low, action: none, when: source == "entra" && country == "PT"}
`)
	cases := []struct {
		source    string
		want, not envFields
	}{
		{"okta", fOutcome | fSource | fCity | fUserID, fCountry},
		{"entra", fOutcome | fSource | fCountry, fCity | fUserID},
		{"gws", fOutcome, fSource | fCity | fUserID | fCountry},
	}
	for _, c := range cases {
		got := s.index.lookup(c.source).fields
		if got&c.want != c.want || got&c.not != 0 {
			t.Errorf("%s: fields %b, want %b set and %b clear", c.source, got, c.want, c.not)
		}
	}
}
