package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/tripline-dev/tripline/internal/kafkaio"
	"github.com/tripline-dev/tripline/internal/pipeline"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// replayItem is what the replay learned about one DLQ record.
type replayItem struct {
	partition          int
	offset             int64
	source, class, att string
	decisions          []string
	acted              bool
	failClass, failAtt string
}

// replayTracker follows each record from fetch to commit and prints its
// line, in offset order per partition, once its offset is finished.
type replayTracker struct {
	out, errw io.Writer
	every     int
	dry       bool

	mu    sync.Mutex
	items map[int][]*replayItem
	sum   replaySummary
}

func newReplayTracker(out, errw io.Writer, every int, dry bool) *replayTracker {
	return &replayTracker{out: out, errw: errw, every: every, dry: dry, items: map[int][]*replayItem{}}
}

// fetched notes a DLQ record handed to the pipeline.
func (t *replayTracker) fetched(rec kafkaio.Record) {
	h := rec.Headers
	source := fmt.Sprintf("%s/%s@%s", h[pipeline.HeaderSourceTopic], h[pipeline.HeaderSourcePartition], h[pipeline.HeaderSourceOffset])
	it := &replayItem{partition: rec.Partition, offset: rec.Offset, source: source, class: h[pipeline.HeaderErrorClass], att: h[pipeline.HeaderAttempts]}
	t.mu.Lock()
	t.items[rec.Partition] = append(t.items[rec.Partition], it)
	t.mu.Unlock()
}

// find returns the record at partition/offset; t.mu is held.
func (t *replayTracker) find(partition int, offset int64) *replayItem {
	for _, it := range t.items[partition] {
		if it.offset == offset {
			return it
		}
	}
	return nil
}

// Record implements pipeline.Recorder: one decision's outcome.
func (t *replayTracker) Record(_ context.Context, rec pipeline.AuditRecord) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	it := t.find(rec.Partition, rec.Offset)
	if it == nil {
		return nil
	}
	it.decisions = append(it.decisions, fmt.Sprintf("rule=%s mode=%s action=%s user=%s result=%s", rec.RuleID, rec.Mode, rec.Action, rec.Identity, rec.Result))
	switch remediate.Result(rec.Result) {
	case remediate.ResultSuspended, remediate.ResultAlreadySuspended, remediate.ResultReactivated, remediate.ResultAlreadyActive, remediate.ResultDryRun:
		it.acted = true
	}
	return nil
}

// deadLettered notes that the DLQ record at partition/offset failed again,
// as the dead-letter record rec.
func (t *replayTracker) deadLettered(partition int, offset int64, rec kafkaio.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if it := t.find(partition, offset); it != nil {
		it.failClass, it.failAtt = rec.Headers[pipeline.HeaderErrorClass], rec.Headers[pipeline.HeaderAttempts]
	}
}

// completed prints and counts the records of partition up to offset.
func (t *replayTracker) completed(partition int, offset int64) {
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
func (t *replayTracker) report(it *replayItem) {
	outcome := "nothing_to_do"
	switch {
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
		fmt.Fprintf(t.errw, "dlq replay: %d records: %d acted, %d still failing, %d nothing to do\n", t.sum.Replayed, t.sum.Acted, t.sum.StillFailing, t.sum.NothingToDo)
	}
}

// finish returns the totals.
func (t *replayTracker) finish() replaySummary {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sum
}
