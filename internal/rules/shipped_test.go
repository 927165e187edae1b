package rules

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tripline-dev/tripline/internal/remediate"
)

const shippedDir = "../../rules"

// TestShippedRules loads the shipped rule library as the consumer does, with
// LoadChecked, the real decoder and the benign corpus, and checks what the
// load alone does not.
func TestShippedRules(t *testing.T) {
	t.Parallel()
	decode := shippedDecoder(t)
	s, err := LoadChecked(shippedDir, decode)
	if err != nil {
		t.Fatalf("load shipped rules:\n%v", err)
	}
	results := s.Test(decode)
	if len(results) == 0 {
		t.Fatal("no inline tests")
	}
	for _, r := range results {
		if !r.Pass {
			t.Errorf("%s:%d: rule %s: test %q: %s", r.File, r.Line, r.RuleID, r.Name, strings.Join(r.Problems, "; "))
		}
	}
	acting := 0
	for _, info := range s.Rules() {
		if info.Tests < 2 {
			t.Errorf("rule %s has %d inline tests, want at least one positive and one negative", info.ID, info.Tests)
		}
		if info.Action == remediate.ActionSuspend && info.Mode == remediate.ModeEnforce && info.ID != "risky_signin_success" && info.ID != "leaked_credentials" {
			t.Errorf("rule %s suspends in enforce mode; new suspending rules ship in shadow mode", info.ID)
		}
		if info.Acts() {
			acting++
			if info.MaxActions == (Limit{}) {
				t.Errorf("rule %s acts without max_actions", info.ID)
			}
		}
	}
	benign, err := s.CheckBenign(shippedDir, decode)
	if err != nil {
		t.Fatalf("benign corpus: %v", err)
	}
	if len(benign) != acting || acting == 0 {
		t.Errorf("benign results for %d rules, %d rules act", len(benign), acting)
	}
	for _, r := range benign {
		if !r.Pass || r.Samples < 10 {
			t.Errorf("benign %s: pass %t over %d samples: %s", r.RuleID, r.Pass, r.Samples, r.Problem())
		}
	}
	if s.Protected().Len() == 0 {
		t.Error("shipped protected.yaml protects nobody")
	}
	for _, c := range []struct{ id, email string }{
		{"", "BreakGlass@Example.com"}, {"", "svc-scim@example.com"}, {"", "root@admins.example.com"}, {"", "svc-backup@example.com"},
	} {
		if _, ok := s.Protected().Match(c.id, c.email); !ok {
			t.Errorf("%s is not protected", c.email)
		}
	}
	if entry, ok := s.Protected().Match("", "dana.reyes@example.com"); ok {
		t.Errorf("dana.reyes@example.com is protected by %s", entry)
	}
	if slices.Contains(s.Files(), ProtectedFile) {
		t.Errorf("%s loaded as a rule file: %v", ProtectedFile, s.Files())
	}
}

// TestShippedBenignCorpus checks that the shipped corpus covers every
// sign-in format and that no shipped rule, shadow ones included (they are
// the next to be enforced), matches or fails on it.
func TestShippedBenignCorpus(t *testing.T) {
	t.Parallel()
	events, problems := readBenign(shippedDir, shippedDecoder(t))
	if len(problems) > 0 {
		t.Fatalf("benign corpus: %v", problems)
	}
	sources := map[string]int{}
	for _, b := range events {
		sources[b.ev.Source]++
		if b.ev.Outcome != "success" || riskRank(b.ev.Risk) > riskRank("low") {
			t.Errorf("%s: event %s is not an ordinary sign-in: outcome %s, risk %s", b.file, b.ev.EventID, b.ev.Outcome, b.ev.Risk)
		}
	}
	for _, src := range []string{"okta", "entra", "gws", "1password", "ecs", "ocsf", "cloudtrail", "splunk", "elastic-alert"} {
		if sources[src] == 0 {
			t.Errorf("the benign corpus has no %s event (has %v)", src, sources)
		}
	}
	s, err := Load(os.DirFS(shippedDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range s.rules {
		cat := *s.cat
		cat.state = NewState(0)
		e := newEvaluator(&cat).(*evaluator)
		for _, b := range events {
			ev := b.ev
			res := evaluate(e, []*rule{r}, &ev, true)
			if len(res.Decisions) > 0 || len(res.Errors) > 0 {
				t.Errorf("rule %s on %s (event %s): %+v", r.info.ID, b.file, b.ev.EventID, res)
			}
		}
	}
}
