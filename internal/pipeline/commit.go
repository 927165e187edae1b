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

	mu       sync.Mutex
	pending  map[partitionKey]kafka.Message
	finished int64 // finished since the last commit
	full     chan struct{}
}

func newCommitter(src Source, batch int, log *slog.Logger, m *Metrics, onCommit func(int64)) *committer {
	return &committer{
		src: src, batch: batch, log: log, metrics: m, onCommit: onCommit,
		pending: map[partitionKey]kafka.Message{},
		full:    make(chan struct{}, 1),
	}
}

// done records that msg, and every earlier message of its partition,
// reached a final outcome.
func (c *committer) done(msg kafka.Message) {
	c.mu.Lock()
	c.pending[partitionKey{msg.Topic, msg.Partition}] = kafka.Message{Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset}
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
		c.mu.Unlock()
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
	c.metrics.commits.Add(ctx, 1)
	c.onCommit(n)
	return nil
}
