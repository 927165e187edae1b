package pipeline

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// committer batches offset commits: it remembers, per partition, the last
// message that reached a final outcome (partition workers finish messages
// in order, so that is the highest contiguous one) and commits them all
// every interval, or sooner once batch messages finished.
type committer struct {
	src      Source
	batch    int
	log      *slog.Logger
	metrics  *Metrics
	onCommit func(n int64)

	mu        sync.Mutex
	pending   map[partitionKey]kafka.Message
	committed map[partitionKey]int64 // highest offset committed by this consumer
	finished  int64                  // finished since the last commit
	full      chan struct{}
}

func newCommitter(src Source, batch int, log *slog.Logger, m *Metrics, onCommit func(int64)) *committer {
	return &committer{
		src: src, batch: batch, log: log, metrics: m, onCommit: onCommit,
		pending:   map[partitionKey]kafka.Message{},
		committed: map[partitionKey]int64{},
		full:      make(chan struct{}, 1),
	}
}

// done records that msg, and every earlier message of its partition,
// reached a final outcome. A message redelivered after a rejoin (older than
// what is pending or committed already) never moves the offset back.
func (c *committer) done(msg kafka.Message) {
	key := partitionKey{msg.Topic, msg.Partition}
	c.mu.Lock()
	if cur, ok := c.pending[key]; (!ok || cur.Offset < msg.Offset) && msg.Offset > c.committedOffset(key) {
		c.pending[key] = kafka.Message{Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset}
	}
	c.finished++
	full := c.finished >= int64(c.batch)
	c.mu.Unlock()
	if full {
		select {
		case c.full <- struct{}{}:
		default:
		}
	}
}

// run commits every interval and whenever a batch is full, until ctx is done.
func (c *committer) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.full:
		}
		if err := c.flush(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("offset commit failed; retrying at the next interval", "error", err)
		}
	}
}

// flush commits what is pending. On failure the offsets stay pending.
func (c *committer) flush(ctx context.Context) error {
	c.mu.Lock()
	if len(c.pending) == 0 {
		// Only redelivered messages finished: their offsets are committed.
		n := c.finished
		c.finished = 0
		c.mu.Unlock()
		if n > 0 {
			c.onCommit(n)
		}
		return nil
	}
	msgs := make([]kafka.Message, 0, len(c.pending))
	for _, m := range c.pending {
		msgs = append(msgs, m)
	}
	n := c.finished
	c.pending = map[partitionKey]kafka.Message{}
	c.finished = 0
	c.mu.Unlock()

	if err := c.src.CommitMessages(ctx, msgs...); err != nil {
		c.mu.Lock()
		for _, m := range msgs {
			key := partitionKey{m.Topic, m.Partition}
			if cur, ok := c.pending[key]; !ok || cur.Offset < m.Offset {
				c.pending[key] = m
			}
		}
		c.finished += n
		c.mu.Unlock()
		return err
	}
	c.mu.Lock()
	for _, m := range msgs {
		c.committed[partitionKey{m.Topic, m.Partition}] = max(c.committedOffset(partitionKey{m.Topic, m.Partition}), m.Offset)
	}
	c.mu.Unlock()
	c.metrics.commits.Add(ctx, 1)
	c.onCommit(n)
	return nil
}

// committedOffset is the highest offset this consumer committed for key, or
// -1. The caller holds c.mu.
func (c *committer) committedOffset(key partitionKey) int64 {
	if off, ok := c.committed[key]; ok {
		return off
	}
	return -1
}
