package app

import (
	"fmt"
	"testing"

	"github.com/tripline-dev/tripline/internal/rules"
)

func TestPermissionsNeededFollowTheRules(t *testing.T) {
	t.Parallel()
	rule := func(mode, action string) rules.RuleInfo {
		return rules.RuleInfo{ID: mode + "_" + action, Mode: mode, Action: action, Enabled: true}
	}
	cases := []struct {
		rules []rules.RuleInfo
		want  string
	}{
		{nil, "[list users get user]"},
		{[]rules.RuleInfo{rule(rules.ModeShadow, rules.ActionSuspend), rule(rules.ModeShadow, rules.ActionReactivate)}, "[list users get user]"},
		{[]rules.RuleInfo{rule(rules.ModeEnforce, rules.ActionSuspend)}, "[list users get user suspend users]"},
		{[]rules.RuleInfo{rule(rules.ModeApprove, rules.ActionSuspend), rule(rules.ModeApprove, rules.ActionReactivate)}, "[list users get user suspend users reactivate users]"},
		{[]rules.RuleInfo{{ID: "off", Mode: rules.ModeEnforce, Action: rules.ActionSuspend}}, "[list users get user]"},
	}
	for i, c := range cases {
		if got := fmt.Sprint(permissionsNeeded(c.rules)); got != c.want {
			t.Errorf("case %d: %s, want %s", i, got, c.want)
		}
	}
}
