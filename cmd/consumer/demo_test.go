package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestDemoRunsEndToEnd(t *testing.T) {
	var out, errb bytes.Buffer
	code := cmdDemo(t.Context(), []string{"--rules", "../../rules"}, streams{out: &out, err: &errb})
	if code != 0 {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	got := out.String()
	for _, want := range []string{
		"dana.reyes@example.com", "rule risky_signin_success", "now SUSPENDED",
		"cannot_suspend", "user_not_found", "decode/invalid_json",
		"10 events consumed", "3 dead-lettered", "10 offsets committed",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("demo summary lacks %q:\n%s", want, got)
		}
	}
}
