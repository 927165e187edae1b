package notify_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/notify"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// suspensionNotice is the decision service's action notice of a
// suspension that ends at ends (zero: permanent).
func suspensionNotice(ends time.Time) remediate.Notice {
	d := remediate.Decision{RuleID: "impossible_travel", Mode: remediate.ModeEnforce, Action: remediate.ActionSuspend,
		Identity: "alice@example.com", Reason: "sign-in from two continents within 5m", EventID: "evt-123"}
	return remediate.Notice{Type: remediate.NoticeAction, Time: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Outcome: &remediate.Outcome{
		Decision: d, User: remediate.User{ID: "OPUSER7QX", Email: "alice@example.com"}, Result: remediate.ResultSuspended, ContainedUntil: ends,
	}}
}

// TestTimedSuspensionSaysWhenItEnds: the action notification of a timed
// suspension carries its end in the webhook payload (ends_at, RFC 3339)
// and says "until <end>" in the Slack text; a permanent suspension's says
// neither.
func TestTimedSuspensionSaysWhenItEnds(t *testing.T) {
	t.Parallel()
	ends := time.Date(2026, 3, 1, 16, 0, 0, 0, time.FixedZone("x", 3600))
	tests := []struct {
		name      string
		ends      time.Time
		wantEnds  string // "" : no ends_at
		wantUntil string // "" : no "until" in the Slack text
	}{
		{"timed", ends, "2026-03-01T15:00:00Z", "until 2026-03-01T15:00:00Z"},
		{"permanent", time.Time{}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, ok := notify.FromNotice(suspensionNotice(tt.ends))
			if !ok || !n.EndsAt.Equal(tt.ends) {
				t.Fatalf("FromNotice = %+v, %v; want an action notification ending at %s", n, ok, tt.ends)
			}
			hook := newReceiver(t)
			api := newReceiver(t, reply{Status: 200, Header: map[string]string{"Content-Type": "application/json"}, Body: slackOK})
			cfg := webhookConfig(hook.URL)
			cfg.Slack = slackBotConfig(api.URL + "/api/").Slack
			h := start(t, cfg)
			h.Notify(t.Context(), n)

			var body map[string]any
			if err := json.Unmarshal(hook.next(t).Body, &body); err != nil {
				t.Fatal(err)
			}
			if got, ok := body["ends_at"]; (tt.wantEnds == "" && ok) || (tt.wantEnds != "" && got != tt.wantEnds) {
				t.Errorf("webhook ends_at = %v (present %v), want %q", got, ok, tt.wantEnds)
			}
			form, err := url.ParseQuery(string(api.next(t).Body))
			if err != nil {
				t.Fatal(err)
			}
			text := form.Get("text")
			if tt.wantUntil == "" && strings.Contains(text, "until") {
				t.Errorf("a permanent suspension's Slack text says until:\n%s", text)
			}
			if tt.wantUntil != "" && !strings.Contains(text, tt.wantUntil) {
				t.Errorf("Slack text lacks %q:\n%s", tt.wantUntil, text)
			}
		})
	}
}

// TestOnlyActionsCarryTheEnd: a notice that is not an action (an
// extension by a rule, say) carries no end, and the containment notices
// are Slack message updates, not notifications.
func TestOnlyActionsCarryTheEnd(t *testing.T) {
	t.Parallel()
	nt := suspensionNotice(time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC))
	nt.Type = remediate.NoticeApprovalExpired
	if n, _ := notify.FromNotice(nt); !n.EndsAt.IsZero() {
		t.Errorf("an approval notice carries ends_at %s", n.EndsAt)
	}
	for _, typ := range []remediate.NoticeType{remediate.NoticeContainmentKept, remediate.NoticeContainmentExtended, remediate.NoticeContainmentEnded} {
		nt.Type = typ
		if _, ok := notify.FromNotice(nt); ok {
			t.Errorf("%s is a notification; want a Slack message update only", typ)
		}
	}
}
