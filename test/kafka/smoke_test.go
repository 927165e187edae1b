//go:build kafka

package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/kafkatest"
)

// TestSmokeGroupResumesAtCommittedOffset produces 100 messages with headers,
// consumes part of them in a consumer group, then restarts the reader and
// checks it resumes exactly at the committed offsets: nothing skipped,
// nothing read twice.
func TestSmokeGroupResumesAtCommittedOffset(t *testing.T) {
	const total, firstRun, partitions = 100, 60, 3
	brokers := kafkatest.Brokers(t)
	topic := kafkatest.NewTopic(t, brokers, partitions)
	group := topic + ".group"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	produce(ctx, t, brokers, topic, total)

	seen := make(map[int]int, total)
	consume(ctx, t, brokers, topic, group, firstRun, seen)
	consume(ctx, t, brokers, topic, group, total-firstRun, seen)
	for i := range total {
		if seen[i] != 1 {
			t.Errorf("message %d read %d times, want once", i, seen[i])
		}
	}
	assertDrained(t, brokers, topic, group)
}

// produce writes n messages keyed and headed with their sequence number.
func produce(ctx context.Context, t *testing.T, brokers, topic string, n int) {
	t.Helper()
	w := &kafka.Writer{
		Addr:         kafka.TCP(brokers),
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 10 * time.Millisecond,
		Transport:    &kafka.Transport{},
	}
	defer w.Close()
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		seq := strconv.Itoa(i)
		msgs[i] = kafka.Message{
			Key:   []byte("user-" + seq),
			Value: []byte(fmt.Sprintf(`{"seq":%d}`, i)),
			Headers: []kafka.Header{
				{Key: "seq", Value: []byte(seq)},
				{Key: "traceparent", Value: []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")},
			},
		}
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatalf("produce %d messages to %s: %v", n, topic, err)
	}
}

// newReader returns a group reader tuned for tests: a short fetch wait so a
// drained partition does not stall the others for kafka-go's 10 s default.
func newReader(brokers, topic, group string) *kafka.Reader {
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:        []string{brokers},
		GroupID:        group,
		Topic:          topic,
		MinBytes:       1,
		MaxBytes:       1 << 20,
		MaxWait:        250 * time.Millisecond,
		StartOffset:    kafka.FirstOffset,
		SessionTimeout: 10 * time.Second, // Apache Kafka's minimum is 6 s
	})
}

// consume reads n messages with one reader, checks their headers, commits
// each one and closes the reader; seen counts reads per sequence number.
func consume(ctx context.Context, t *testing.T, brokers, topic, group string, n int, seen map[int]int) {
	t.Helper()
	r := newReader(brokers, topic, group)
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("close reader: %v", err)
		}
	}()
	for range n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("fetch after %d messages: %v", len(seen), err)
		}
		seq := checkHeaders(t, m)
		seen[seq]++
		if err := r.CommitMessages(ctx, m); err != nil {
			t.Fatalf("commit %d@%d/%d: %v", seq, m.Partition, m.Offset, err)
		}
	}
}

// checkHeaders returns the message's sequence number after checking that
// its headers came through intact.
func checkHeaders(t *testing.T, m kafka.Message) int {
	t.Helper()
	if len(m.Headers) != 2 || m.Headers[0].Key != "seq" || m.Headers[1].Key != "traceparent" {
		t.Fatalf("message %d/%d: headers %v, want seq and traceparent", m.Partition, m.Offset, m.Headers)
	}
	seq, err := strconv.Atoi(string(m.Headers[0].Value))
	if err != nil || string(m.Key) != "user-"+strconv.Itoa(seq) {
		t.Fatalf("message %d/%d: seq header %q does not match key %q", m.Partition, m.Offset, m.Headers[0].Value, m.Key)
	}
	return seq
}

// assertDrained checks that a third reader in the group finds nothing left
// to read within a few seconds.
func assertDrained(t *testing.T, brokers, topic, group string) {
	t.Helper()
	r := newReader(brokers, topic, group)
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	m, err := r.FetchMessage(ctx)
	if err == nil {
		t.Fatalf("group %s re-read message %d/%d after committing everything", group, m.Partition, m.Offset)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("fetch on a drained group: %v", err)
	}
}
