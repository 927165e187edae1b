package kafkaio

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/kafkatest"
	"github.com/tripline-dev/tripline/internal/pipeline"
)

func remaining(bounds map[int]Bound) (n int64) {
	for _, b := range bounds {
		n += b.End - b.Next
	}
	return n
}

// TestBoundedSourceStopsAtTheStartEnd produces three records, takes the
// bounds, produces a fourth, and checks that the source hands out and
// commits only the first three, then answers end of input, and that the group's
// next run starts at the fourth; the group membership and ReadN are
// checked along the way.
func TestBoundedSourceStopsAtTheStartEnd(t *testing.T) {
	t.Parallel()
	const topic = "dlq"
	addr := kafkatest.Start(t, kafkatest.WithTopics(topic), kafkatest.WithPartitions(2))
	conn, err := NewConnection(Config{Brokers: []string{addr}, ClientID: "bounded-test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	rec := func(i int) Record {
		return Record{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i), Headers: map[string]string{"n": fmt.Sprint(i)}}
	}
	if err := conn.Produce(ctx, topic, rec(0), rec(1), rec(2)); err != nil {
		t.Fatal(err)
	}
	bounds, err := conn.PartitionBounds(ctx, topic, "replay")
	if err != nil || remaining(bounds) != 3 {
		t.Fatalf("bounds %+v, %v: want 3 records", bounds, err)
	}
	if err := conn.Produce(ctx, topic, rec(3)); err != nil {
		t.Fatal(err)
	}

	var fetched []kafka.Message
	src, err := conn.NewBoundedSource(bounds, BoundedConfig{
		Topic: topic, GroupID: "replay", Commit: true, SessionTimeout: time.Second, MaxWait: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if n := src.Remaining(); n != 3 {
		t.Fatalf("Remaining() = %d, want 3", n)
	}
	gen, err := src.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.GroupMember(ctx, "replay", "bounded-test"); err != nil {
		t.Errorf("GroupMember while replaying: %v", err)
	}
	if err := conn.GroupMember(ctx, "replay", "someone-else"); err == nil {
		t.Error("GroupMember found someone-else")
	}
	claims := gen.Claims()
	if len(claims) != 2 {
		t.Fatalf("claims %v: want both partitions", claims)
	}
	for _, cl := range claims {
		r := gen.Reader(cl)
		for {
			m, err := r.FetchMessage(ctx)
			if errors.Is(err, pipeline.ErrEndOfInput) {
				break
			}
			if err != nil {
				t.Fatalf("fetch %v: %v", cl, err)
			}
			fetched = append(fetched, m)
			if err := gen.Commit(ctx, map[pipeline.TopicPartition]int64{cl.TopicPartition: m.Offset + 1}); err != nil {
				t.Fatal(err)
			}
		}
		r.Close()
	}
	if _, err := src.Next(ctx); !errors.Is(err, pipeline.ErrEndOfInput) {
		t.Errorf("Next after the end = %v, want ErrEndOfInput", err)
	}
	if len(fetched) != 3 {
		t.Errorf("fetched %d records, want the 3 there were at the start", len(fetched))
	}
	for _, m := range fetched {
		if recordOf(m).Headers["n"] == "3" {
			t.Errorf("fetched %+v, written after the start", m)
		}
	}
	if next, err := conn.PartitionBounds(ctx, topic, "replay"); err != nil || remaining(next) != 1 {
		t.Errorf("bounds after the run %+v, %v: want the fourth record left", next, err)
	}

	all, err := conn.ReadN(ctx, topic, "reader", 4)
	if err != nil || len(all) != 4 {
		t.Fatalf("ReadN: %d records, %v", len(all), err)
	}
	for _, r := range all {
		if r.Topic != topic || r.Headers["n"] != string(r.Value[1:]) {
			t.Errorf("ReadN record %+v", r)
		}
	}
}

// TestSecondReplayOfAGroupIsRefused starts a replay, then a second one of
// the same group: the second gets only part of the topic and refuses to
// run, and the first, whose generation was taken away, stops with
// ErrReplayContended instead of reading on.
func TestSecondReplayOfAGroupIsRefused(t *testing.T) {
	t.Parallel()
	const topic = "dlq"
	addr := kafkatest.Start(t, kafkatest.WithTopics(topic), kafkatest.WithPartitions(2))
	conn, err := NewConnection(Config{Brokers: []string{addr}, ClientID: "contended-test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for i := range 4 {
		if err := conn.Produce(ctx, topic, Record{Key: fmt.Appendf(nil, "k%d", i), Value: []byte("v")}); err != nil {
			t.Fatal(err)
		}
	}
	bounds, err := conn.PartitionBounds(ctx, topic, "replay")
	if err != nil {
		t.Fatal(err)
	}
	open := func() *BoundedSource {
		src, err := conn.NewBoundedSource(bounds, BoundedConfig{Topic: topic, GroupID: "replay", SessionTimeout: time.Second, MaxWait: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		return src
	}
	first := open()
	gen, err := first.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	revoked := make(chan struct{})
	gen.Start(func(genCtx context.Context) {
		<-genCtx.Done()
		close(revoked)
	})
	if _, err := open().Next(ctx); !errors.Is(err, ErrReplayContended) {
		t.Errorf("second replay's Next = %v, want ErrReplayContended", err)
	}
	select {
	case <-revoked:
	case <-ctx.Done():
		t.Fatal("the first replay's generation was never revoked")
	}
	if _, err := first.Next(ctx); !errors.Is(err, ErrReplayContended) {
		t.Errorf("first replay's Next after losing its generation = %v, want ErrReplayContended", err)
	}
}
