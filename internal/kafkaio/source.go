package kafkaio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/pipeline"
)

// GroupConfig configures a GroupSource: the consumer group, its topics and
// how each partition is read.
type GroupConfig struct {
	GroupID string
	Topics  []string
	// SessionTimeout is the group session timeout (default 10s); the
	// rebalance timeout, the time a member gets to finish the work of the
	// partitions it loses, is the same.
	SessionTimeout time.Duration
	// StartFromEarliest starts a partition without a committed offset at
	// its first offset instead of its end.
	StartFromEarliest bool
	// MaxBytes bounds one fetch (and so the largest message readable); 0
	// means 1 MB. MaxWait is how long a fetch waits for data.
	MaxBytes int
	MaxWait  time.Duration
	// QueueCapacity is how many messages each partition's reader holds
	// ahead (0: DefaultPartitionQueue).
	QueueCapacity int
	// Logger receives the group's errors at warn level (nil: discarded).
	Logger *slog.Logger
}

// rejoinBackoff is how long the consumer group waits before it joins again
// after losing its coordinator (kafka-go's default is 5s): when the broker
// that coordinated the group dies, another takes over within seconds of
// its death, and the group should join it as soon as it does.
const rejoinBackoff = time.Second

// GroupSource is the pipeline's Source over a Kafka consumer group: one
// generation per rebalance, each partition read by its own reader from the
// group's committed offset, commits bound to the generation (so a member
// that lost a partition can no longer commit it).
type GroupSource struct {
	conn  *Connection
	cfg   GroupConfig
	group consumerGroup
	log   *slog.Logger
	// member is the member id of the last generation Next returned; stale,
	// one kafka-go dropped that the coordinator may still hold (stale.go).
	// Only Next uses them, and Next is not called concurrently.
	member, stale string
}

// NewGroupSource joins nothing yet: the first Next does.
func (c *Connection) NewGroupSource(cfg GroupConfig) (*GroupSource, error) {
	session := cfg.SessionTimeout
	if session <= 0 {
		session = 10 * time.Second
	}
	start := kafka.LastOffset
	if cfg.StartFromEarliest {
		start = kafka.FirstOffset
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:                    cfg.GroupID,
		Brokers:               c.Brokers,
		Dialer:                c.Dialer,
		Topics:                cfg.Topics,
		SessionTimeout:        session,
		RebalanceTimeout:      session,
		HeartbeatInterval:     max(session/4, 500*time.Millisecond),
		WatchPartitionChanges: true,
		StartOffset:           start,
		JoinGroupBackoff:      rejoinBackoff,
		ErrorLogger:           kafka.LoggerFunc(func(msg string, args ...any) { log.Warn("kafka consumer group: " + fmt.Sprintf(msg, args...)) }),
	})
	if err != nil {
		return nil, fmt.Errorf("consumer group %s: %w", cfg.GroupID, err)
	}
	return &GroupSource{conn: c, cfg: cfg, group: g, log: log}, nil
}

// Next implements pipeline.Source: it blocks until this member joined the
// group's next generation. Meanwhile it removes from the group the member
// id kafka-go dropped after an error, if the coordinator may still hold it
// (stale.go), so that the join does not wait for that member's session to
// time out.
func (s *GroupSource) Next(ctx context.Context) (pipeline.Generation, error) {
	stop := s.removeStale(ctx)
	gen, err := s.group.Next(ctx)
	stop()
	if err != nil {
		if s.member != "" && ctx.Err() == nil && droppedMember(err) {
			s.stale, s.member = s.member, ""
			s.log.Info("removing the consumer group member id dropped after an error while joining again", "group", s.cfg.GroupID, "member_id", s.stale)
		}
		return nil, err
	}
	// A generation formed: a stale member is gone (removed, or timed out).
	s.member, s.stale = gen.MemberID, ""
	return &groupGeneration{src: s, gen: gen}, nil
}

// Close leaves the group.
func (s *GroupSource) Close() error { return s.group.Close() }

// groupGeneration is one generation of a GroupSource.
type groupGeneration struct {
	src *GroupSource
	gen *kafka.Generation
}

func (g *groupGeneration) Claims() []pipeline.Claim {
	var out []pipeline.Claim
	for topic, parts := range g.gen.Assignments {
		for _, p := range parts {
			out = append(out, pipeline.Claim{TopicPartition: pipeline.TopicPartition{Topic: topic, Partition: p.ID}, Offset: p.Offset})
		}
	}
	return out
}

func (g *groupGeneration) Start(fn func(ctx context.Context)) { g.gen.Start(fn) }

func (g *groupGeneration) Reader(cl pipeline.Claim) pipeline.PartitionReader {
	return g.src.conn.partitionReader(cl, g.src.cfg.MaxBytes, g.src.cfg.MaxWait, g.src.cfg.QueueCapacity)
}

func (g *groupGeneration) Commit(_ context.Context, offsets map[pipeline.TopicPartition]int64) error {
	byTopic := map[string]map[int]int64{}
	for tp, o := range offsets {
		if byTopic[tp.Topic] == nil {
			byTopic[tp.Topic] = map[int]int64{}
		}
		byTopic[tp.Topic][tp.Partition] = o
	}
	return g.gen.CommitOffsets(byTopic)
}

// DefaultPartitionQueue is the read-ahead of one partition's reader, in
// messages. A member reads each of its partitions with its own reader, so
// with messages of up to a megabyte this is what each partition holds in
// memory before the pipeline's own budget (kafka.buffer_bytes) applies.
const DefaultPartitionQueue = 4

// partitionReader reads one partition from cl.Offset (absolute, or
// kafka.FirstOffset / kafka.LastOffset).
func (c *Connection) partitionReader(cl pipeline.Claim, maxBytes int, maxWait time.Duration, queue int) *kafka.Reader {
	if maxBytes <= 0 {
		maxBytes = 1e6
	}
	if queue <= 0 {
		queue = DefaultPartitionQueue
	}
	if maxWait <= 0 {
		maxWait = 500 * time.Millisecond
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: c.Brokers, Dialer: c.Dialer, Topic: cl.Topic, Partition: cl.Partition,
		MinBytes: 1, MaxBytes: maxBytes, MaxWait: maxWait, QueueCapacity: queue,
		ReadBackoffMin: 50 * time.Millisecond, ReadBackoffMax: time.Second,
	})
	r.SetOffset(cl.Offset)
	return r
}

// BoundedConfig configures a BoundedSource.
type BoundedConfig struct {
	// Topic and GroupID: the DLQ and the group that remembers where the
	// replay stopped.
	Topic, GroupID string
	// Commit commits finished offsets to GroupID; without it nothing is
	// committed (a dry run).
	Commit bool
	// SessionTimeout, MaxBytes and MaxWait are the group's and the
	// readers' (see GroupConfig).
	SessionTimeout time.Duration
	MaxBytes       int
	MaxWait        time.Duration
	// Logger receives the group's errors at warn level (nil: discarded).
	Logger *slog.Logger
}

// ErrReplayContended says another member joined the replay's group while
// it ran: most likely a second replay of the same group.
var ErrReplayContended = errors.New("another member joined the replay group (is a second replay of this group running?)")

// BoundedSource is the pipeline's Source for the DLQ replay: it joins
// GroupID alone and reads every partition of Topic from where the group
// stopped up to the high-water marks seen at the start (PartitionBounds),
// then answers pipeline.ErrEndOfInput. Records written after the start are
// left for the next run. Offsets are committed within the group's
// generation, so a second replay of the same group that joins takes the
// partitions away from this one, which then stops with
// ErrReplayContended after committing what it finished: two replays never
// act on the same record.
type BoundedSource struct {
	group  *GroupSource
	cfg    BoundedConfig
	bounds map[int]Bound

	mu      sync.Mutex
	started bool
}

// NewBoundedSource reads cfg.Topic within bounds.
func (c *Connection) NewBoundedSource(bounds map[int]Bound, cfg BoundedConfig) (*BoundedSource, error) {
	g, err := c.NewGroupSource(GroupConfig{
		GroupID: cfg.GroupID, Topics: []string{cfg.Topic}, SessionTimeout: cfg.SessionTimeout,
		StartFromEarliest: true, MaxBytes: cfg.MaxBytes, MaxWait: cfg.MaxWait, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	return &BoundedSource{group: g, cfg: cfg, bounds: bounds}, nil
}

// Remaining is the number of offsets left to read at the start.
func (s *BoundedSource) Remaining() int64 {
	var n int64
	for _, b := range s.bounds {
		n += max(0, b.End-b.Next)
	}
	return n
}

// Next implements pipeline.Source: it joins the group and returns its one
// generation; the next call answers pipeline.ErrEndOfInput if every
// partition reached its end, ErrReplayContended if the generation was
// taken away before.
func (s *BoundedSource) Next(ctx context.Context) (pipeline.Generation, error) {
	s.mu.Lock()
	started := s.started
	s.started = true
	s.mu.Unlock()
	if started {
		if s.finished() {
			return nil, pipeline.ErrEndOfInput
		}
		return nil, fmt.Errorf("%w: %w", pipeline.ErrPermanent, ErrReplayContended)
	}
	gen, err := s.group.group.Next(ctx)
	if err != nil {
		return nil, err
	}
	g := &boundedGeneration{groupGeneration: groupGeneration{src: s.group, gen: gen}, s: s}
	if n := len(g.Claims()); n != len(s.bounds) {
		return nil, fmt.Errorf("%w: %w: this replay got %d of the %d partitions of %s", pipeline.ErrPermanent, ErrReplayContended, n, len(s.bounds), s.cfg.Topic)
	}
	return g, nil
}

// finished reports whether every partition was committed up to its end.
func (s *BoundedSource) finished() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.bounds {
		if b.Next < b.End {
			return false
		}
	}
	return true
}

// Close leaves the group.
func (s *BoundedSource) Close() error { return s.group.Close() }

// boundedGeneration is a BoundedSource's one generation.
type boundedGeneration struct {
	groupGeneration
	s *BoundedSource
}

func (g *boundedGeneration) Reader(cl pipeline.Claim) pipeline.PartitionReader {
	s := g.s
	s.mu.Lock()
	b := s.bounds[cl.Partition]
	s.mu.Unlock()
	if cl.Offset < 0 {
		cl.Offset = b.Next // no committed offset yet: the first offset, as read at the start
	}
	if cl.Offset >= b.End {
		return endOfInput{}
	}
	return &endReader{r: s.group.conn.partitionReader(cl, s.cfg.MaxBytes, s.cfg.MaxWait, 0), end: b.End}
}

func (g *boundedGeneration) Commit(ctx context.Context, offsets map[pipeline.TopicPartition]int64) error {
	s := g.s
	if s.cfg.Commit {
		if err := g.groupGeneration.Commit(ctx, offsets); err != nil {
			return fmt.Errorf("commit replay offsets of group %s: %w", s.cfg.GroupID, err)
		}
	}
	s.mu.Lock()
	for tp, o := range offsets {
		if b, ok := s.bounds[tp.Partition]; ok {
			b.Next = max(b.Next, o)
			s.bounds[tp.Partition] = b
		}
	}
	s.mu.Unlock()
	return nil
}

// endReader reads one partition up to end, exclusive.
type endReader struct {
	r   *kafka.Reader
	end int64
}

func (b *endReader) FetchMessage(ctx context.Context) (kafka.Message, error) {
	if b.r.Offset() >= b.end {
		return kafka.Message{}, pipeline.ErrEndOfInput
	}
	msg, err := b.r.FetchMessage(ctx)
	if err != nil {
		return msg, err
	}
	if msg.Offset >= b.end {
		return kafka.Message{}, pipeline.ErrEndOfInput
	}
	return msg, nil
}

func (b *endReader) Close() error { return b.r.Close() }

// endOfInput is the reader of a partition with nothing to read.
type endOfInput struct{}

func (endOfInput) FetchMessage(context.Context) (kafka.Message, error) {
	return kafka.Message{}, pipeline.ErrEndOfInput
}

func (endOfInput) Close() error { return nil }
