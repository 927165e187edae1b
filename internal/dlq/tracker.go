package dlq

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/deadletter"
	"github.com/tripline-dev/tripline/internal/pipeline"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// Summary counts the outcomes of one replay run. Refused records (not
// signed, or not signed right) are neither acted on nor written back.
type Summary struct {
	Replayed, Acted, StillFailing, NothingToDo, Refused int
}

// Tracker prints one line per replayed dead-letter record, once it reached
// its final outcome:
//
//	<source topic>/<partition>@<offset> dlq=<partition>@<offset> class=<class> attempts=<n> -> <outcome> [decisions]
//
// and counts it. It is safe for concurrent use.
type Tracker struct {
	out, errw io.Writer
	every     int
	dry       bool

	mu  sync.Mutex
	sum Summary
}

// NewTracker prints record lines on out and progress every `every` records
// on errw; dry says the run acts on nothing (outcomes read "would_act").
func NewTracker(out, errw io.Writer, every int, dry bool) *Tracker {
	return &Tracker{out: out, errw: errw, every: every, dry: dry}
}

// Outcome prints and counts one replayed record (pipeline.Deps.OnOutcome):
// refused (why), still failing (the class and attempts of the record
// written back), acted (a decision suspended or reactivated a user, or
// would have in a dry run) or nothing to do.
func (t *Tracker) Outcome(_ context.Context, o pipeline.MessageOutcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	outcome := "nothing_to_do"
	switch {
	case o.Refused != "":
		outcome = "refused " + o.Refused
		t.sum.Refused++
	case len(o.DeadLettered) > 0:
		again := o.DeadLettered[len(o.DeadLettered)-1]
		outcome = fmt.Sprintf("still_failing class=%s attempts=%d", again.Class, again.Attempts)
		t.sum.StillFailing++
	case acted(o.Decisions):
		outcome = "acted"
		if t.dry {
			outcome = "would_act"
		}
		t.sum.Acted++
	default:
		t.sum.NothingToDo++
	}
	t.sum.Replayed++
	rec := o.Record
	line := fmt.Sprintf("%s dlq=%d@%d class=%s attempts=%d -> %s", source(rec.Source), o.Partition, o.Offset, rec.Class, rec.Attempts, outcome)
	if len(o.Decisions) > 0 {
		decisions := make([]string, len(o.Decisions))
		for i, d := range o.Decisions {
			decisions[i] = fmt.Sprintf("rule=%s mode=%s action=%s user=%s result=%s", d.Decision.RuleID, d.Decision.Mode, d.Decision.Action, d.Decision.Identity, d.Result)
		}
		line += " [" + strings.Join(decisions, "; ") + "]"
	}
	fmt.Fprintln(t.out, line)
	if t.every > 0 && t.sum.Replayed%t.every == 0 {
		fmt.Fprintf(t.errw, "dlq replay: %d records: %d acted, %d still failing, %d nothing to do, %d refused\n", t.sum.Replayed, t.sum.Acted, t.sum.StillFailing, t.sum.NothingToDo, t.sum.Refused)
	}
}

// acted reports whether a decision changed a user's state (or would have,
// in a dry run).
func acted(outs []remediate.Outcome) bool {
	for _, o := range outs {
		switch o.Result {
		case remediate.ResultSuspended, remediate.ResultReactivated, remediate.ResultDryRun:
			return true
		}
	}
	return false
}

// source names where a record was read first ("-" when it does not say).
func source(s deadletter.Source) string {
	if s.Topic == "" {
		return "-"
	}
	return fmt.Sprintf("%s/%d@%d", s.Topic, s.Partition, s.Offset)
}

// Summary returns the totals so far.
func (t *Tracker) Summary() Summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sum
}

// DryRun is the dead-letter writer of a dry run: what would fail again is
// reported (Outcome), never written.
type DryRun struct{}

// WriteDeadLetter implements pipeline.DeadLetterWriter: it writes nothing.
func (DryRun) WriteDeadLetter(context.Context, kafka.Message, kafka.Message) error { return nil }
