package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/rules"
)

// memSource is an in-memory Source: a log of messages per partition and
// one generation at a time that claims every partition of the log (or the
// claims a test scripts), reading from the committed offsets. It records
// commits, and fails one that moves an offset backwards or comes from a
// generation that is over.
type memSource struct {
	mu        sync.Mutex
	log       map[TopicPartition][]kafka.Message
	committed map[TopicPartition]int64 // next offset to read, as Kafka stores it
	commits   int
	late      []string // commits attempted by a generation that was over
	more      chan struct{}
	fetchErrs int  // this many fetches fail first; negative: every fetch fails
	nextErrs  int  // this many joins (Next) fail first
	bounded   bool // after the log, ErrEndOfInput instead of blocking
	gens      int
	claims    [][]TopicPartition // scripted claims of the next generations
	current   *memGen
}

func newMemSource(msgs ...kafka.Message) *memSource {
	s := &memSource{log: map[TopicPartition][]kafka.Message{}, committed: map[TopicPartition]int64{}, more: make(chan struct{})}
	for _, m := range msgs {
		tp := TopicPartition{m.Topic, m.Partition}
		s.log[tp] = append(s.log[tp], m)
	}
	return s
}

// Next implements Source: a generation claiming the next scripted claims,
// or every partition of the log.
func (s *memSource) Next(ctx context.Context) (Generation, error) {
	s.mu.Lock()
	if s.nextErrs > 0 {
		s.nextErrs--
		s.mu.Unlock()
		return nil, errors.New("[27] Rebalance In Progress: the coordinator is rebalancing the group")
	}
	if s.bounded && s.gens > 0 {
		s.mu.Unlock()
		return nil, ErrEndOfInput
	}
	tps := make([]TopicPartition, 0, len(s.log))
	if len(s.claims) > 0 {
		tps, s.claims = s.claims[0], s.claims[1:]
	} else {
		for tp := range s.log {
			tps = append(tps, tp)
		}
	}
	g := &memGen{src: s, id: s.gens, done: make(chan struct{})}
	for _, tp := range tps {
		g.claims = append(g.claims, Claim{TopicPartition: tp, Offset: s.committed[tp]})
	}
	s.gens++
	s.current = g
	s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return g, nil
}

// revoke ends the current generation, as a rebalance would.
func (s *memSource) revoke() {
	s.mu.Lock()
	g := s.current
	s.mu.Unlock()
	g.end()
}

func (s *memSource) committedOffset(topic string, partition int) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.committed[TopicPartition{topic, partition}]
}

// memGen is one generation of a memSource.
type memGen struct {
	src    *memSource
	id     int
	claims []Claim
	done   chan struct{}
	once   sync.Once
	over   bool // its Start function returned
}

func (g *memGen) end() { g.once.Do(func() { close(g.done) }) }

func (g *memGen) Claims() []Claim { return g.claims }

func (g *memGen) Start(fn func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-g.done
		cancel()
	}()
	go func() {
		fn(ctx)
		g.src.mu.Lock()
		g.over = true
		g.src.mu.Unlock()
		g.end()
	}()
}

func (g *memGen) Reader(c Claim) PartitionReader {
	return &memReader{src: g.src, tp: c.TopicPartition, offset: c.Offset}
}

func (g *memGen) Commit(_ context.Context, offsets map[TopicPartition]int64) error {
	s := g.src
	s.mu.Lock()
	defer s.mu.Unlock()
	if g.over {
		s.late = append(s.late, fmt.Sprintf("generation %d committed %v after it was over", g.id, offsets))
		return errors.New("generation ended")
	}
	s.commits++
	for tp, o := range offsets {
		if o < s.committed[tp] {
			return fmt.Errorf("commit moved %v backwards: %d after %d", tp, o, s.committed[tp])
		}
		s.committed[tp] = o
	}
	return nil
}

// memReader reads one partition of a memSource's log.
type memReader struct {
	src    *memSource
	tp     TopicPartition
	offset int64
}

func (r *memReader) FetchMessage(ctx context.Context) (kafka.Message, error) {
	s := r.src
	for {
		s.mu.Lock()
		if s.fetchErrs != 0 {
			s.fetchErrs--
			s.mu.Unlock()
			return kafka.Message{}, errors.New("dial tcp 127.0.0.1:9092: connection refused")
		}
		for _, m := range s.log[r.tp] {
			if m.Offset >= r.offset {
				r.offset = m.Offset + 1
				s.mu.Unlock()
				return m, nil
			}
		}
		bounded, more := s.bounded, s.more
		s.mu.Unlock()
		if bounded {
			return kafka.Message{}, ErrEndOfInput
		}
		select {
		case <-ctx.Done():
			return kafka.Message{}, ctx.Err()
		case <-more:
		}
	}
}

func (r *memReader) Close() error { return nil }

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
	// answers and answerFn: the same for Answer.
	answers  []remediate.Answer
	answerFn func(a remediate.Answer) (remediate.Outcome, error)
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

func (e *funcDecider) Answer(ctx context.Context, a remediate.Answer) (remediate.Outcome, error) {
	e.mu.Lock()
	e.answers = append(e.answers, a)
	fn := e.answerFn
	e.mu.Unlock()
	if fn == nil {
		return remediate.Outcome{Result: remediate.ResultSuspended}, nil
	}
	return fn(a)
}

func (e *funcDecider) allAnswers() []remediate.Answer {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]remediate.Answer(nil), e.answers...)
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
	_ Generation       = (*memGen)(nil)
	_ DeadLetterWriter = (*memDLQ)(nil)
	_ Decider          = (*funcDecider)(nil)
	_ Decoder          = nopDecoder{}
	_ Evaluator        = nopRules{}
)

// memTopic is a DeadLetterWriter that appends to a topic of a memSource
// (partition 0), as the retry topic's writer does.
type memTopic struct {
	src   *memSource
	topic string
}

func (w memTopic) WriteDeadLetter(_ context.Context, _, m kafka.Message) error {
	s := w.src
	s.mu.Lock()
	defer s.mu.Unlock()
	tp := TopicPartition{w.topic, 0}
	m.Topic, m.Partition, m.Offset, m.Time = w.topic, 0, int64(len(s.log[tp])), time.Now()
	m.HighWaterMark = m.Offset + 1
	s.log[tp] = append(s.log[tp], m)
	close(s.more)
	s.more = make(chan struct{})
	return nil
}

// topic returns the messages of a topic's partition 0.
func (s *memSource) topic(name string) []kafka.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]kafka.Message(nil), s.log[TopicPartition{name, 0}]...)
}

// nopDecoder and nopRules decode nothing and decide nothing, for tests
// that only build a Consumer.
type nopDecoder struct{}

func (nopDecoder) Decode([]byte, event.Format) ([]event.Event, error) { return nil, nil }

type nopRules struct{}

func (nopRules) Evaluate(*event.Event) rules.Result { return rules.Result{} }

// outcomeLog records what Deps.OnOutcome was told, in order.
type outcomeLog struct {
	mu  sync.Mutex
	got []MessageOutcome
}

func (l *outcomeLog) hook(_ context.Context, o MessageOutcome) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, o)
}

func (l *outcomeLog) all() []MessageOutcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]MessageOutcome(nil), l.got...)
}
