package notify_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/tripline-dev/tripline/internal/notify"
	"github.com/tripline-dev/tripline/internal/secret"
)

const testBotToken = "xoxb-1111111111-2222222222222-TESTbotTOKENvalue0001"

// slackOK is chat.postMessage's success answer.
const slackOK = `{"ok":true,"channel":"C0TRIPLINE","ts":"1700000000.000100"}`

func slackBotConfig(apiURL string) notify.Config {
	return notify.Config{Slack: notify.SlackConfig{BotToken: testBotToken, Channel: "C0TRIPLINE", APIURL: apiURL}}
}

func TestSlackWebAPIPostsMessage(t *testing.T) {
	t.Parallel()
	api := newReceiver(t, reply{Status: 200, Header: map[string]string{"Content-Type": "application/json"}, Body: slackOK})
	h := start(t, slackBotConfig(api.URL+"/api/"))
	h.Notify(t.Context(), sample())

	got := api.next(t)
	if got.Path != "/api/chat.postMessage" {
		t.Errorf("path %q, want /api/chat.postMessage", got.Path)
	}
	if auth := got.Header.Get("Authorization"); auth != "Bearer "+testBotToken {
		t.Errorf("Authorization %q, want the bot token as a bearer token", auth)
	}
	if strings.Contains(string(got.Body), testBotToken) {
		t.Errorf("the bot token is in the request body: %s", got.Body)
	}
	form, err := url.ParseQuery(string(got.Body))
	if err != nil {
		t.Fatalf("body is not a form: %v", err)
	}
	if _, ok := form["token"]; ok {
		t.Errorf("form has a token field: %v", form)
	}
	if form.Get("channel") != "C0TRIPLINE" {
		t.Errorf("channel %q, want C0TRIPLINE", form.Get("channel"))
	}
	text := form.Get("text")
	for _, want := range []string{"impossible_travel", "OPUSER7QX", "suspended", "sign-in from two continents within 5m", "4bf92f3577b34da6a3ce929d0e0e4736", "evt-123", "suspend"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(strings.ToLower(text), "alice@example.com") {
		t.Errorf("text shows the email without IncludeEmail:\n%s", text)
	}
	if !strings.Contains(text, "*Email hash:* `sha256:ff8d9819fc0e12bf…`") { // no hash key in this config
		t.Errorf("text lacks the short email hash:\n%s", text)
	}
	waitFor(t, "sent counted", func() bool {
		return h.counter(t, "tripline_notifications_sent", "sink", "slack", "type", "action") == 1
	})
}

func TestSlackWebAPIRetriesAndRejects(t *testing.T) {
	t.Parallel()
	t.Run("503 then ok", func(t *testing.T) {
		t.Parallel()
		api := newReceiver(t, reply{Status: 503}, reply{Status: 200, Body: slackOK})
		h := start(t, slackBotConfig(api.URL+"/api"))
		h.Notify(t.Context(), sample())
		waitFor(t, "sent counted", func() bool {
			return h.counter(t, "tripline_notifications_sent", "sink", "slack", "type", "action") == 1
		})
		if n := api.Count(); n != 2 {
			t.Errorf("got %d requests, want 2", n)
		}
	})
	t.Run("invalid_auth is not retried", func(t *testing.T) {
		t.Parallel()
		api := newReceiver(t, reply{Status: 200, Body: `{"ok":false,"error":"invalid_auth"}`})
		h := start(t, slackBotConfig(api.URL+"/api/"))
		h.Notify(t.Context(), sample())
		f := h.nextFailure(t)
		if f.Sink != "slack" || !strings.Contains(f.Err.Error(), "invalid_auth") {
			t.Errorf("OnFailed(%q, %v), want slack and invalid_auth", f.Sink, f.Err)
		}
		h.close(t)
		if n := api.Count(); n != 1 {
			t.Errorf("got %d requests, want 1", n)
		}
		if got := h.counter(t, "tripline_notifications_dropped", "sink", "slack", "reason", "rejected"); got != 1 {
			t.Errorf("dropped{rejected} = %d, want 1", got)
		}
	})
	t.Run("429 honours Retry-After", func(t *testing.T) {
		t.Parallel()
		api := newReceiver(t, reply{Status: 429, Header: map[string]string{"Retry-After": "1"}}, reply{Status: 200, Body: slackOK})
		h := start(t, slackBotConfig(api.URL+"/api/"))
		h.Notify(t.Context(), sample())
		first, second := api.next(t), api.next(t)
		if gap := second.At.Sub(first.At); gap.Seconds() < 0.9 {
			t.Errorf("retried %s after Retry-After: 1", gap)
		}
		waitFor(t, "sent counted", func() bool {
			return h.counter(t, "tripline_notifications_sent", "sink", "slack", "type", "action") == 1
		})
	})
}

func TestSlackIncomingWebhook(t *testing.T) {
	t.Parallel()
	hook := newReceiver(t, reply{Status: 200, Body: "ok"})
	h := start(t, notify.Config{Slack: notify.SlackConfig{WebhookURL: secret.Value(hook.URL + "/services/T000/B000/XXXXXXXXXXXXXXXX")}})
	n := sample()
	n.Reason = "new device <!channel> & <https://evil.example|click here>\nResult: noop"
	h.Notify(t.Context(), n)

	got := hook.next(t)
	if got.Path != "/services/T000/B000/XXXXXXXXXXXXXXXX" {
		t.Errorf("path %q", got.Path)
	}
	var msg struct {
		Text        string `json:"text"`
		UnfurlLinks *bool  `json:"unfurl_links"`
	}
	if err := json.Unmarshal(got.Body, &msg); err != nil {
		t.Fatalf("body: %v: %s", err, got.Body)
	}
	for _, want := range []string{"impossible_travel", "OPUSER7QX", "suspended", "4bf92f3577b34da6a3ce929d0e0e4736", "&lt;!channel&gt; &amp; &lt;https://evil.example|click here&gt;"} {
		if !strings.Contains(msg.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, msg.Text)
		}
	}
	if strings.Contains(msg.Text, "<!channel>") || strings.Contains(msg.Text, "\nResult: noop") {
		t.Errorf("event data escaped the message format:\n%s", msg.Text)
	}
	if msg.UnfurlLinks == nil || *msg.UnfurlLinks {
		t.Errorf("unfurl_links not false")
	}
	waitFor(t, "sent counted", func() bool {
		return h.counter(t, "tripline_notifications_sent", "sink", "slack", "type", "action") == 1
	})
}
