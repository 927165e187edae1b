package kafkaio

import (
	"context"

	"github.com/segmentio/kafka-go"
)

// TopicWriter writes to one topic synchronously: every write returns once
// all in-sync replicas acknowledged it, or with an error. It is the
// pipeline's dead-letter writer and the audit topic's writer.
type TopicWriter struct{ w *kafka.Writer }

// NewTopicWriter returns a writer to topic (see NewWriter for maxBytes).
func (c *Connection) NewTopicWriter(topic string, maxBytes int) *TopicWriter {
	return &TopicWriter{w: c.NewWriter(topic, maxBytes)}
}

// WriteDeadLetter writes record (implements pipeline.DeadLetterWriter).
func (t *TopicWriter) WriteDeadLetter(ctx context.Context, _, record kafka.Message) error {
	return t.w.WriteMessages(ctx, record)
}

// Write writes one record with key and value (the audit topic).
func (t *TopicWriter) Write(ctx context.Context, key, value []byte) error {
	return t.w.WriteMessages(ctx, kafka.Message{Key: key, Value: value})
}

// Close flushes and closes the writer.
func (t *TopicWriter) Close() error { return t.w.Close() }
