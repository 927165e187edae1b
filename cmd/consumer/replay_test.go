package main

import (
	"encoding/json"
	"strings"
	"testing"
)

const replayOkta = `{"uuid":"u1","published":"2025-10-14T08:41:17.512Z","eventType":"user.session.start","version":"0","severity":"INFO","actor":{"id":"00u1","type":"User","alternateId":"dana.reyes@example.com"},"client":{"ipAddress":"203.0.113.77","geographicalContext":{"country":"Romania"}},"outcome":{"result":"SUCCESS"},"securityContext":{"isProxy":true},"debugContext":{"debugData":{"risk":"{level=HIGH}"}}}`

func TestReplay(t *testing.T) {
	t.Parallel()
	in := replayOkta + "\n\nnot json\n"
	code, out, errs := runCmd(t, cmdReplay, in, "--rules", "../../rules", "-")
	if code != 1 {
		t.Errorf("exit %d, want 1 (a line failed)", code)
	}
	if !strings.Contains(errs, "line 3: decode") || !strings.Contains(errs, "1 decode errors") {
		t.Errorf("stderr lacks the decode failure or summary:\n%s", errs)
	}
	var got []replayDecision
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var d replayDecision
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("bad output line %q: %v", l, err)
		}
		got = append(got, d)
	}
	found := false
	for _, d := range got {
		if d.RuleID == "risky_signin_success" {
			found = true
			if d.Line != 1 || d.User != "dana.reyes@example.com" || d.Mode != "enforce" || d.Action != "suspend" || d.EventID == "" {
				t.Errorf("decision = %+v", d)
			}
		}
	}
	if !found {
		t.Errorf("no risky_signin_success decision in:\n%s", out)
	}
	if strings.Contains(out, "suppressed") {
		t.Errorf("replay reports suppression, which only the decision service applies:\n%s", out)
	}
}

func TestReplayUsage(t *testing.T) {
	t.Parallel()
	if code, _, _ := runCmd(t, cmdReplay, ""); code != 2 {
		t.Errorf("no file: exit %d, want 2", code)
	}
	if code, out, _ := runCmd(t, cmdReplay, "", "--help"); code != 0 || !strings.Contains(out, "--rules DIR") || !strings.Contains(out, "are applied only when\nacting") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
	if code, _, errs := runCmd(t, cmdReplay, "", "--rules", "../../rules", "--format", "nope", "-"); code != 2 {
		t.Errorf("bad format: exit %d\n%s", code, errs)
	}
}
