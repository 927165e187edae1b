package app

import (
	"fmt"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/rules"
)

func TestPermissionsNeededFollowTheRules(t *testing.T) {
	t.Parallel()
	rule := func(mode remediate.Mode, action remediate.Action) rules.RuleInfo {
		return rules.RuleInfo{ID: string(mode) + "_" + string(action), Mode: mode, Action: action, Enabled: true}
	}
	cases := []struct {
		rules []rules.RuleInfo
		want  string
	}{
		{nil, "[list users get user]"},
		{[]rules.RuleInfo{rule(remediate.ModeShadow, remediate.ActionSuspend), rule(remediate.ModeShadow, remediate.ActionReactivate)}, "[list users get user]"},
		{[]rules.RuleInfo{rule(remediate.ModeEnforce, remediate.ActionSuspend)}, "[list users get user suspend users]"},
		{[]rules.RuleInfo{rule(remediate.ModeApprove, remediate.ActionSuspend), rule(remediate.ModeApprove, remediate.ActionReactivate)}, "[list users get user suspend users reactivate users]"},
		{[]rules.RuleInfo{{ID: "off", Mode: remediate.ModeEnforce, Action: remediate.ActionSuspend}}, "[list users get user]"},
		{[]rules.RuleInfo{{ID: "timed", Mode: remediate.ModeEnforce, Action: remediate.ActionSuspend, Enabled: true, SuspendFor: []time.Duration{time.Hour}}},
			"[list users get user suspend users reactivate users]"},
	}
	for i, c := range cases {
		if got := fmt.Sprint(permissionsNeeded(c.rules)); got != c.want {
			t.Errorf("case %d: %s, want %s", i, got, c.want)
		}
	}
}
