package remediate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Record is the audit record of one decision: every action, every refusal
// by a guard, every shadow and dry-run decision and every failure. It is
// the one place an email appears, for the operator.
type Record struct {
	Time      time.Time `json:"time"`
	EventID   string    `json:"event_id"`
	RuleID    string    `json:"rule_id"`
	Mode      string    `json:"mode"`
	Action    string    `json:"action"`
	UserID    string    `json:"op_user_id,omitempty"`
	UserEmail string    `json:"user_email,omitempty"`
	Identity  string    `json:"identity"`
	Result    string    `json:"result"`
	Detail    string    `json:"detail,omitempty"`
	Before    string    `json:"state_before,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Error     string    `json:"error,omitempty"`
	Class     string    `json:"error_class,omitempty"`
	Attempts  int       `json:"attempts,omitempty"`
	TraceID   string    `json:"trace_id,omitempty"`
	Instance  string    `json:"instance,omitempty"`
	Topic     string    `json:"topic"`
	Partition int       `json:"partition"`
	Offset    int64     `json:"offset"`
	// AnsweredBy and AnswerChannel say who answered the approval an
	// approve rule's outcome comes from, and how (cli, slack, timeout).
	AnsweredBy    string `json:"answered_by,omitempty"`
	AnswerChannel string `json:"answer_channel,omitempty"`
	// Truncated says a text field was longer than MaxAuditField and was
	// cut, so that no event can make its audit record too large to write.
	Truncated bool `json:"truncated,omitempty"`
}

// MaxAuditField bounds each free-text field of an audit record (event id,
// identity, email, reason, detail, error), so a record stays under 64 KiB
// whatever the event held, far below any topic's message size limit.
const MaxAuditField = 4 << 10

// bound cuts every free-text field to MaxAuditField bytes (on a UTF-8
// boundary) and notes whether it cut any.
func (r *Record) bound() {
	for _, f := range []*string{&r.EventID, &r.Identity, &r.UserEmail, &r.Reason, &r.Detail, &r.Error, &r.RuleID, &r.TraceID, &r.Topic, &r.AnsweredBy, &r.AnswerChannel} {
		if len(*f) > MaxAuditField {
			*f = strings.ToValidUTF8((*f)[:MaxAuditField], "") + "…"
			r.Truncated = true
		}
	}
}

// newRecord builds the audit record of an outcome, and of the approval it
// comes from (nil: none).
func (s *Service) newRecord(out Outcome, f *Failure, a *Approval, traceID string) Record {
	d := out.Decision
	rec := Record{
		Time: s.now().UTC(), EventID: d.EventID, RuleID: d.RuleID, Mode: string(d.Mode), Action: string(d.Action),
		UserID: out.User.ID, UserEmail: d.UserEmail, Identity: d.Identity, Result: string(out.Result),
		Detail: out.Detail, Before: out.Before, Reason: d.Reason, Attempts: out.Attempts, TraceID: traceID,
		Instance: s.cfg.Instance, Topic: d.Source.Topic, Partition: d.Source.Partition, Offset: d.Source.Offset,
	}
	if out.User.Email != "" {
		rec.UserEmail = out.User.Email
	}
	if f != nil {
		rec.Error, rec.Class = f.Error(), f.Class
	}
	if a != nil {
		rec.AnsweredBy, rec.AnswerChannel = a.DecidedBy, a.Channel
	}
	rec.bound()
	return rec
}

// LogAuditor writes each record as one structured log line ("audit").
type LogAuditor struct{ Logger *slog.Logger }

// Audit implements Auditor.
func (a LogAuditor) Audit(ctx context.Context, rec Record) error {
	a.Logger.LogAttrs(ctx, slog.LevelInfo, "audit",
		slog.String("event_id", rec.EventID), slog.String("rule_id", rec.RuleID),
		slog.String("mode", rec.Mode), slog.String("action", rec.Action),
		slog.String("op_user_id", rec.UserID), slog.String("user_email", rec.UserEmail),
		slog.String("result", rec.Result), slog.String("detail", rec.Detail),
		slog.String("state_before", rec.Before), slog.String("reason", rec.Reason),
		slog.String("error", rec.Error), slog.String("error_class", rec.Class),
		slog.String("source_topic", rec.Topic), slog.Int("partition", rec.Partition), slog.Int64("offset", rec.Offset),
		slog.Bool("truncated", rec.Truncated))
	return nil
}

// TopicAuditor logs each record and writes it, as JSON keyed by the event
// id, through Write (a synchronous writer to the audit topic, acknowledged
// by all in-sync replicas).
type TopicAuditor struct {
	Log   LogAuditor
	Write func(ctx context.Context, key, value []byte) error
}

// Audit implements Auditor.
func (a TopicAuditor) Audit(ctx context.Context, rec Record) error {
	if err := a.Log.Audit(ctx, rec); err != nil {
		return err
	}
	value, err := EncodeRecord(rec)
	if err != nil {
		return err
	}
	if err := a.Write(ctx, []byte(rec.EventID), value); err != nil {
		return fmt.Errorf("write audit record: %w", err)
	}
	return nil
}

// EncodeRecord is the JSON form of a record, without HTML escaping.
func EncodeRecord(rec Record) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(rec); err != nil {
		return nil, fmt.Errorf("audit record: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Auditors records to each auditor in order; the first error stops it.
type Auditors []Auditor

// Audit implements Auditor.
func (as Auditors) Audit(ctx context.Context, rec Record) error {
	for _, a := range as {
		if err := a.Audit(ctx, rec); err != nil {
			return err
		}
	}
	return nil
}
