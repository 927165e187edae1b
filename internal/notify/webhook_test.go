package notify_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/notify"
	"github.com/tripline-dev/tripline/internal/secret"
)

func webhookConfig(url string) notify.Config {
	return notify.Config{Webhook: notify.WebhookConfig{URL: secret.Value(url), Secret: testSecret}, EmailHashKey: testHashKey}
}

// checkSigned verifies a request's signature with VerifySignature and with
// an independent computation from the spec.
func checkSigned(t *testing.T, got request) {
	t.Helper()
	header := got.Header.Get(notify.SignatureHeader)
	if err := notify.VerifySignature(header, got.Body, []byte(testSecret), time.Now(), time.Minute); err != nil {
		t.Fatalf("VerifySignature(%q) = %v", header, err)
	}
	ts, sig, ok := strings.Cut(header, ",")
	ts, _ = strings.CutPrefix(ts, "t=")
	sig, _ = strings.CutPrefix(sig, "v1=")
	if !ok || sig != specSignature(testSecret, ts, got.Body) {
		t.Fatalf("signature header %q does not match hex(HMAC-SHA256(secret, t.body))", header)
	}
}

func TestWebhookDeliversSignedJSON(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	h := start(t, webhookConfig(rcv.URL+"/hooks/tripline"))
	n := sample()
	n.Time = time.Date(2026, 3, 1, 12, 0, 0, 0, time.FixedZone("x", 3600))
	h.Notify(t.Context(), n)

	got := rcv.next(t)
	if got.Method != http.MethodPost || got.Path != "/hooks/tripline" || got.Header.Get("Content-Type") != "application/json" {
		t.Errorf("got %s %s (%s), want POST /hooks/tripline (application/json)", got.Method, got.Path, got.Header.Get("Content-Type"))
	}
	checkSigned(t, got)
	var body map[string]any
	if err := json.Unmarshal(got.Body, &body); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, got.Body)
	}
	want := map[string]any{
		"type": "action", "rule_id": "impossible_travel", "op_user_id": "OPUSER7QX", "result": "suspended",
		"time": "2026-03-01T11:00:00Z", "action": "suspend", "reason": "sign-in from two continents within 5m",
		"event_id": "evt-123", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
		"email_hash": notify.HashEmail("alice@example.com", testHashKey),
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("body[%q] = %v, want %v", k, body[k], v)
		}
	}
	if _, err := time.Parse(time.RFC3339, body["time"].(string)); err != nil {
		t.Errorf("time is not RFC 3339: %v", err)
	}
	if id, _ := body["id"].(string); len(id) != 32 || got.Header.Get("X-Tripline-Delivery") != id {
		t.Errorf("id %q, X-Tripline-Delivery %q: want one 128-bit hex id in both", id, got.Header.Get("X-Tripline-Delivery"))
	}
	if _, ok := body["user_email"]; ok || strings.Contains(strings.ToLower(string(got.Body)), "alice@example.com") {
		t.Errorf("email sent without IncludeEmail: %s", got.Body)
	}
	waitFor(t, "sent counted", func() bool {
		return h.counter(t, "tripline_notifications_sent", "sink", "webhook", "type", "action") == 1
	})
}

func TestWebhookEveryType(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	h := start(t, webhookConfig(rcv.URL))
	expires := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
	h.Notify(t.Context(), notify.Notification{Type: notify.TypeApprovalRequested, RuleID: "r1", UserID: "U1", Result: "pending_approval", ApprovalID: "apr-1", ExpiresAt: expires})
	h.Notify(t.Context(), notify.Notification{Type: notify.TypeApprovalExpired, RuleID: "r1", UserID: "U1", Result: "expired", ApprovalID: "apr-1"})
	h.Notify(t.Context(), notify.Notification{Type: notify.TypeBreakerOpen, Scope: "rule:r1", RuleID: "r1", Result: "breaker_open"})
	h.Notify(t.Context(), notify.Notification{Type: notify.TypeDLQ, RuleID: "r1", UserID: "U1", Result: "failed", Class: "cannot_suspend", Attempts: 1})
	// Not a class that needs a person: ignored, neither sent nor dropped.
	h.Notify(t.Context(), notify.Notification{Type: notify.TypeDLQ, RuleID: "r1", UserID: "U1", Class: "user_not_found"})
	h.close(t)

	reqs := rcv.Requests()
	if len(reqs) != 4 {
		t.Fatalf("got %d requests, want 4", len(reqs))
	}
	checks := []map[string]any{
		{"type": "approval_requested", "approval_id": "apr-1", "expires_at": "2026-03-01T13:00:00Z", "result": "pending_approval"},
		{"type": "approval_expired", "approval_id": "apr-1"},
		{"type": "breaker_open", "scope": "rule:r1", "op_user_id": ""},
		{"type": "dlq", "class": "cannot_suspend", "attempts": 1.0},
	}
	for i, want := range checks {
		checkSigned(t, reqs[i])
		var body map[string]any
		if err := json.Unmarshal(reqs[i].Body, &body); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"type", "rule_id", "op_user_id", "result", "time"} {
			if _, ok := body[k]; !ok {
				t.Errorf("%s: required field %q missing: %s", want["type"], k, reqs[i].Body)
			}
		}
		for k, v := range want {
			if body[k] != v {
				t.Errorf("%s: body[%q] = %v, want %v", want["type"], k, body[k], v)
			}
		}
	}
	if got := h.counter(t, "tripline_notifications_dropped", "sink", "webhook", "reason", "invalid"); got != 0 {
		t.Errorf("dropped = %d", got)
	}
}

func TestWebhookRetriesOn503ThenSucceeds(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, reply{Status: 503}, reply{Status: 502}, reply{Status: 200})
	h := start(t, webhookConfig(rcv.URL))
	h.Notify(t.Context(), sample())
	waitFor(t, "sent counted", func() bool {
		return h.counter(t, "tripline_notifications_sent", "sink", "webhook", "type", "action") == 1
	})
	reqs := rcv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("got %d requests, want 3 (503, 502, 200)", len(reqs))
	}
	for _, r := range reqs {
		checkSigned(t, r)
	}
	if h.counter(t, "tripline_notifications_dropped", "sink", "webhook", "reason", "failed") != 0 || len(h.failures()) != 0 {
		t.Errorf("a delivered notification was counted as dropped")
	}
	if !strings.Contains(h.logs.String(), "retrying") {
		t.Errorf("retries not logged:\n%s", h.logs)
	}
}

func TestWebhookRetriesNetworkError(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, reply{Drop: true}, reply{Status: 204})
	h := start(t, webhookConfig(rcv.URL))
	h.Notify(t.Context(), sample())
	waitFor(t, "sent counted", func() bool {
		return h.counter(t, "tripline_notifications_sent", "sink", "webhook", "type", "action") == 1
	})
	if n := rcv.Count(); n != 2 {
		t.Errorf("got %d requests, want 2", n)
	}
}

func TestWebhookNoRetryOn400(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, reply{Status: 400, Body: `{"error":"bad payload"}`}, reply{Status: 200})
	h := start(t, webhookConfig(rcv.URL))
	n := sample()
	h.Notify(t.Context(), n)
	f := h.nextFailure(t)
	if f.Sink != "webhook" || f.N.EventID != n.EventID || f.N.ID == "" {
		t.Errorf("OnFailed(%+v, %q)", f.N, f.Sink)
	}
	var se *notify.SendError
	if !errors.As(f.Err, &se) || se.Status != 400 || se.Retryable() {
		t.Errorf("OnFailed error = %v, want a non-retryable SendError with status 400", f.Err)
	}
	if !strings.Contains(f.Err.Error(), "bad payload") {
		t.Errorf("error %q does not say what the receiver answered", f.Err)
	}
	h.close(t)
	if n := rcv.Count(); n != 1 {
		t.Errorf("got %d requests, want 1: a 400 is never retried", n)
	}
	if got := h.counter(t, "tripline_notifications_dropped", "sink", "webhook", "reason", "rejected"); got != 1 {
		t.Errorf("dropped{rejected} = %d, want 1", got)
	}
}

func TestWebhookHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, reply{Status: 429, Header: map[string]string{"Retry-After": "1"}}, reply{Status: 200})
	h := start(t, webhookConfig(rcv.URL))
	h.Notify(t.Context(), sample())
	first, second := rcv.next(t), rcv.next(t)
	// The backoff alone would wait about a millisecond.
	if gap := second.At.Sub(first.At); gap < 900*time.Millisecond {
		t.Errorf("retried %s after a 429 with Retry-After: 1, want about 1s", gap)
	}
	waitFor(t, "sent counted", func() bool {
		return h.counter(t, "tripline_notifications_sent", "sink", "webhook", "type", "action") == 1
	})
}

func TestWebhookRetryAfterBeyondBudgetFails(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, reply{Status: 503, Header: map[string]string{"Retry-After": "3600"}})
	h := start(t, webhookConfig(rcv.URL))
	h.Notify(t.Context(), sample())
	f := h.nextFailure(t)
	if !strings.Contains(f.Err.Error(), "retry budget") {
		t.Errorf("error %q does not say the Retry-After passes the budget", f.Err)
	}
	if n := rcv.Count(); n != 1 {
		t.Errorf("got %d requests, want 1", n)
	}
	if got := h.counter(t, "tripline_notifications_dropped", "sink", "webhook", "reason", "failed"); got != 1 {
		t.Errorf("dropped{failed} = %d, want 1", got)
	}
}

func TestWebhookFailingForGoodIsCountedAndHandedOver(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, reply{Status: 500, Body: "upstream down"})
	h := start(t, webhookConfig(rcv.URL))
	n := sample()
	h.Notify(t.Context(), n)
	f := h.nextFailure(t)
	if f.Sink != "webhook" || f.N.EventID != n.EventID || f.N.Type != notify.TypeAction {
		t.Errorf("OnFailed(%+v, %q)", f.N, f.Sink)
	}
	if !strings.Contains(f.Err.Error(), "after 4 attempts") {
		t.Errorf("error %q does not say how many attempts", f.Err)
	}
	if n := rcv.Count(); n != 4 {
		t.Errorf("got %d requests, want MaxAttempts (4)", n)
	}
	if got := h.counter(t, "tripline_notifications_dropped", "sink", "webhook", "reason", "failed"); got != 1 {
		t.Errorf("dropped{failed} = %d, want 1", got)
	}
	if got := h.counter(t, "tripline_notifications_sent", "sink", "webhook", "type", "action"); got != 0 {
		t.Errorf("sent = %d, want 0", got)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, `"level":"WARN","msg":"notification dropped"`) || !strings.Contains(logs, `"reason":"failed"`) {
		t.Errorf("drop not logged at Warn:\n%s", logs)
	}
}
