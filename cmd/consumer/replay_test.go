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
		var d replayDecision
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
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// burstRules count every sign-in of a user: which events reach the
// threshold depends on the order in which a user's events are evaluated.
const burstRules = `
rules:
  - id: burst
    description: the fifth event of a user within two minutes
    severity: low
    mode: shadow
    action: none
    when: count("any", "2m") >= 5
    reason: "{{ .user_email }} {{ .event_id }}"
  - id: failure_burst
    description: the third failure of a user within five minutes
    severity: low
    mode: shadow
    action: none
    when: outcome != "success" && count("fail", "5m") >= 3
    reason: "{{ .user_email }}"
`

// TestReplayParallelMatchesSequential replays a file dense in events per
// user, whose count() decisions depend on the order each user's events
// are evaluated in, with one worker and with several, and wants the same
// bytes on stdout and stderr. It also covers lines that fail to decode
// (not JSON, or dated too far ahead) and batch lines with several users.
func TestReplayParallelMatchesSequential(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "burst.yaml"), []byte(burstRules), 0o644); err != nil {
		t.Fatal(err)
	}
	var in strings.Builder
	// Twelve users, an event every two seconds: about five events of a
	// user in two minutes, so whether an event is the fifth depends on
	// what was counted before it.
	g := eventgen.New(eventgen.Config{Seed: 5, Users: 12, Step: 2 * time.Second, Jitter: 10 * time.Second,
		Now: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)})
	for i := range 6000 {
		switch {
		case i%997 == 0:
			in.WriteString("not json\n")
		case i%733 == 0:
			// Dated a year ahead of the clock: not evaluated (future_time).
			in.WriteString(`{"records":[{"category":"SignInLogs","time":"` + time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339) +
				`","properties":{"id":"f` + fmt.Sprint(i) + `","userPrincipalName":"dana.reyes0@example.com"}}]}` + "\n")
		case i%501 == 0:
			// A batch of two users, one of them shared with other lines.
			in.WriteString(`{"records":[{"category":"SignInLogs","time":"2026-02-28T10:00:00Z","properties":{"id":"b` + fmt.Sprint(i) +
				`","userPrincipalName":"dana.reyes0@example.com"}},{"category":"SignInLogs","time":"2026-02-28T10:00:01Z","properties":{"id":"c` +
				fmt.Sprint(i) + `","userPrincipalName":"li.reyes1@example.com"}}]}` + "\n")
		default:
			in.Write(g.Append(nil))
			in.WriteByte('\n')
		}
	}
	file := filepath.Join(t.TempDir(), "dense.jsonl")
	if err := os.WriteFile(file, []byte(in.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code1, out1, errs1 := runCmd(t, cmdReplay, "", "--rules", dir, "--workers", "1", file)
	if code1 != 1 || !strings.Contains(errs1, "decode errors") || !strings.Contains(errs1, "(future_time)") {
		t.Fatalf("one worker: exit %d (want 1: some lines are not JSON)\n%.2000s", code1, errs1)
	}
	burst, fail := strings.Count(out1, `"rule_id":"burst"`), strings.Count(out1, `"rule_id":"failure_burst"`)
	if burst < 500 || burst > 5500 || fail < 200 {
		t.Fatalf("%d burst and %d failure_burst decisions: the test needs many count() decisions, not all", burst, fail)
	}
	for _, workers := range []string{"2", "3", "8"} {
		code, out, errs := runCmd(t, cmdReplay, "", "--rules", dir, "--workers", workers, file)
		if code != code1 || out != out1 || errs != errs1 {
			t.Errorf("%s workers: exit %d, %d bytes out, %d bytes err; one worker: exit %d, %d, %d; first difference at stdout byte %d",
				workers, code, len(out), len(errs), code1, len(out1), len(errs1), firstDiff(out, out1))
		}
	}
}

func firstDiff(a, b string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestReplayDecisionJSON checks the hand-written decision encoder against
// encoding/json (without HTML escaping), on awkward strings.
func TestReplayDecisionJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "<tag> & amp", "tab\tnl\ncr\r\x00\x1f\x7f",
		"caf\u00e9 \u2028 \u2029 \U0001F600", "bad \xff utf8 \xc3"} {
		d := replayDecision{Line: 7, EventID: s, RuleID: "r", Mode: s, Action: "suspend", User: s, Reason: s, Severity: "high"}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(d); err != nil {
			t.Fatal(err)
		}
		if got := appendDecision(nil, d); string(got) != want.String() {
			t.Errorf("%q:\n got %s\nwant %s", s, got, want.String())
		}
	}
}

// TestReplayReadErrorAndInterrupt: a line past the size limit stops the
// replay with a read error after the lines before it; a cancelled context
// stops it as interrupted.
func TestReplayReadErrorAndInterrupt(t *testing.T) {
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

// futureRules fire on a user's second sign-in within ten minutes: a
// future-dated event, evaluated, takes a place in the user's counter that
// no real event can take back, so the second real sign-in is not seen.
const futureRules = `
rules:
  - id: second_signin
    description: the second sign-in of a user within ten minutes
    severity: low
    mode: shadow
    action: none
    when: count("any", "10m") >= 2
    reason: "{{ .event_id }}"
`

// oktaSignin is a sign-in of dana.reyes@example.com with event id id at t.
func oktaSignin(id string, t time.Time) string {
	return strings.NewReplacer(`"uuid":"u1"`, `"uuid":"`+id+`"`, `"published":"2025-10-14T08:41:17.512Z"`,
		`"published":"`+t.UTC().Format(time.RFC3339Nano)+`"`).Replace(replayOkta)
}

// TestReplayFutureLine: a line dated a year ahead, between two real
// sign-ins of the same user, is reported as decode (future_time) with its
// line number and not evaluated: the count() rule decides over the other
// lines as if it were not there (a blank line in its place), with one
// worker and several. With event.max_clock_skew 0 the check is off, and
// the future line does blind count(), as the consumer's would.
func TestReplayFutureLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "rules")
	if err := os.Mkdir(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rulesDir, "second.yaml"), []byte(futureRules), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		t.Helper()
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return file
	}
	t0 := time.Date(2025, 10, 14, 8, 41, 17, 0, time.UTC)
	future := time.Now().AddDate(1, 0, 0)
	first, second := oktaSignin("real-1", t0), oktaSignin("real-3", t0.Add(time.Minute))
	withFuture := write("future.jsonl", first+"\n"+oktaSignin("ahead-2", future)+"\n"+second+"\n")
	without := write("without.jsonl", first+"\n\n"+second+"\n")
	skew5m := write("skew5m.yaml", "event:\n  max_clock_skew: 5m\n")
	skewOff := write("skewoff.yaml", "event:\n  max_clock_skew: 0s\n")

	code, want, _ := runCmd(t, cmdReplay, "", "--rules", rulesDir, "--config", skew5m, "--workers", "1", without)
	if code != 0 || !strings.Contains(want, `"line":3,"event_id":"okta:real-3","rule_id":"second_signin"`) {
		t.Fatalf("without the future line: exit %d, want 0 and a second_signin decision on line 3:\n%s", code, want)
	}
	var errs1 string
	for _, workers := range []string{"1", "3"} {
		code, out, errs := runCmd(t, cmdReplay, "", "--rules", rulesDir, "--config", skew5m, "--workers", workers, withFuture)
		if code != 1 {
			t.Errorf("%s workers: exit %d, want 1 (a line was not evaluated)", workers, code)
		}
		wantErr := "line 2: decode (future_time): event okta:ahead-2: event time " + future.UTC().Format(time.RFC3339) + " is more than 5m0s (event.max_clock_skew) ahead of the clock\n"
		if !strings.HasPrefix(errs, wantErr) || !strings.Contains(errs, "replay: 3 lines, 2 events, 1 decisions, 1 decode errors, 0 rule errors") {
			t.Errorf("%s workers: stderr\n%s\nwant it to start with\n%s", workers, errs, wantErr)
		}
		if out != want {
			t.Errorf("%s workers: the future line changed the decisions:\n got %s\nwant %s", workers, out, want)
		}
		if errs1 == "" {
			errs1 = errs
		} else if errs != errs1 {
			t.Errorf("%s workers: stderr differs from one worker's:\n%s\n%s", workers, errs, errs1)
		}
	}

	// With the check off the future line is evaluated: it is no error, and
	// it blinds count() (which is why the consumer refuses it).
	code, out, errs := runCmd(t, cmdReplay, "", "--rules", rulesDir, "--config", skewOff, withFuture)
	if code != 0 || strings.Contains(errs, "future_time") {
		t.Errorf("max_clock_skew 0: exit %d, stderr\n%s", code, errs)
	}
	if out == want {
		t.Errorf("max_clock_skew 0: the future line did not change the decisions, so this test shows nothing:\n%s", out)
	}
}
