package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tripline-dev/tripline/internal/secret"
	"github.com/tripline-dev/tripline/internal/version"
)

// WebhookPayload is the JSON body the generic webhook receives. type,
// rule_id, op_user_id, result and time (RFC 3339, UTC) are always present;
// the other fields when they apply. user_email is present only with
// IncludeEmail.
type WebhookPayload struct {
	ID         string `json:"id"`
	Type       Type   `json:"type"`
	Time       string `json:"time"`
	RuleID     string `json:"rule_id"`
	UserID     string `json:"op_user_id"`
	Result     string `json:"result"`
	Action     string `json:"action,omitempty"`
	Email      string `json:"user_email,omitempty"`
	EmailHash  string `json:"email_hash,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Scope      string `json:"scope,omitempty"`
	Class      string `json:"class,omitempty"`
	Attempts   int    `json:"attempts,omitempty"`
	EventID    string `json:"event_id,omitempty"`
	TraceID    string `json:"trace_id,omitempty"`
	ApprovalID string `json:"approval_id,omitempty"`
	ExpiresAt  string `json:"expires_at,omitempty"`
	// EndsAt is when the timed suspension an action started ends.
	EndsAt string `json:"ends_at,omitempty"`
}

// payload is the webhook form of n.
func payload(n Notification) WebhookPayload {
	p := WebhookPayload{
		ID: n.ID, Type: n.Type, Time: n.Time.UTC().Format(time.RFC3339Nano), RuleID: n.RuleID,
		UserID: n.UserID, Result: n.Result, Action: n.Action, Email: n.Email, EmailHash: n.EmailHash,
		Reason: n.Reason, Scope: n.Scope, Class: n.Class, Attempts: n.Attempts, EventID: n.EventID,
		TraceID: n.TraceID, ApprovalID: n.ApprovalID,
	}
	if !n.ExpiresAt.IsZero() {
		p.ExpiresAt = n.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	if !n.EndsAt.IsZero() {
		p.EndsAt = n.EndsAt.UTC().Format(time.RFC3339Nano)
	}
	return p
}

// webhookSink POSTs each notification as signed JSON.
type webhookSink struct {
	url    secret.Value
	secret secret.Value
	client *http.Client
	now    func() time.Time
	// secrets are every credential of the Notifier, redacted from errors.
	secrets []secret.Value
}

func (w *webhookSink) send(ctx context.Context, n Notification) error {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(payload(n)); err != nil {
		return &SendError{Sink: SinkWebhook, msg: fmt.Sprintf("webhook: encode notification: %v", err)}
	}
	raw := bytes.TrimSuffix(body.Bytes(), []byte("\n"))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url.Reveal(), bytes.NewReader(raw))
	if err != nil {
		return transportError(SinkWebhook, w.where(), err, w.secrets...)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", version.UserAgent())
	req.Header.Set("X-Tripline-Delivery", n.ID)
	req.Header.Set(SignatureHeader, Sign([]byte(w.secret.Reveal()), raw, w.now()))
	resp, err := w.client.Do(req)
	if err != nil {
		return transportError(SinkWebhook, w.where(), err, w.secrets...)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(SinkWebhook, w.where(), resp, w.now(), w.secrets...)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return nil
}

func (w *webhookSink) where() string { return displayURL(w.url.Reveal()) }
