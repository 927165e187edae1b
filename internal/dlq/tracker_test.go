package dlq

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tripline-dev/tripline/internal/deadletter"
	"github.com/tripline-dev/tripline/internal/pipeline"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// replayed is the outcome of the dead-letter record at dlq offset off,
// held from signins/2@off+100 as class with attempts.
func replayed(off int64, class string, attempts int) pipeline.MessageOutcome {
	return pipeline.MessageOutcome{Topic: "tripline.dlq", Partition: 1, Offset: off,
		Record: deadletter.Record{Kind: deadletter.KindDeadLetter, Source: deadletter.Source{Topic: "signins", Partition: 2, Offset: off + 100}, Class: class, Attempts: attempts}}
}

func decided(result remediate.Result) remediate.Outcome {
	return remediate.Outcome{Decision: remediate.Decision{RuleID: "risky", Mode: remediate.ModeEnforce, Action: remediate.ActionSuspend, Identity: "ann@example.com"}, Result: result}
}

// TestTrackerPrintsOneLinePerRecord: each outcome becomes one line, in the
// order reported, naming the original source, the dead-letter position,
// the record's class and attempts, the outcome (refused and why, still
// failing with the class and attempts written back, acted, nothing to do)
// and the decisions; the summary counts them, and progress is reported
// every `every` records.
func TestTrackerPrintsOneLinePerRecord(t *testing.T) {
	t.Parallel()
	var out, progress bytes.Buffer
	tr := NewTracker(&out, &progress, 2, false)
	refused := replayed(0, "breaker_open", 1)
	refused.Refused = "unsigned"
	again := replayed(1, "retries_exhausted", 3)
	again.Decisions = []remediate.Outcome{decided(remediate.ResultFailed)}
	again.DeadLettered = []deadletter.Record{{Kind: deadletter.KindDeadLetter, Class: "retries_exhausted", Attempts: 6}}
	acted := replayed(2, "breaker_open", 1)
	acted.Decisions = []remediate.Outcome{decided(remediate.ResultSuspended)}
	noSource := pipeline.MessageOutcome{Topic: "tripline.dlq", Partition: 1, Offset: 3, Record: deadletter.Record{Kind: deadletter.KindNotification, Class: "notify_failed"}}
	for _, o := range []pipeline.MessageOutcome{refused, again, acted, noSource} {
		tr.Outcome(t.Context(), o)
	}
	want := []string{
		"signins/2@100 dlq=1@0 class=breaker_open attempts=1 -> refused unsigned",
		"signins/2@101 dlq=1@1 class=retries_exhausted attempts=3 -> still_failing class=retries_exhausted attempts=6 [rule=risky mode=enforce action=suspend user=ann@example.com result=failed]",
		"signins/2@102 dlq=1@2 class=breaker_open attempts=1 -> acted [rule=risky mode=enforce action=suspend user=ann@example.com result=suspended]",
		"- dlq=1@3 class=notify_failed attempts=0 -> nothing_to_do",
	}
	if got := strings.Split(strings.TrimSpace(out.String()), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if sum := tr.Summary(); sum != (Summary{Replayed: 4, Acted: 1, StillFailing: 1, NothingToDo: 1, Refused: 1}) {
		t.Errorf("summary %+v", sum)
	}
	if n := strings.Count(progress.String(), "dlq replay: "); n != 2 {
		t.Errorf("%d progress lines for 4 records every 2, want 2:\n%s", n, progress.String())
	}
}

// TestADryRunWouldAct: in a dry run, a decision that would suspend reads
// would_act (and counts as acted).
func TestADryRunWouldAct(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	tr := NewTracker(&out, &out, 0, true)
	o := replayed(0, "breaker_open", 1)
	o.Decisions = []remediate.Outcome{decided(remediate.ResultDryRun)}
	tr.Outcome(t.Context(), o)
	if !strings.Contains(out.String(), "-> would_act [") || tr.Summary().Acted != 1 {
		t.Errorf("dry run: %q, %+v", out.String(), tr.Summary())
	}
}
