package rules

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/event/eventgen"
)

// replayString replays in with cfg (the shipped decoder when cfg.Decode is
// nil) and returns the summary, the decision lines, and the problem lines
// followed by the summary, as `consumer replay` prints them on stderr.
func replayString(t *testing.T, ctx context.Context, cfg ReplayConfig, in string) (ReplaySummary, string, string) {
	t.Helper()
	if cfg.Decode == nil {
		cfg.Decode = shippedDecoder(t)
	}
	var out, errs bytes.Buffer
	cfg.Errors = &errs
	sum, err := Replay(ctx, cfg, strings.NewReader(in), &out)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if _, err := sum.WriteTo(&errs); err != nil {
		t.Fatal(err)
	}
	return sum, out.String(), errs.String()
}

// shippedSet loads the rules shipped in rules/.
func shippedSet(t testing.TB) *Set {
	t.Helper()
	set, err := LoadDir("../../rules")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// replayDirSet loads one rule file, written to a temporary directory.
func replayDirSet(t testing.TB, name, src string) *Set {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return set
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
	// Each replay gets a fresh set: count() state lives in the set.
	replay := func(workers int) (ReplaySummary, string, string) {
		set := replayDirSet(t, "burst.yaml", burstRules)
		return replayString(t, t.Context(), ReplayConfig{Set: set, Workers: workers, MaxClockSkew: 5 * time.Minute}, in.String())
	}
	sum1, out1, errs1 := replay(1)
	if sum1.OK() || !strings.Contains(errs1, "decode errors") || !strings.Contains(errs1, "(future_time)") {
		t.Fatalf("one worker: ok %t (want false: some lines are not JSON)\n%.2000s", sum1.OK(), errs1)
	}
	burst, fail := strings.Count(out1, `"rule_id":"burst"`), strings.Count(out1, `"rule_id":"failure_burst"`)
	if burst < 500 || burst > 5500 || fail < 200 {
		t.Fatalf("%d burst and %d failure_burst decisions: the test needs many count() decisions, not all", burst, fail)
	}
	for _, workers := range []int{2, 3, 8} {
		sum, out, errs := replay(workers)
		if sum.OK() != sum1.OK() || out != out1 || errs != errs1 {
			t.Errorf("%d workers: ok %t, %d bytes out, %d bytes err; one worker: ok %t, %d, %d; first difference at stdout byte %d",
				workers, sum.OK(), len(out), len(errs), sum1.OK(), len(out1), len(errs1), firstDiff(out, out1))
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

const replayOkta = `{"uuid":"u1","published":"2025-10-14T08:41:17.512Z","eventType":"user.session.start","version":"0","severity":"INFO","actor":{"id":"00u1","type":"User","alternateId":"dana.reyes@example.com"},"client":{"ipAddress":"203.0.113.77","geographicalContext":{"country":"Romania"}},"outcome":{"result":"SUCCESS"},"securityContext":{"isProxy":true},"debugContext":{"debugData":{"risk":"{level=HIGH}"}}}`

// TestReplayReadErrorAndInterrupt: a line past the size limit stops the
// replay with a read error after the lines before it; a cancelled context
// stops it as interrupted.
func TestReplayReadErrorAndInterrupt(t *testing.T) {
	t.Parallel()
	in := replayOkta + "\n" + strings.Repeat("x", 2<<20) + "\n" + replayOkta + "\n"
	sum, out, errs := replayString(t, t.Context(), ReplayConfig{Set: shippedSet(t)}, in)
	if sum.OK() || sum.ReadErr == nil || !strings.Contains(errs, "line 2: read:") || !strings.Contains(out, `"line":1`) || strings.Contains(out, `"line":3`) {
		t.Errorf("ok %t, read error %v\nstdout %s\nstderr %s", sum.OK(), sum.ReadErr, out, errs)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	sum, _, errs = replayString(t, ctx, ReplayConfig{Set: shippedSet(t)}, in)
	if sum.OK() || !sum.Interrupted {
		t.Errorf("cancelled: ok %t, interrupted %t, stderr %s", sum.OK(), sum.Interrupted, errs)
	}
}

// TestReplayConfigErrors: Replay refuses a config without a rule set or a
// decoder, or with negative workers, before reading anything.
func TestReplayConfigErrors(t *testing.T) {
	t.Parallel()
	set, decode := shippedSet(t), shippedDecoder(t)
	for name, cfg := range map[string]ReplayConfig{
		"no set":           {Decode: decode},
		"no decoder":       {Set: set},
		"negative workers": {Set: set, Decode: decode, Workers: -1},
	} {
		var out bytes.Buffer
		if _, err := Replay(t.Context(), cfg, strings.NewReader(replayOkta+"\n"), &out); err == nil || out.Len() > 0 {
			t.Errorf("%s: err %v, output %q", name, err, out.String())
		}
	}
}

// failWriter fails every write after the first n bytes.
type failWriter struct{ n int }

var errWriteFailed = errors.New("disk full")

func (w *failWriter) Write(b []byte) (int, error) {
	if len(b) > w.n {
		n := w.n
		w.n = 0
		return n, errWriteFailed
	}
	w.n -= len(b)
	return len(b), nil
}

// TestReplayWriteError: when the output cannot be written, Replay stops
// and returns the write error, prefixed with write.
func TestReplayWriteError(t *testing.T) {
	t.Parallel()
	in := strings.Repeat(replayOkta+"\n", 3000)
	_, err := Replay(t.Context(), ReplayConfig{Set: shippedSet(t), Decode: shippedDecoder(t), Workers: 2}, strings.NewReader(in), &failWriter{n: 100})
	if !errors.Is(err, errWriteFailed) || !strings.HasPrefix(err.Error(), "write: ") {
		t.Errorf("err = %v, want write: %v", err, errWriteFailed)
	}
}

// TestReplaySummary checks the totals and the summary lines: blank lines
// count as lines, a decode error is no event, decisions are counted by
// rule, sorted by rule id.
func TestReplaySummary(t *testing.T) {
	t.Parallel()
	in := replayOkta + "\n \t\r\nnot json\n" + replayOkta + "\n"
	sum, out, errs := replayString(t, t.Context(), ReplayConfig{Set: shippedSet(t), Workers: 1}, in)
	decisions := strings.Count(out, "\n")
	if sum.Lines != 4 || sum.Events != 2 || sum.DecodeErrors != 1 || sum.RuleErrors != 0 || sum.Decisions != decisions || decisions == 0 {
		t.Fatalf("summary %+v, %d decision lines", sum, decisions)
	}
	byRule := 0
	for _, n := range sum.ByRule {
		byRule += n
	}
	if byRule != decisions || !strings.HasPrefix(errs, "line 3: decode (invalid_json): ") {
		t.Errorf("by rule %v, stderr\n%s", sum.ByRule, errs)
	}
	_, summary, _ := strings.Cut(errs, "\n")
	lines := strings.Split(strings.TrimSuffix(summary, "\n"), "\n")
	if lines[0] != fmt.Sprintf("replay: 4 lines, 2 events, %d decisions, 1 decode errors, 0 rule errors", decisions) || len(lines) != 1+len(sum.ByRule) {
		t.Fatalf("summary lines:\n%s", summary)
	}
	for i, l := range lines[2:] {
		if l <= lines[1+i] {
			t.Errorf("rule lines not sorted by id: %q after %q", l, lines[1+i])
		}
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
// worker and several. With MaxClockSkew 0 the check is off, and the future
// line does blind count(), as the consumer's would.
func TestReplayFutureLine(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 10, 14, 8, 41, 17, 0, time.UTC)
	future := time.Now().AddDate(1, 0, 0)
	first, second := oktaSignin("real-1", at), oktaSignin("real-3", at.Add(time.Minute))
	withFuture := first + "\n" + oktaSignin("ahead-2", future) + "\n" + second + "\n"
	without := first + "\n\n" + second + "\n"
	replay := func(in string, workers int, skew time.Duration) (ReplaySummary, string, string) {
		set := replayDirSet(t, "second.yaml", futureRules)
		return replayString(t, t.Context(), ReplayConfig{Set: set, Workers: workers, MaxClockSkew: skew}, in)
	}

	sum, want, _ := replay(without, 1, 5*time.Minute)
	if !sum.OK() || !strings.Contains(want, `"line":3,"event_id":"okta:real-3","rule_id":"second_signin"`) {
		t.Fatalf("without the future line: ok %t, want true and a second_signin decision on line 3:\n%s", sum.OK(), want)
	}
	var errs1 string
	for _, workers := range []int{1, 3} {
		sum, out, errs := replay(withFuture, workers, 5*time.Minute)
		if sum.OK() {
			t.Errorf("%d workers: ok, want not ok (a line was not evaluated)", workers)
		}
		wantErr := "line 2: decode (future_time): event okta:ahead-2: event time " + future.UTC().Format(time.RFC3339) + " is more than 5m0s (event.max_clock_skew) ahead of the clock\n"
		if !strings.HasPrefix(errs, wantErr) || !strings.Contains(errs, "replay: 3 lines, 2 events, 1 decisions, 1 decode errors, 0 rule errors") {
			t.Errorf("%d workers: stderr\n%s\nwant it to start with\n%s", workers, errs, wantErr)
		}
		if out != want {
			t.Errorf("%d workers: the future line changed the decisions:\n got %s\nwant %s", workers, out, want)
		}
		if errs1 == "" {
			errs1 = errs
		} else if errs != errs1 {
			t.Errorf("%d workers: stderr differs from one worker's:\n%s\n%s", workers, errs, errs1)
		}
	}

	// With the check off the future line is evaluated: it is no error, and
	// it blinds count() (which is why the consumer refuses it).
	sum, out, errs := replay(withFuture, 0, 0)
	if !sum.OK() || strings.Contains(errs, "future_time") {
		t.Errorf("max_clock_skew 0: ok %t, stderr\n%s", sum.OK(), errs)
	}
	if out == want {
		t.Errorf("max_clock_skew 0: the future line did not change the decisions, so this test shows nothing:\n%s", out)
	}
}

// TestReplayNowIsTheClock: the future-time check measures from
// ReplayConfig.Now, not from the events' times nor the wall clock.
func TestReplayNowIsTheClock(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 10, 14, 8, 41, 17, 0, time.UTC)
	in := oktaSignin("e1", at) + "\n"
	for _, c := range []struct {
		now          time.Time
		decodeErrors int
	}{{at.Add(-6 * time.Minute), 1}, {at.Add(-4 * time.Minute), 0}} {
		set := replayDirSet(t, "second.yaml", futureRules)
		sum, _, errs := replayString(t, t.Context(), ReplayConfig{Set: set, MaxClockSkew: 5 * time.Minute, Now: c.now}, in)
		future := strings.Count(errs, "(future_time)")
		if future != c.decodeErrors || sum.DecodeErrors != c.decodeErrors || sum.Events != 1-c.decodeErrors {
			t.Errorf("now %s: %d future_time reports, summary %+v; want %d\n%s", c.now, future, sum, c.decodeErrors, errs)
		}
	}
}

// TestReplayUsesDecode: every non-blank line goes through cfg.Decode,
// whitespace-only lines do not (the scanner drops a line's final \r).
func TestReplayUsesDecode(t *testing.T) {
	t.Parallel()
	var seen []string
	decode := func(raw []byte) ([]event.Event, error) {
		seen = append(seen, string(raw))
		return nil, nil
	}
	sum, _, _ := replayString(t, t.Context(), ReplayConfig{Set: shippedSet(t), Decode: decode, Workers: 1}, "a\n\n \t\r\nb\r\n")
	if fmt.Sprint(seen) != "[a b]" || sum.Lines != 4 || sum.Events != 0 {
		t.Errorf("decoded %q, summary %+v", seen, sum)
	}
}
