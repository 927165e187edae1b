package kafkaio

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/segmentio/kafka-go"
)

// RefHeader marks each record a BoundedSource hands out with its partition
// and offset ("<partition>@<offset>"), so that a RefWriter can tell which
// record it writes back. The pipeline copies headers without the tripline.
// prefix to the dead-letter record; RefWriter removes this one.
const RefHeader = "x-tripline-replay-ref"

// BoundedConfig configures a BoundedSource.
type BoundedConfig struct {
	// Commit commits finished offsets to the reader's group; without it
	// nothing is committed (a dry run).
	Commit bool
	// OnFetch, if set, is called with each record handed out.
	OnFetch func(Record)
	// OnDone, if set, is called when every record of partition up to and
	// including offset is finished.
	OnDone func(partition int, offset int64)
}

// BoundedSource is a pipeline Source over a group reader that hands out
// only the records below the high-water marks seen at the start (the
// bounds from PartitionBounds), and reports when all of them are finished.
// Records written to the topic after the start are left for the next run.
type BoundedSource struct {
	r   *kafka.Reader
	cfg BoundedConfig

	mu         sync.Mutex
	bounds     map[int]*bound
	onComplete func()
}

// bound is a partition's Bound plus whether its last record was handed out.
type bound struct {
	Bound
	fetched bool
}

// NewBoundedSource reads r (a group reader over one topic) within bounds.
// The source owns r: Close closes it.
func NewBoundedSource(r *kafka.Reader, bounds map[int]Bound, cfg BoundedConfig) *BoundedSource {
	s := &BoundedSource{r: r, cfg: cfg, bounds: make(map[int]*bound, len(bounds)), onComplete: func() {}}
	for p, b := range bounds {
		s.bounds[p] = &bound{Bound: b}
	}
	return s
}

// FetchMessage implements pipeline.Source. It adds RefHeader to each record.
// Once every record below the bounds was handed out it blocks until ctx is
// done.
func (s *BoundedSource) FetchMessage(ctx context.Context) (kafka.Message, error) {
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
			if s.cfg.OnFetch != nil {
				s.cfg.OnFetch(recordOf(msg))
			}
			msg.Headers = append(msg.Headers, kafka.Header{Key: RefHeader, Value: fmt.Appendf(nil, "%d@%d", msg.Partition, msg.Offset)})
			return msg, nil
		}
	}
}

// take reports whether msg is within the bounds and notes the partitions
// whose last record was handed out.
func (s *BoundedSource) take(msg kafka.Message) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bounds[msg.Partition]
	if b == nil || msg.Offset >= b.End {
		return false
	}
	b.fetched = msg.Offset+1 >= b.End
	return true
}

func (s *BoundedSource) allFetched() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.bounds {
		if !b.fetched && b.Next < b.End {
			return false
		}
	}
	return true
}

// CommitMessages implements pipeline.Source: the pipeline finished msgs
// and every earlier record of their partitions.
func (s *BoundedSource) CommitMessages(ctx context.Context, msgs ...kafka.Message) error {
	if s.cfg.Commit {
		if err := s.r.CommitMessages(ctx, msgs...); err != nil {
			return err
		}
	}
	for _, m := range msgs {
		if s.cfg.OnDone != nil {
			s.cfg.OnDone(m.Partition, m.Offset)
		}
		s.mu.Lock()
		if b := s.bounds[m.Partition]; b != nil {
			b.Next = max(b.Next, m.Offset+1)
		}
		s.mu.Unlock()
	}
	if s.Remaining() == 0 {
		s.mu.Lock()
		done := s.onComplete
		s.mu.Unlock()
		done()
	}
	return nil
}

// Remaining is the number of offsets left to finish.
func (s *BoundedSource) Remaining() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, b := range s.bounds {
		n += max(0, b.End-b.Next)
	}
	return n
}

// UntilComplete returns a child of ctx that is cancelled once every record
// within the bounds is finished (at once if none is left). Run the pipeline
// under it; the caller must call cancel.
func (s *BoundedSource) UntilComplete(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.onComplete = cancel
	s.mu.Unlock()
	if s.Remaining() == 0 {
		cancel()
	}
	return ctx, cancel
}

// Close closes the reader.
func (s *BoundedSource) Close() error { return s.r.Close() }

// MessageWriter writes messages (a *kafka.Writer).
type MessageWriter interface {
	WriteMessages(ctx context.Context, msgs ...kafka.Message) error
}

// RefWriter is the dead-letter writer of a run over a BoundedSource: it
// removes RefHeader from each record, writes the records to W (nil: writes
// nothing, a dry run), and then reports each one to OnDeadLetter with the
// partition and offset of the record it came from.
type RefWriter struct {
	W            MessageWriter
	OnDeadLetter func(partition int, offset int64, rec Record)
}

// WriteMessages implements pipeline.DeadLetterWriter.
func (w RefWriter) WriteMessages(ctx context.Context, msgs ...kafka.Message) error {
	type ref struct {
		partition int
		offset    int64
		rec       Record
	}
	var refs []ref
	for i := range msgs {
		if p, o, ok := takeRef(&msgs[i]); ok {
			refs = append(refs, ref{p, o, recordOf(msgs[i])})
		}
	}
	if w.W != nil {
		if err := w.W.WriteMessages(ctx, msgs...); err != nil {
			return err
		}
	}
	if w.OnDeadLetter != nil {
		for _, r := range refs {
			w.OnDeadLetter(r.partition, r.offset, r.rec)
		}
	}
	return nil
}

// takeRef removes RefHeader from m and returns the position it names.
func takeRef(m *kafka.Message) (partition int, offset int64, ok bool) {
	for i, h := range m.Headers {
		if h.Key != RefHeader {
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
