package notify_test

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tripline-dev/tripline/internal/notify"
	"github.com/tripline-dev/tripline/internal/secret"
)

func TestEmailOnlyWithIncludeEmail(t *testing.T) {
	t.Parallel()
	for _, include := range []bool{false, true} {
		t.Run(fmt.Sprintf("include_email=%v", include), func(t *testing.T) {
			t.Parallel()
			wh, hook, pd := newReceiver(t), newReceiver(t, reply{Body: "ok"}), newReceiver(t, reply{Status: 202})
			cfg := webhookConfig(wh.URL)
			cfg.IncludeEmail = include
			cfg.Slack.WebhookURL = secret.Value(hook.URL + "/services/T/B/X")
			cfg.PagerDuty = notify.PagerDutyConfig{RoutingKey: testRoutingKey, URL: pd.URL}
			h := start(t, cfg)
			n := sample()
			n.Type, n.Class = notify.TypeDLQ, "retries_exhausted"
			n.Reason = "entra reports leaked credentials for alice@example.com (leakedCredentials), <ALICE@example.com>"
			h.Notify(t.Context(), n)
			h.close(t)
			for name, rcv := range map[string]*receiver{"webhook": wh, "slack": hook, "pagerduty": pd} {
				reqs := rcv.Requests()
				if len(reqs) != 1 {
					t.Fatalf("%s got %d requests, want 1", name, len(reqs))
				}
				body := strings.ToLower(string(reqs[0].Body))
				if has := strings.Contains(body, "alice@example.com"); has != include {
					t.Errorf("%s: email in body = %v, want %v: %s", name, has, include, reqs[0].Body)
				}
				if has := strings.Contains(body, "leaked credentials for [email] (leakedcredentials)"); has == include {
					t.Errorf("%s: email in the reason redacted = %v, want %v: %s", name, has, !include, reqs[0].Body)
				}
				if name != "slack" && !strings.Contains(body, notify.HashEmail("alice@example.com", testHashKey)) {
					t.Errorf("%s: email hash missing: %s", name, reqs[0].Body)
				}
			}
			if strings.Contains(strings.ToLower(h.logs.String()), "alice@example.com") {
				t.Errorf("a log line holds the email:\n%s", h.logs)
			}
		})
	}
}

func TestHashEmail(t *testing.T) {
	t.Parallel()
	// Computed once with Python's hashlib and hmac.
	const (
		plain = "sha256:ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976"
		keyed = "hmac-sha256:5688d68ebc47a561a7b329f69a2e465534e49163ba569b9f9f0ed5073fc7ff49"
	)
	for _, email := range []string{"alice@example.com", "  Alice@EXAMPLE.com ", "ａｌｉｃｅ@example.com"} {
		if got := notify.HashEmail(email, ""); got != plain {
			t.Errorf("HashEmail(%q, no key) = %s, want %s", email, got, plain)
		}
		if got := notify.HashEmail(email, testHashKey); got != keyed {
			t.Errorf("HashEmail(%q, key) = %s, want %s", email, got, keyed)
		}
	}
	if notify.HashEmail("", testHashKey) != "" {
		t.Error("empty email hashed")
	}
}

// TestNoSecretLeaks makes every sink fail in the ways that quote a URL or
// echo a credential (refused connection, error bodies that repeat the
// request) and searches the logs, the errors handed to OnFailed and the
// metric labels for every secret.
func TestNoSecretLeaks(t *testing.T) {
	t.Parallel()
	const (
		whPath      = "/hooks/wh-path-token-AAAA1111"
		whQuery     = "token=wh-query-token-BBBB2222"
		slackSecret = "/services/T0/B0/slackHookSecretCCCC3333"
	)
	secrets := []string{"wh-path-token-AAAA1111", "wh-query-token-BBBB2222", "slackHookSecretCCCC3333", testBotToken, testRoutingKey, testSecret, testHashKey}

	closed := httptest.NewServer(nil)
	refused := closed.URL
	closed.Close()

	echo := func(status int) reply {
		return reply{Status: status, Body: "you sent " + whPath + "?" + whQuery + " " + slackSecret +
			" Authorization: Bearer " + testBotToken + ` {"routing_key":"` + testRoutingKey + `"}`}
	}
	wh, hook, api, pd := newReceiver(t, echo(400)), newReceiver(t, echo(404)), newReceiver(t, echo(500)), newReceiver(t, echo(400))

	configs := map[string]notify.Config{
		"echoing receivers": {
			EmailHashKey: testHashKey,
			Webhook:      notify.WebhookConfig{URL: secret.Value(wh.URL + whPath + "?" + whQuery), Secret: testSecret},
			Slack:        notify.SlackConfig{WebhookURL: secret.Value(hook.URL + slackSecret)},
			PagerDuty:    notify.PagerDutyConfig{RoutingKey: testRoutingKey, URL: pd.URL},
		},
		"slack web api": {Slack: notify.SlackConfig{BotToken: testBotToken, Channel: "C1", APIURL: api.URL + "/api/"}},
		"refused connections": {
			EmailHashKey: testHashKey,
			Webhook:      notify.WebhookConfig{URL: secret.Value(refused + whPath + "?" + whQuery), Secret: testSecret},
			Slack:        notify.SlackConfig{WebhookURL: secret.Value(refused + slackSecret)},
			PagerDuty:    notify.PagerDutyConfig{RoutingKey: testRoutingKey, URL: refused},
		},
		"refused slack web api": {Slack: notify.SlackConfig{BotToken: testBotToken, Channel: "C1", APIURL: refused + "/api/"}},
	}
	for name, cfg := range configs {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := start(t, cfg)
			n := sample()
			n.Type, n.Class = notify.TypeDLQ, "retries_exhausted"
			h.Notify(t.Context(), n)
			h.close(t)
			fails := h.failures()
			if want := len(h.Sinks()); len(fails) != want {
				t.Fatalf("OnFailed called %d times, want %d (every sink fails)", len(fails), want)
			}
			var seen strings.Builder
			seen.WriteString(h.logs.String())
			seen.WriteString(h.metricsText(t))
			for _, f := range fails {
				for err := f.Err; err != nil; err = errors.Unwrap(err) {
					fmt.Fprintf(&seen, "%v\n%+v\n%#v\n", err, err, err.Error())
				}
				fmt.Fprintf(&seen, "%+v\n", f.N)
			}
			out := seen.String()
			for _, s := range secrets {
				for line := range strings.Lines(out) {
					if strings.Contains(line, s) {
						t.Errorf("secret %q leaked into logs, errors or metrics: %s", s, line)
						break
					}
				}
			}
			if !strings.Contains(out, "127.0.0.1") {
				t.Errorf("errors do not say which host failed:\n%s", out)
			}
		})
	}
}
