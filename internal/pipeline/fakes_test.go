package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

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
	fetchErrs int // this many fetches fail first; negative: every fetch fails
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
		s.mu.Unlock()
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
	err      error
	maxValue int // when positive, larger values fail as a broker would
}

func (d *memDLQ) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return d.err
	}
	for _, m := range msgs {
		if d.maxValue > 0 && len(m.Value) > d.maxValue {
			return kafka.WriteErrors{fmt.Errorf("write: %w", kafka.MessageSizeTooLarge)}
		}
	}
	d.msgs = append(d.msgs, msgs...)
	return nil
}

func (d *memDLQ) records() []kafka.Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]kafka.Message(nil), d.msgs...)
}

// funcExecutor is an Executor whose behaviour each test sets.
type funcExecutor struct {
	mu    sync.Mutex
	calls []remediate.Request
	fn    func(ctx context.Context, n int, req remediate.Request) (remediate.Outcome, error)
}

func (e *funcExecutor) Execute(ctx context.Context, req remediate.Request) (remediate.Outcome, error) {
	e.mu.Lock()
	e.calls = append(e.calls, req)
	n := len(e.calls)
	e.mu.Unlock()
	return e.fn(ctx, n, req)
}

func (e *funcExecutor) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.calls)
}

// memRecorder records audit records.
type memRecorder struct {
	mu   sync.Mutex
	recs []AuditRecord
}

func (r *memRecorder) Record(_ context.Context, rec AuditRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	return nil
}

func (r *memRecorder) all() []AuditRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]AuditRecord(nil), r.recs...)
}

// retryableErr is a transient error with an optional Retry-After.
type retryableErr struct{ after time.Duration }

func (e retryableErr) Error() string                  { return "503 unavailable" }
func (e retryableErr) Retryable() bool                { return true }
func (e retryableErr) RetryAfterDelay() time.Duration { return e.after }

var (
	_ Source           = (*memSource)(nil)
	_ DeadLetterWriter = (*memDLQ)(nil)
	_ Executor         = (*funcExecutor)(nil)
	_ Recorder         = (*memRecorder)(nil)
)
