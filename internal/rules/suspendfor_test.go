package rules

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// timedRule is a shadow rule with suspend_for written as spec (YAML).
func timedRule(action, spec string) string {
	return fmt.Sprintf("rules:\n  - id: timed\n    severity: low\n    mode: shadow\n    action: %s\n    when: outcome == \"success\"\n    suspend_for: %s\n", action, spec)
}

func TestSuspendForParses(t *testing.T) {
	t.Parallel()
	cases := map[string][]time.Duration{
		`2h`:                   {2 * time.Hour},
		`[1h, 24h, permanent]`: {time.Hour, 24 * time.Hour, 0},
		`["1m", "720h"]`:       {time.Minute, 720 * time.Hour},
		`[permanent]`:          {0},
	}
	for spec, want := range cases {
		s := mustLoad(t, timedRule("suspend", spec))
		if got := s.Rules()[0].SuspendFor; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("suspend_for: %s = %v, want %v", spec, got, want)
		}
	}
}

func TestSuspendForRefused(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		timedRule("suspend", `30s`):             "between 1m and 720h",
		timedRule("suspend", `31d`):             "between 1m and 720h",
		timedRule("suspend", `721h`):            "between 1m and 720h",
		timedRule("suspend", `[permanent, 1h]`): "only the last entry may be permanent",
		timedRule("suspend", `{a: 1}`):          "expected a duration or a list of durations",
		timedRule("suspend", `[]`):              "expected a duration or a list of durations",
		timedRule("reactivate", `1h`):           "only for action: suspend",
	}
	for src, want := range cases {
		_, err := Load(fstest.MapFS{"r.yaml": {Data: []byte(src)}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", src, err, want)
		}
	}
}
