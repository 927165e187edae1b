package kafkaio

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/deadletter"
)

// Record is a Kafka record in plain Go types, for tools that write or read
// a handful of records (the demo) without depending on kafka-go.
type Record struct {
	// Topic, Partition and Offset say where a read record was; they are
	// ignored when producing.
	Topic     string
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte
	// Headers holds one value per header name (the last one when a record
	// repeats a name). Produce writes them sorted by name.
	Headers map[string]string
}

// recordOf converts a kafka-go message.
func recordOf(m kafka.Message) Record {
	r := Record{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value, Headers: make(map[string]string, len(m.Headers))}
	for _, h := range m.Headers {
		r.Headers[h.Key] = string(h.Value)
	}
	return r
}

// DeadLetter decodes the record of tripline's r's headers describe (a
// record of the dead-letter topic: see deadletter.Decode).
func (r Record) DeadLetter() (deadletter.Record, error) {
	return deadletter.Decode(r.message().Headers)
}

// message converts r for a writer bound to a topic.
func (r Record) message() kafka.Message {
	m := kafka.Message{Key: r.Key, Value: r.Value}
	for _, k := range slices.Sorted(maps.Keys(r.Headers)) {
		m.Headers = append(m.Headers, kafka.Header{Key: k, Value: []byte(r.Headers[k])})
	}
	return m
}

// Produce writes recs to topic in one acknowledged batch (see NewWriter),
// partitioned by key.
func (c *Connection) Produce(ctx context.Context, topic string, recs ...Record) error {
	w := c.NewWriter(topic, 0)
	defer w.Close()
	msgs := make([]kafka.Message, len(recs))
	for i, r := range recs {
		msgs[i] = r.message()
	}
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("produce to %s: %w", topic, err)
	}
	return nil
}

// ReadN reads n records of topic as the consumer group group, committing
// each, from the group's committed offsets (a new group starts at the
// first offset). It blocks until n records were read or ctx is done, and
// then returns what it read with the error.
func (c *Connection) ReadN(ctx context.Context, topic, group string, n int) ([]Record, error) {
	if n <= 0 {
		return nil, nil
	}
	r := c.NewReader(ReaderConfig{GroupID: group, Topics: []string{topic}, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond,
		SessionTimeout: 6 * time.Second, StartFromEarliest: true})
	defer r.Close()
	out := make([]Record, 0, n)
	for len(out) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return out, fmt.Errorf("read %s: got %d of %d records: %w", topic, len(out), n, err)
		}
		out = append(out, recordOf(m))
	}
	return out, nil
}
