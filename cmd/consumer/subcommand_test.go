package main

import (
	"context"
	"strings"
	"testing"
)

// TestSubcommandUsage: every command with subcommands prints its usage on
// stdout for help (exit 0), and on stderr for a missing subcommand (exit 2)
// or an unknown one (exit 2, naming it).
func TestSubcommandUsage(t *testing.T) {
	for name, cmd := range map[string]func(context.Context, []string, streams) int{
		"rules": cmdRules, "dlq": cmdDLQ, "breaker": cmdBreaker, "approvals": cmdApprovals,
	} {
		if code, out, _ := runCmd(t, cmd, "", "--help"); code != 0 || !strings.Contains(out, "consumer "+name) {
			t.Errorf("%s --help: exit %d, stdout %q", name, code, out)
		}
		if code, out, errs := runCmd(t, cmd, ""); code != 2 || out != "" || !strings.Contains(errs, "consumer "+name) {
			t.Errorf("%s without a subcommand: exit %d, stderr %q", name, code, errs)
		}
		if code, _, errs := runCmd(t, cmd, "", "frob"); code != 2 || !strings.Contains(errs, `consumer `+name+`: unknown subcommand "frob"`) {
			t.Errorf("%s frob: exit %d, stderr %q", name, code, errs)
		}
	}
}
