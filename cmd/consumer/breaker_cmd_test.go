package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestBreakerResetNeedsWhoAndWhy: `breaker reset` without --by (or with a
// blank one), or without --reason, is a usage error (exit 2) that names
// what is missing, before any configuration is read or Kafka reached. The
// config file does not exist: a command that got past the check would
// report that instead.
func TestBreakerResetNeedsWhoAndWhy(t *testing.T) {
	t.Parallel()
	noConfig := filepath.Join(t.TempDir(), "absent.yaml")
	for _, tc := range []struct {
		name    string
		args    []string
		missing string
	}{
		{"no by", []string{"--scope", "global", "--reason", "reviewed the burst"}, "--by"},
		{"blank by", []string{"--scope", "global", "--by", "  ", "--reason", "reviewed the burst"}, "--by"},
		{"no reason", []string{"--scope", "global", "--by", "alice"}, "--reason"},
		{"blank reason", []string{"--scope", "global", "--by", "alice", "--reason", "\t"}, "--reason"},
		{"no scope", []string{"--by", "alice", "--reason", "reviewed the burst"}, "--scope"},
	} {
		args := append([]string{"reset"}, tc.args...)
		code, out, errs := runCmd(t, cmdBreaker, "", append(args, "--config", noConfig)...)
		if code != 2 || out != "" {
			t.Errorf("%s: exit %d, stdout %q; want exit 2 and nothing on stdout", tc.name, code, out)
		}
		if !strings.HasPrefix(errs, "consumer breaker reset: missing "+tc.missing+":") || strings.Contains(errs, "configuration problems") {
			t.Errorf("%s: stderr does not name %s as missing before reading the configuration:\n%s", tc.name, tc.missing, errs)
		}
	}
	// With who and why the command goes on, to the configuration.
	code, _, errs := runCmd(t, cmdBreaker, "", "reset", "--scope", "global", "--by", "alice", "--reason", "reviewed the burst", "--config", noConfig)
	if code != 2 || strings.Contains(errs, "missing") || !strings.Contains(errs, "configuration problems") {
		t.Errorf("reset with who and why: exit %d, stderr:\n%s\nwant the configuration read (and refused)", code, errs)
	}
}
