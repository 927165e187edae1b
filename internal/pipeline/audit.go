package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"
)

// AuditRecord is the record of one action taken or one shadow or dry-run
// decision. It is the one place an email appears, for the operator.
type AuditRecord struct {
	Time      time.Time `json:"time"`
	EventID   string    `json:"event_id"`
	RuleID    string    `json:"rule_id"`
	Mode      string    `json:"mode"`
	Action    string    `json:"action"`
	UserID    string    `json:"op_user_id,omitempty"`
	UserEmail string    `json:"user_email,omitempty"`
	Identity  string    `json:"identity"`
	Result    string    `json:"result"`
	Reason    string    `json:"reason,omitempty"`
	Error     string    `json:"error,omitempty"`
	TraceID   string    `json:"trace_id,omitempty"`
	Topic     string    `json:"topic"`
	Partition int       `json:"partition"`
	Offset    int64     `json:"offset"`
}

// Recorder records outcomes. Record returns only once the record is durable
// (logged, and written to the audit topic when one is configured); an error
// stops the consumer before the offset is committed. This is also the seam
// for the action ledger.
type Recorder interface {
	Record(ctx context.Context, rec AuditRecord) error
}

// LogRecorder writes each record as one structured log line.
type LogRecorder struct{ Logger *slog.Logger }

// Record implements Recorder.
func (r LogRecorder) Record(ctx context.Context, rec AuditRecord) error {
	r.Logger.LogAttrs(ctx, slog.LevelInfo, "audit",
		slog.String("event_id", rec.EventID), slog.String("rule_id", rec.RuleID),
		slog.String("mode", rec.Mode), slog.String("action", rec.Action),
		slog.String("op_user_id", rec.UserID), slog.String("user_email", rec.UserEmail),
		slog.String("result", rec.Result), slog.String("reason", rec.Reason),
		slog.String("error", rec.Error), slog.String("source_topic", rec.Topic),
		slog.Int("partition", rec.Partition), slog.Int64("offset", rec.Offset))
	return nil
}

// TopicRecorder logs each record and writes it, as JSON keyed by the event
// id, to an audit topic through w (a synchronous writer acknowledged by all
// replicas).
type TopicRecorder struct {
	Log    LogRecorder
	Writer DeadLetterWriter
}

// Record implements Recorder.
func (r TopicRecorder) Record(ctx context.Context, rec AuditRecord) error {
	if err := r.Log.Record(ctx, rec); err != nil {
		return err
	}
	value, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("audit record: %w", err)
	}
	if err := r.Writer.WriteMessages(ctx, kafka.Message{Key: []byte(rec.EventID), Value: value}); err != nil {
		return fmt.Errorf("write audit record: %w", err)
	}
	return nil
}
