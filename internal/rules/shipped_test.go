package rules

import (
	"os"
	"strings"
	"testing"
)

func TestShippedRules(t *testing.T) {
	t.Parallel()
	s, err := Load(os.DirFS("../../rules"))
	if err != nil {
		t.Fatalf("load shipped rules:\n%v", err)
	}
	results := s.Test(shippedDecoder(t))
	if len(results) == 0 {
		t.Fatal("no inline tests")
	}
	for _, r := range results {
		if !r.Pass {
			t.Errorf("%s:%d: rule %s: test %q: %s", r.File, r.Line, r.RuleID, r.Name, strings.Join(r.Problems, "; "))
		}
	}
	for _, info := range s.Rules() {
		if info.Tests < 2 {
			t.Errorf("rule %s has %d inline tests, want at least one positive and one negative", info.ID, info.Tests)
		}
		if info.Action == ActionSuspend && info.Mode == ModeEnforce && info.ID != "risky_signin_success" && info.ID != "leaked_credentials" {
			t.Errorf("rule %s suspends in enforce mode; new suspending rules ship in shadow mode", info.ID)
		}
	}
}
