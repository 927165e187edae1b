package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/pipeline"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// replayRefHeader marks a record fetched by the replay with its DLQ
// partition and offset, so the dead-letter writer can tell which record it
// writes back. The pipeline copies headers without the tripline. prefix to
// the dead-letter record; replayDLQ removes it before writing.
const replayRefHeader = "x-tripline-replay-ref"

// bound is one DLQ partition's part of the replay: next is the next offset
// to finish, end the high-water mark when the run started.
type bound struct {
	next, end int64
	fetched   bool
}

// replayBounds reads, per partition of topic, where group resumes (the
// committed offset, else the first offset) and the current high-water mark.
func replayBounds(ctx context.Context, conn *pipeline.Connection, topic, group string) (map[int]*bound, error) {
	client := &kafka.Client{Addr: kafka.TCP(conn.Brokers...), Transport: conn.Transport, Timeout: 15 * time.Second}
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("kafka metadata: %w", err)
	}
	var reqs []kafka.OffsetRequest
	var parts []int
	for _, t := range meta.Topics {
		for _, p := range t.Partitions {
			parts = append(parts, p.ID)
			reqs = append(reqs, kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
		}
	}
	offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	bounds := map[int]*bound{}
	for _, p := range offs.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("list offsets of %s/%d: %w", topic, p.Partition, p.Error)
		}
		bounds[p.Partition] = &bound{next: p.FirstOffset, end: p.LastOffset}
	}
	committed, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		return nil, fmt.Errorf("committed offsets of group %s: %w", group, err)
	}
	for _, p := range committed.Topics[topic] {
		if b := bounds[p.Partition]; b != nil && p.Error == nil && p.CommittedOffset > b.next {
			b.next = p.CommittedOffset
		}
	}
	return bounds, nil
}

// replaySource is the pipeline's Source over the DLQ: it hands out the
// records below the end recorded at the start, commits (when commit is set)
// and calls onComplete once every partition is finished up to its end.
type replaySource struct {
	r          *kafka.Reader
	commit     bool
	track      *replayTracker
	onComplete func()

	mu     sync.Mutex
	bounds map[int]*bound
}

func newReplaySource(r *kafka.Reader, bounds map[int]*bound, commit bool, track *replayTracker) *replaySource {
	return &replaySource{r: r, bounds: bounds, commit: commit, track: track, onComplete: func() {}}
}

// FetchMessage implements pipeline.Source. Once every record below the end
// was handed out it blocks until ctx is done.
func (s *replaySource) FetchMessage(ctx context.Context) (kafka.Message, error) {
	for {
		if s.allFetched() {
			<-ctx.Done()
			return kafka.Message{}, ctx.Err()
		}
		msg, err := s.r.FetchMessage(ctx)
		if err != nil {
			return msg, err
		}
		if s.take(msg) {
			s.track.fetched(msg)
			msg.Headers = append(msg.Headers, kafka.Header{Key: replayRefHeader, Value: fmt.Appendf(nil, "%d@%d", msg.Partition, msg.Offset)})
			return msg, nil
		}
	}
}

// take reports whether msg is part of this run and notes the partitions
// whose last record was handed out.
func (s *replaySource) take(msg kafka.Message) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bounds[msg.Partition]
	if b == nil || msg.Offset >= b.end {
		return false
	}
	b.fetched = msg.Offset+1 >= b.end
	return true
}

func (s *replaySource) allFetched() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.bounds {
		if !b.fetched && b.next < b.end {
			return false
		}
	}
	return true
}

// CommitMessages implements pipeline.Source: the pipeline finished msgs
// and every earlier record of their partitions.
func (s *replaySource) CommitMessages(ctx context.Context, msgs ...kafka.Message) error {
	if s.commit {
		if err := s.r.CommitMessages(ctx, msgs...); err != nil {
			return err
		}
	}
	for _, m := range msgs {
		s.track.completed(m.Partition, m.Offset)
		s.mu.Lock()
		if b := s.bounds[m.Partition]; b != nil {
			b.next = max(b.next, m.Offset+1)
		}
		s.mu.Unlock()
	}
	if s.complete() {
		s.onComplete()
	}
	return nil
}

// complete reports whether every partition is finished up to its end.
func (s *replaySource) complete() bool { return s.remaining() == 0 }

// remaining is the number of offsets left to finish.
func (s *replaySource) remaining() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, b := range s.bounds {
		n += max(0, b.end-b.next)
	}
	return n
}

// replayDLQ is the pipeline's dead-letter writer during a replay: it tells
// the tracker which record failed again and, with --execute, writes it to
// the DLQ (w nil: a dry run, nothing is written).
type replayDLQ struct {
	track *replayTracker
	w     pipeline.DeadLetterWriter
}

// WriteMessages implements pipeline.DeadLetterWriter.
func (d replayDLQ) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	type ref struct {
		p    int
		o    int64
		h    func(string) string
		keep bool
	}
	refs := make([]ref, 0, len(msgs))
	for i := range msgs {
		p, o, ok := takeRef(&msgs[i])
		m := msgs[i]
		refs = append(refs, ref{p, o, func(k string) string { return pipeline.HeaderValue(m, k) }, ok})
	}
	if d.w != nil {
		if err := d.w.WriteMessages(ctx, msgs...); err != nil {
			return err
		}
	}
	for _, r := range refs {
		if r.keep {
			d.track.deadLettered(r.p, r.o, r.h(pipeline.HeaderErrorClass), r.h(pipeline.HeaderAttempts))
		}
	}
	return nil
}

// takeRef removes the replay reference header from m and returns it.
func takeRef(m *kafka.Message) (partition int, offset int64, ok bool) {
	for i, h := range m.Headers {
		if h.Key != replayRefHeader {
			continue
		}
		m.Headers = append(m.Headers[:i:i], m.Headers[i+1:]...)
		p, o, found := strings.Cut(string(h.Value), "@")
		pn, err1 := strconv.Atoi(p)
		on, err2 := strconv.ParseInt(o, 10, 64)
		return pn, on, found && err1 == nil && err2 == nil
	}
	return 0, 0, false
}

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

func (t *replayTracker) fetched(msg kafka.Message) {
	h := func(k string) string { return pipeline.HeaderValue(msg, k) }
	source := fmt.Sprintf("%s/%s@%s", h(pipeline.HeaderSourceTopic), h(pipeline.HeaderSourcePartition), h(pipeline.HeaderSourceOffset))
	it := &replayItem{partition: msg.Partition, offset: msg.Offset, source: source, class: h(pipeline.HeaderErrorClass), att: h(pipeline.HeaderAttempts)}
	t.mu.Lock()
	t.items[msg.Partition] = append(t.items[msg.Partition], it)
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

func (t *replayTracker) deadLettered(partition int, offset int64, class, attempts string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if it := t.find(partition, offset); it != nil {
		it.failClass, it.failAtt = class, attempts
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
