package kafkaio

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/kafkatest"
)

func remaining(bounds map[int]Bound) (n int64) {
	for _, b := range bounds {
		n += b.End - b.Next
	}
	return n
}

// TestBoundedSourceStopsAtTheStartEnd produces three records, takes the
// bounds, produces a fourth, and checks that the source hands out and
// commits only the first three, reports completion, and that the group's
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
	runCtx, stop := src.UntilComplete(ctx)
	defer stop()
	for i := range 3 {
		m, err := src.FetchMessage(runCtx)
		if err != nil {
			t.Fatalf("fetch %d: %v", i, err)
		}
		if got, want := headerValue(m, RefHeader), fmt.Sprintf("%d@%d", m.Partition, m.Offset); got != want {
			t.Errorf("ref header %q, want %q", got, want)
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
	select {
	case <-runCtx.Done():
	default:
		t.Fatalf("not complete after three records; %d remaining", src.Remaining())
	}
	if _, err := src.FetchMessage(runCtx); err == nil {
		t.Error("fetch after the end returned a record")
	}
	mu.Lock()
	if len(fetched) != 3 || len(done) == 0 {
		t.Errorf("fetched %d records, done %v", len(fetched), done)
	}
	for _, r := range fetched {
		if r.Headers["n"] == "3" || r.Headers[RefHeader] != "" {
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

func headerValue(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

type writes struct{ msgs []kafka.Message }

func (w *writes) WriteMessages(_ context.Context, msgs ...kafka.Message) error {
	w.msgs = append(w.msgs, msgs...)
	return nil
}

func TestRefWriterStripsTheRef(t *testing.T) {
	t.Parallel()
	var w writes
	var got []string
	rw := RefWriter{W: &w, OnDeadLetter: func(p int, o int64, r Record) {
		got = append(got, fmt.Sprintf("%d@%d class=%s", p, o, r.Headers["class"]))
	}}
	in := []kafka.Message{
		{Value: []byte("a"), Headers: []kafka.Header{{Key: "class", Value: []byte("decode")}, {Key: RefHeader, Value: []byte("2@41")}}},
		{Value: []byte("b"), Headers: []kafka.Header{{Key: "class", Value: []byte("other")}}},
	}
	if err := rw.WriteMessages(t.Context(), in...); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "2@41 class=decode" {
		t.Errorf("reported %q", got)
	}
	if len(w.msgs) != 2 || headerValue(w.msgs[0], RefHeader) != "" || len(w.msgs[0].Headers) != 1 {
		t.Errorf("written %+v", w.msgs)
	}
	if err := (RefWriter{}).WriteMessages(t.Context(), in...); err != nil {
		t.Errorf("dry run: %v", err)
	}
}
