package slackapproval_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/slackapproval"
)

func TestPostSendsSummaryAndTwoButtons(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := e.action("pa-7f3a")
	ref, err := e.notifier.Post(t.Context(), a)
	if err != nil {
		t.Fatalf("Post: %v", err)
	}
	if ref.Channel != "C0APPROVAL" || ref.TS == "" {
		t.Errorf("ref = %+v, want channel C0APPROVAL and a timestamp", ref)
	}
	posts := e.slack.callsTo("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("chat.postMessage calls = %d, want 1", len(posts))
	}
	p := posts[0]
	if p.Form.Get("channel") != "C0APPROVAL" {
		t.Errorf("channel = %q", p.Form.Get("channel"))
	}
	if !strings.Contains(p.Form.Get("text"), "alice@example.com") {
		t.Errorf("fallback text = %q, want the user", p.Form.Get("text"))
	}
	blocks := blocksOf(t, p)
	if ids := blockIDs(blocks); !slices.Equal(ids, []string{slackapproval.BlockSummary, slackapproval.BlockActions}) {
		t.Fatalf("block ids = %v", ids)
	}
	summary := p.Form.Get("blocks")
	for _, want := range []string{"alice@example.com", "WXYZ1234ABCD5678", "two countries", "impossible_travel", "2026-10-01 12:10 UTC", "evt-42", "4bf92f3577b34da6a3ce929d0e0e4736", "pa-7f3a"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q", want)
		}
	}

	elements, _ := blocks[1]["elements"].([]any)
	if len(elements) != 2 {
		t.Fatalf("actions block has %d elements, want 2: %v", len(elements), blocks[1])
	}
	want := []struct{ actionID, style, label string }{
		{slackapproval.ActionApprove, "primary", "Approve"},
		{slackapproval.ActionDeny, "danger", "Deny"},
	}
	for i, w := range want {
		b := elements[i].(map[string]any)
		label := b["text"].(map[string]any)["text"]
		if b["type"] != "button" || b["action_id"] != w.actionID || b["value"] != "pa-7f3a" || b["style"] != w.style || label != w.label {
			t.Errorf("button %d = %v, want %s button %q (%s) with value pa-7f3a", i, b, w.style, w.label, w.actionID)
		}
	}
}

// TestPostCannotPing: text from events cannot mention @channel or hide a
// link: summary values are plain_text and the fallback text is escaped.
func TestPostCannotPing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := e.action("pa-1")
	a.UserEmail = "<!channel>@example.com"
	a.Reason = "<https://evil.example|click me> *urgent*"
	if _, err := e.notifier.Post(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	p := e.slack.callsTo("chat.postMessage")[0]
	if strings.Contains(p.Form.Get("text"), "<!channel>") || !strings.Contains(p.Form.Get("text"), "&lt;!channel&gt;") {
		t.Errorf("fallback text not escaped: %q", p.Form.Get("text"))
	}
	fields, _ := blocksOf(t, p)[0]["fields"].([]any)
	for _, f := range fields {
		if f.(map[string]any)["type"] != "plain_text" {
			t.Errorf("summary field %v is not plain_text", f)
		}
	}
}

func TestPostRefusesInvalidAction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := e.action("has space")
	a.UserID = ""
	_, err := e.notifier.Post(t.Context(), a)
	if err == nil || !strings.Contains(err.Error(), "spaces") || !strings.Contains(err.Error(), "user id is empty") {
		t.Errorf("Post = %v, want both problems", err)
	}
	if e.slack.total() != 0 {
		t.Error("invalid action reached Slack")
	}
}

func TestRemindRepliesInThread(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := e.action("pa-1")
	ref, _ := e.post("pa-1")
	if got := slackapproval.ReminderAt(a); !got.Equal(start.Add(5 * time.Minute)) {
		t.Errorf("ReminderAt = %s, want half way", got)
	}
	if err := e.notifier.Remind(t.Context(), ref, a); err != nil {
		t.Fatalf("Remind: %v", err)
	}
	posts := e.slack.callsTo("chat.postMessage")
	r := posts[len(posts)-1]
	if r.Form.Get("thread_ts") != ref.TS || r.Form.Get("channel") != ref.Channel {
		t.Errorf("reminder thread_ts/channel = %s/%s, want %s/%s", r.Form.Get("thread_ts"), r.Form.Get("channel"), ref.TS, ref.Channel)
	}
	if !strings.Contains(r.Form.Get("text"), "expires at 12:10 UTC") {
		t.Errorf("reminder text = %q", r.Form.Get("text"))
	}
}

func TestExpiredAndDecidedRemoveButtons(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := e.action("pa-1")
	ref, _ := e.post("pa-1")

	if err := e.notifier.Expired(t.Context(), ref, a, a.ExpiresAt); err != nil {
		t.Fatalf("Expired: %v", err)
	}
	if err := e.notifier.Decided(t.Context(), ref, a, slackapproval.Outcome{By: "UCAROL", At: start.Add(5 * time.Minute), Reason: "known traveller"}); err != nil {
		t.Fatalf("Decided: %v", err)
	}
	updates := e.slack.callsTo("chat.update")
	if len(updates) != 2 {
		t.Fatalf("chat.update calls = %d, want 2", len(updates))
	}
	for i, want := range []string{"Expired at 12:10 UTC — denied, never executed", "Denied by <@UCAROL> at 12:05 UTC: known traveller"} {
		u := updates[i]
		if u.Form.Get("ts") != ref.TS {
			t.Errorf("update %d ts = %q, want %q", i, u.Form.Get("ts"), ref.TS)
		}
		if !strings.Contains(u.Form.Get("text"), want) {
			t.Errorf("update %d text = %q, want %q", i, u.Form.Get("text"), want)
		}
		blocks := blocksOf(t, u)
		if ids := blockIDs(blocks); !slices.Equal(ids, []string{slackapproval.BlockSummary, slackapproval.BlockStatus}) {
			t.Fatalf("update %d block ids = %v, want summary and status only", i, ids)
		}
		if status := blocks[1]["text"].(map[string]any)["text"].(string); !strings.Contains(status, want) {
			t.Errorf("update %d status block = %q, want %q", i, status, want)
		}
	}
}

func TestAPIErrorClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code      string
		retryable bool
		retry     time.Duration
	}{
		{"channel_not_found", false, 0},
		{"not_in_channel", false, 0},
		{"internal_error", true, 0},
		{"ratelimited", true, 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			e.slack.setFail("chat.postMessage", tt.code)
			_, err := e.notifier.Post(t.Context(), e.action("pa-1"))
			var apiErr *slackapproval.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("Post = %v, want an *APIError", err)
			}
			if apiErr.Method != "chat.postMessage" || apiErr.Code != tt.code || apiErr.Retryable() != tt.retryable || apiErr.RetryAfter != tt.retry {
				t.Errorf("APIError = %+v (retryable %v), want code %s retryable %v retry after %s", apiErr, apiErr.Retryable(), tt.code, tt.retryable, tt.retry)
			}
		})
	}
}

func TestNotifierCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	if err := e.notifier.Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	e.slack.setFail("auth.test", "invalid_auth")
	var apiErr *slackapproval.APIError
	if err := e.notifier.Check(t.Context()); !errors.As(err, &apiErr) || apiErr.Code != "invalid_auth" {
		t.Errorf("Check with a revoked token = %v", err)
	}
}

func TestNotifierConfigValidate(t *testing.T) {
	t.Parallel()
	_, err := slackapproval.NewNotifier(slackapproval.NotifierConfig{APIURL: "http://slack.example.com/api/", Timeout: -1}, nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"bot token is empty", "approval channel is empty", "plain http is allowed only to a loopback host", "timeout -1ns is negative"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	_, err = slackapproval.NewNotifier(slackapproval.NotifierConfig{BotToken: "xoxp-user-token", Channel: "C1"}, nil)
	if err == nil || !strings.Contains(err.Error(), "does not start with xoxb-") {
		t.Errorf("user token: %v", err)
	}
}
