package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/event/eventgen"
	"github.com/tripline-dev/tripline/internal/pipeline"
)

const replayOkta = `{"uuid":"u1","published":"2025-10-14T08:41:17.512Z","eventType":"user.session.start","version":"0","severity":"INFO","actor":{"id":"00u1","type":"User","alternateId":"dana.reyes@example.com"},"client":{"ipAddress":"203.0.113.77","geographicalContext":{"country":"Romania"}},"outcome":{"result":"SUCCESS"},"securityContext":{"isProxy":true},"debugContext":{"debugData":{"risk":"{level=HIGH}"}}}`

// decisionLine is one decision line of `consumer replay`.
type decisionLine struct {
	Line     int    `json:"line"`
	EventID  string `json:"event_id"`
	RuleID   string `json:"rule_id"`
	Mode     string `json:"mode"`
	Action   string `json:"action"`
	User     string `json:"user"`
	Reason   string `json:"reason"`
	Severity string `json:"severity"`
}

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
	var got []decisionLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var d decisionLine
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

// writeGenerated writes n generated lines (package eventgen) to a file in
// a temporary directory and returns its path.
func writeGenerated(t testing.TB, n int, cfg eventgen.Config) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "signins.jsonl")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := eventgen.WriteLines(f, n, cfg); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestCmdReplayGenerated replays 5,000 generated mixed-format lines of
// about 1 KiB (every format, numbers as strings, risk scores out of range,
// unknown risk words, times in several layouts) with the shipped rules:
// none fails to decode, and the decisions come out in input order.
func TestCmdReplayGenerated(t *testing.T) {
	t.Parallel()
	const n = 5000
	file := writeGenerated(t, n, eventgen.Config{Seed: 11})
	code, out, errs := runCmd(t, cmdReplay, "", "--rules", "../../rules", file)
	if code != 0 {
		t.Fatalf("exit %d:\n%.3000s", code, errs)
	}
	want := fmt.Sprintf("replay: %d lines, %d events, ", n, n)
	if !strings.HasPrefix(errs, want) || !strings.Contains(errs, " 0 decode errors, 0 rule errors") {
		t.Fatalf("summary %q, want %q... with no errors", firstLine(errs), want)
	}
	last, decisions := 0, 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var d decisionLine
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("bad output line %q: %v", l, err)
		}
		if d.Line < last || d.Line > n {
			t.Fatalf("decision of line %d after line %d: not in input order", d.Line, last)
		}
		last = d.Line
		decisions++
	}
	if decisions < n/10 {
		t.Errorf("%d decisions for %d risky-looking lines: the rules saw little", decisions, n)
	}
	// --workers reaches the engine, whose output does not depend on it.
	if code3, out3, errs3 := runCmd(t, cmdReplay, "", "--rules", "../../rules", "--workers", "3", file); code3 != code || out3 != out || errs3 != errs {
		t.Errorf("--workers 3: exit %d, %d bytes out, %d bytes err; default: exit %d, %d, %d", code3, len(out3), len(errs3), code, len(out), len(errs))
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// TestCmdReplayReadErrorAndInterrupt: a line past the size limit stops
// the replay with a read error after the lines before it; a cancelled
// context stops it as interrupted; both exit 1 (the engine's side is
// TestReplayReadErrorAndInterrupt in internal/rules).
func TestCmdReplayReadErrorAndInterrupt(t *testing.T) {
	t.Parallel()
	in := replayOkta + "\n" + strings.Repeat("x", 2<<20) + "\n" + replayOkta + "\n"
	code, out, errs := runCmd(t, cmdReplay, in, "--rules", "../../rules", "-")
	if code != 1 || !strings.Contains(errs, "line 2: read:") || !strings.Contains(out, `"line":1`) || strings.Contains(out, `"line":3`) {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, out, errs)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var o, e bytes.Buffer
	code = cmdReplay(ctx, []string{"--rules", "../../rules", "-"}, streams{strings.NewReader(in), &o, &e})
	if code != 1 || !strings.Contains(e.String(), "interrupted") {
		t.Errorf("cancelled: exit %d, stderr %s", code, e.String())
	}
	if code, _, errs := runCmd(t, cmdReplay, "", "--rules", "../../rules", "--workers", "-1", "-"); code != 2 {
		t.Errorf("--workers -1: exit %d\n%s", code, errs)
	}
}

// TestCmdReplayClockSkewConfig: event.max_clock_skew from --config (or
// the environment) reaches the engine: with the default (5m) a line dated
// a year ahead is reported as the consumer reports it, decode
// (pipeline.ReasonFutureTime), and the exit status is 1; with 0s it is
// evaluated. The engine's side is TestReplayFutureLine in internal/rules.
func TestCmdReplayClockSkewConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := strings.Replace(replayOkta, "2025-10-14T08:41:17.512Z", time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339), 1) + "\n"
	skewOff := filepath.Join(dir, "skewoff.yaml")
	if err := os.WriteFile(skewOff, []byte("event:\n  max_clock_skew: 0s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCmd(t, cmdReplay, in, "--rules", "../../rules", "--config", "", "-")
	if want := "line 1: decode (" + pipeline.ReasonFutureTime + "): event okta:u1: "; code != 1 || out != "" || !strings.HasPrefix(errs, want) {
		t.Errorf("default skew: exit %d, stdout %q, stderr\n%s\nwant it to start with %q", code, out, errs, want)
	}
	code, out, errs = runCmd(t, cmdReplay, in, "--rules", "../../rules", "--config", skewOff, "-")
	if code != 0 || !strings.Contains(out, `"line":1`) || strings.Contains(errs, pipeline.ReasonFutureTime) {
		t.Errorf("max_clock_skew 0s: exit %d, stdout %s, stderr\n%s", code, out, errs)
	}
}
