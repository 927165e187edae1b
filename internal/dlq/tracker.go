package dlq

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/kafkaio"
	"github.com/tripline-dev/tripline/internal/pipeline"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// Summary counts the outcomes of one replay run. Refused records (not
// signed, or not signed right) are neither acted on nor written back.
type Summary struct {
	Replayed, Acted, StillFailing, NothingToDo, Refused int
}

// item is what the replay learned about one dead-letter record.
type item struct {
	partition          int
	offset             int64
	source, class, att string
	decisions          []string
	acted              bool
	failClass, failAtt string
	refused            string // why the replay refused the record
}

// Tracker follows each dead-letter record of a replay from fetch to commit
// and prints its line once its offset is finished:
//
//	<source topic>/<partition>@<offset> dlq=<partition>@<offset> class=<class> attempts=<n> -> <outcome> [decisions]
//
// It is safe for concurrent use.
type Tracker struct {
	out, errw io.Writer
	every     int
	dry       bool

	mu    sync.Mutex
	items map[int][]*item
	sum   Summary
}

// NewTracker prints record lines on out and progress every `every` records
// on errw; dry says the run acts on nothing (outcomes read "would_act").
func NewTracker(out, errw io.Writer, every int, dry bool) *Tracker {
	return &Tracker{out: out, errw: errw, every: every, dry: dry, items: map[int][]*item{}}
}

// Fetched notes a dead-letter record handed to the pipeline
// (kafkaio.BoundedConfig.OnFetch).
func (t *Tracker) Fetched(rec kafkaio.Record) {
	h := rec.Headers
	source := fmt.Sprintf("%s/%s@%s", h[pipeline.HeaderSourceTopic], h[pipeline.HeaderSourcePartition], h[pipeline.HeaderSourceOffset])
	it := &item{partition: rec.Partition, offset: rec.Offset, source: source, class: h[pipeline.HeaderErrorClass], att: h[pipeline.HeaderAttempts]}
	t.mu.Lock()
	t.items[rec.Partition] = append(t.items[rec.Partition], it)
	t.mu.Unlock()
}

// find returns the record at partition/offset; t.mu is held.
func (t *Tracker) find(partition int, offset int64) *item {
	for _, it := range t.items[partition] {
		if it.offset == offset {
			return it
		}
	}
	return nil
}

// Audit implements remediate.Auditor: one decision's outcome about the
// dead-letter record at rec's offset.
func (t *Tracker) Audit(_ context.Context, rec remediate.Record) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	it := t.find(rec.Partition, rec.Offset)
	if it == nil {
		return nil
	}
	it.decisions = append(it.decisions, fmt.Sprintf("rule=%s mode=%s action=%s user=%s result=%s", rec.RuleID, rec.Mode, rec.Action, rec.Identity, rec.Result))
	switch remediate.Result(rec.Result) {
	case remediate.ResultSuspended, remediate.ResultReactivated, remediate.ResultDryRun:
		it.acted = true // a user's state changed (or would have, in a dry run)
	}
	return nil
}

// DeadLetters returns the replay's dead-letter writer: it writes through w
// (nil: writes nothing, a dry run) and notes which record failed again. A
// record the replay refused (class refused) is noted, never written back.
func (t *Tracker) DeadLetters(w pipeline.DeadLetterWriter) pipeline.DeadLetterWriter {
	return deadLetters{t: t, w: w}
}

type deadLetters struct {
	t *Tracker
	w pipeline.DeadLetterWriter
}

// WriteDeadLetter implements pipeline.DeadLetterWriter.
func (d deadLetters) WriteDeadLetter(ctx context.Context, source, record kafka.Message) error {
	if pipeline.HeaderValue(record, pipeline.HeaderErrorClass) == pipeline.ClassRefused {
		d.t.mu.Lock()
		defer d.t.mu.Unlock()
		if it := d.t.find(source.Partition, source.Offset); it != nil {
			it.refused = pipeline.HeaderValue(record, pipeline.HeaderErrorReason)
		}
		return nil
	}
	if d.w != nil {
		if err := d.w.WriteDeadLetter(ctx, source, record); err != nil {
			return err
		}
	}
	d.t.mu.Lock()
	defer d.t.mu.Unlock()
	if it := d.t.find(source.Partition, source.Offset); it != nil {
		it.failClass, it.failAtt = pipeline.HeaderValue(record, pipeline.HeaderErrorClass), pipeline.HeaderValue(record, pipeline.HeaderAttempts)
	}
	return nil
}

// Completed prints and counts the records of partition up to offset
// (kafkaio.BoundedConfig.OnDone).
func (t *Tracker) Completed(partition int, offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	items := t.items[partition]
	n := 0
	for n < len(items) && items[n].offset <= offset {
		t.report(items[n])
		n++
	}
	t.items[partition] = items[n:]
}

// report prints one record's line and counts it; t.mu is held.
func (t *Tracker) report(it *item) {
	outcome := "nothing_to_do"
	switch {
	case it.refused != "":
		outcome = "refused " + it.refused
		t.sum.Refused++
	case it.failClass != "":
		outcome = fmt.Sprintf("still_failing class=%s attempts=%s", it.failClass, it.failAtt)
		t.sum.StillFailing++
	case it.acted:
		outcome = "acted"
		if t.dry {
			outcome = "would_act"
		}
		t.sum.Acted++
	default:
		t.sum.NothingToDo++
	}
	t.sum.Replayed++
	line := fmt.Sprintf("%s dlq=%d@%d class=%s attempts=%s -> %s", it.source, it.partition, it.offset, it.class, it.att, outcome)
	if len(it.decisions) > 0 {
		line += " [" + strings.Join(it.decisions, "; ") + "]"
	}
	fmt.Fprintln(t.out, line)
	if t.every > 0 && t.sum.Replayed%t.every == 0 {
		fmt.Fprintf(t.errw, "dlq replay: %d records: %d acted, %d still failing, %d nothing to do, %d refused\n", t.sum.Replayed, t.sum.Acted, t.sum.StillFailing, t.sum.NothingToDo, t.sum.Refused)
	}
}

// Summary returns the totals so far.
func (t *Tracker) Summary() Summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sum
}
