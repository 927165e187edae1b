package notify_test

import (
	"strings"
	"testing"

	"github.com/tripline-dev/tripline/internal/notify"
	"github.com/tripline-dev/tripline/internal/secret"
)

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	const tokenURL = "https://hooks.slack.com/services/T0/B0/pathTOKENdddd4444"
	tests := []struct {
		name string
		cfg  notify.Config
		want []string // substrings of the error, all required
	}{
		{name: "plain http to a remote host", cfg: notify.Config{Webhook: notify.WebhookConfig{URL: "http://hooks.example.com/x", Secret: testSecret}, AllowInsecureLoopback: true},
			want: []string{"notify webhook url http://hooks.example.com/…", "only to a loopback host"}},
		{name: "loopback http without the option", cfg: notify.Config{Webhook: notify.WebhookConfig{URL: "http://127.0.0.1:9/x", Secret: testSecret}},
			want: []string{"needs AllowInsecureLoopback"}},
		{name: "other scheme", cfg: notify.Config{PagerDuty: notify.PagerDutyConfig{RoutingKey: testRoutingKey, URL: "ftp://events.pagerduty.com/"}},
			want: []string{"pagerduty url", `scheme "ftp" is not https`}},
		{name: "credentials in the url", cfg: notify.Config{Slack: notify.SlackConfig{WebhookURL: "https://user:pw@hooks.slack.com/services/x"}},
			want: []string{"must not carry user credentials"}},
		{name: "both slack modes", cfg: notify.Config{Slack: notify.SlackConfig{BotToken: testBotToken, Channel: "C1", WebhookURL: tokenURL}},
			want: []string{"either a bot token and channel or a webhook url"}},
		{name: "bot token without channel", cfg: notify.Config{Slack: notify.SlackConfig{BotToken: testBotToken}},
			want: []string{"bot token set without a channel"}},
		{name: "webhook without secret", cfg: notify.Config{Webhook: notify.WebhookConfig{URL: "https://hooks.example.com/x"}},
			want: []string{"without a signing secret"}},
		{name: "short secrets", cfg: notify.Config{EmailHashKey: "short", Webhook: notify.WebhookConfig{URL: "https://hooks.example.com/x", Secret: "short"}},
			want: []string{"email hash key: want at least 16 bytes", "webhook secret: want at least 16 bytes"}},
		{name: "pagerduty url without key", cfg: notify.Config{PagerDuty: notify.PagerDutyConfig{URL: "https://events.pagerduty.com/v2/enqueue"}},
			want: []string{"without a routing key"}},
		{name: "unbounded retries", cfg: notify.Config{Retry: notify.RetryConfig{InitialInterval: 1, MaxInterval: 1, MaxElapsed: -1, MaxAttempts: -1}},
			want: []string{"max elapsed", "max attempts"}},
		{name: "every problem at once", cfg: notify.Config{QueueSize: -1,
			Slack:   notify.SlackConfig{Channel: "C1"},
			Webhook: notify.WebhookConfig{URL: secret.Value("http://hooks.example.com/services/pathTOKENdddd4444"), Secret: "x"},
		}, want: []string{"queue size -1", "channel \"C1\" set without a bot token", "only to a loopback host", "webhook secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := notify.New(tt.cfg, nil, nil, nil)
			if err == nil {
				t.Fatalf("New accepted %s", tt.name)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, s := range []string{"pathTOKENdddd4444", testBotToken, testRoutingKey, testSecret, "pw@"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q shows the secret %q", err, s)
				}
			}
		})
	}
}

func TestNewAcceptsHTTPSAndLoopback(t *testing.T) {
	t.Parallel()
	for _, cfg := range []notify.Config{
		{Webhook: notify.WebhookConfig{URL: "https://hooks.example.com/x?token=abc", Secret: testSecret}},
		{Webhook: notify.WebhookConfig{URL: "http://127.0.0.1:8080/x", Secret: testSecret}, AllowInsecureLoopback: true},
		{Webhook: notify.WebhookConfig{URL: "http://[::1]:8080/x", Secret: testSecret}, AllowInsecureLoopback: true},
		{Slack: notify.SlackConfig{BotToken: testBotToken, Channel: "C1"}, PagerDuty: notify.PagerDutyConfig{RoutingKey: testRoutingKey}},
	} {
		n, err := notify.New(cfg, nil, nil, nil)
		if err != nil {
			t.Errorf("New: %v", err)
			continue
		}
		if err := n.Close(t.Context()); err != nil {
			t.Error(err)
		}
	}
}
