package kafkaio

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

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

	var mu sync.Mutex
	var fetched []Record
	done := map[int]int64{}
	src := NewBoundedSource(conn.NewReader(ReaderConfig{GroupID: "replay", Topics: []string{topic}, MaxWait: 100 * time.Millisecond, SessionTimeout: time.Second, StartFromEarliest: true}),
		bounds, BoundedConfig{
			Commit:  true,
			OnFetch: func(r Record) { mu.Lock(); fetched = append(fetched, r); mu.Unlock() },
			OnDone:  func(p int, o int64) { mu.Lock(); done[p] = o; mu.Unlock() },
		})
	defer src.Close()
	for i := range 3 {
		m, err := src.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
		if i == 0 {
			if err := conn.GroupMember(ctx, "replay", "bounded-test"); err != nil {
				t.Errorf("GroupMember while fetching: %v", err)
			}
			if err := conn.GroupMember(ctx, "replay", "someone-else"); err == nil {
				t.Error("GroupMember found someone-else")
			}
		}
		if err := src.CommitMessages(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if n := src.Remaining(); n != 0 {
		t.Fatalf("%d remaining after three records", n)
	}
	if _, err := src.FetchMessage(ctx); !errors.Is(err, pipeline.ErrEndOfInput) {
		t.Errorf("fetch after the end = %v, want ErrEndOfInput", err)
	}
	mu.Lock()
	if len(fetched) != 3 || len(done) == 0 {
		t.Errorf("fetched %d records, done %v", len(fetched), done)
	}
	for _, r := range fetched {
		if r.Headers["n"] == "3" {
			t.Errorf("fetched %+v", r)
		}
	}
	mu.Unlock()
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
