package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/remediate"
)

// memSource is an in-memory Source: it hands out the queued messages in
// order, then blocks until ctx is done, and records commits.
type memSource struct {
	mu        sync.Mutex
	queue     []kafka.Message
	next      int
	committed map[partitionKey]int64 // next offset to read, as Kafka stores it
	commits   int
	more      chan struct{}
	fetchErrs int  // this many fetches fail first; negative: every fetch fails
	bounded   bool // after the queue, ErrEndOfInput instead of blocking
}

func newMemSource(msgs ...kafka.Message) *memSource {
	return &memSource{queue: msgs, committed: map[partitionKey]int64{}, more: make(chan struct{}, 1)}
}

func (s *memSource) FetchMessage(ctx context.Context) (kafka.Message, error) {
	for {
		s.mu.Lock()
		if s.fetchErrs != 0 {
			s.fetchErrs--
			s.mu.Unlock()
			return kafka.Message{}, errors.New("dial tcp 127.0.0.1:9092: connection refused")
		}
		if s.next < len(s.queue) {
			m := s.queue[s.next]
			s.next++
			s.mu.Unlock()
			return m, nil
		}
		bounded := s.bounded
		s.mu.Unlock()
		if bounded {
			return kafka.Message{}, ErrEndOfInput
		}
		select {
		case <-ctx.Done():
			return kafka.Message{}, ctx.Err()
		case <-s.more:
		}
	}
}

func (s *memSource) CommitMessages(_ context.Context, msgs ...kafka.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits++
	for _, m := range msgs {
		k := partitionKey{m.Topic, m.Partition}
		if m.Offset+1 < s.committed[k] {
			return errors.New("commit moved backwards")
		}
		s.committed[k] = m.Offset + 1
	}
	return nil
}

func (s *memSource) committedOffset(topic string, partition int) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.committed[partitionKey{topic, partition}]
}

// memDLQ records dead letters; err makes every write fail.
type memDLQ struct {
	mu       sync.Mutex
	msgs     []kafka.Message
	sources  []kafka.Message
	err      error
	maxValue int // when positive, larger records fail as a broker would
}

func (d *memDLQ) WriteDeadLetter(_ context.Context, source, m kafka.Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	size := len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		size += len(h.Key) + len(h.Value)
	}
	if d.maxValue > 0 && size > d.maxValue {
		return kafka.WriteErrors{fmt.Errorf("write: %w", kafka.MessageSizeTooLarge)}
	}
	d.msgs = append(d.msgs, m)
	d.sources = append(d.sources, source)
	return nil
}

func (d *memDLQ) records() []kafka.Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]kafka.Message(nil), d.msgs...)
}

// funcDecider is a Decider whose behaviour each test sets; by default every
// decision is suspended.
type funcDecider struct {
	mu    sync.Mutex
	calls []remediate.Decision
	ctxs  []context.Context
	fn    func(ctx context.Context, n int, d remediate.Decision) (remediate.Outcome, error)
}

func (e *funcDecider) Decide(ctx context.Context, d remediate.Decision) (remediate.Outcome, error) {
	e.mu.Lock()
	e.calls = append(e.calls, d)
	e.ctxs = append(e.ctxs, ctx)
	n := len(e.calls)
	e.mu.Unlock()
	if e.fn == nil {
		return remediate.Outcome{Decision: d, Result: remediate.ResultSuspended}, nil
	}
	return e.fn(ctx, n, d)
}

func (e *funcDecider) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.calls)
}

func (e *funcDecider) all() []remediate.Decision {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]remediate.Decision(nil), e.calls...)
}

var (
	_ Source           = (*memSource)(nil)
	_ DeadLetterWriter = (*memDLQ)(nil)
	_ Decider          = (*funcDecider)(nil)
)
