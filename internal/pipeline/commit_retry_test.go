package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/segmentio/kafka-go"
)

// commitOutage is a Source over a memSource whose generations' commits
// fail while down is set, as when the group's coordinator died; it counts
// the attempts.
type commitOutage struct {
	*memSource
	down     atomic.Bool
	attempts atomic.Int64
}

func (s *commitOutage) Next(ctx context.Context) (Generation, error) {
	g, err := s.memSource.Next(ctx)
	if err != nil {
		return nil, err
	}
	return outageGen{Generation: g, s: s}, nil
}

type outageGen struct {
	Generation
	s *commitOutage
}

func (g outageGen) Commit(ctx context.Context, offsets map[TopicPartition]int64) error {
	g.s.attempts.Add(1)
	if g.s.down.Load() {
		return errors.New("write tcp 127.0.0.1:1->127.0.0.1:2: use of closed network connection")
	}
	return g.Generation.Commit(ctx, offsets)
}

// TestFailedCommitWaitsForTheInterval: once every message finished and
// the commit fails, the consumer tries again once per CommitInterval, not
// at every tick of its caught-up check (twenty per interval); when commits
// work again, everything is committed.
func TestFailedCommitWaitsForTheInterval(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var msgs []kafka.Message
		for i := range 10 {
			msgs = append(msgs, msg("signins", 0, int64(i), oktaSignIn(fmt.Sprint("e", i), fmt.Sprintf("u%d@example.com", i), "LOW")))
		}
		h := newHarness(t, Config{CommitInterval: time.Second}, msgs...)
		src := &commitOutage{memSource: h.src}
		src.down.Store(true)
		h.consumer.deps.Source = src
		stop := h.start(t)
		synctest.Wait()
		if n := h.consumer.Stats().Consumed; n != 10 {
			t.Fatalf("%d messages consumed, want 10", n)
		}
		before := src.attempts.Load()
		elapse(10 * time.Second)
		if n := src.attempts.Load() - before; n < 5 || n > 11 {
			t.Errorf("%d commit attempts in 10 s of failing commits with a 1 s interval, want about 10", n)
		}
		src.down.Store(false)
		elapse(2 * time.Second)
		if got := h.src.committedOffset("signins", 0); got != 10 {
			t.Errorf("committed offset %d once commits work again, want 10", got)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
}
