package kafkaio

import (
	"context"
	"sync"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/pipeline"
)

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
// bounds from PartitionBounds), then answers pipeline.ErrEndOfInput, so
// the pipeline finishes them, commits and returns. Records written to the
// topic after the start are left for the next run.
type BoundedSource struct {
	r   *kafka.Reader
	cfg BoundedConfig

	mu     sync.Mutex
	bounds map[int]*bound
}

// bound is a partition's Bound plus whether its last record was handed out.
type bound struct {
	Bound
	fetched bool
}

// NewBoundedSource reads r (a group reader over one topic) within bounds.
// The source owns r: Close closes it.
func NewBoundedSource(r *kafka.Reader, bounds map[int]Bound, cfg BoundedConfig) *BoundedSource {
	s := &BoundedSource{r: r, cfg: cfg, bounds: make(map[int]*bound, len(bounds))}
	for p, b := range bounds {
		s.bounds[p] = &bound{Bound: b}
	}
	return s
}

// FetchMessage implements pipeline.Source. Once every record below the
// bounds was handed out it returns pipeline.ErrEndOfInput.
func (s *BoundedSource) FetchMessage(ctx context.Context) (kafka.Message, error) {
	for {
		if s.allFetched() {
			return kafka.Message{}, pipeline.ErrEndOfInput
		}
		msg, err := s.r.FetchMessage(ctx)
		if err != nil {
			return msg, err
		}
		if s.take(msg) {
			if s.cfg.OnFetch != nil {
				s.cfg.OnFetch(recordOf(msg))
			}
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

// Close closes the reader.
func (s *BoundedSource) Close() error { return s.r.Close() }
