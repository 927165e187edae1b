package app

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/deadletter"
	"github.com/tripline-dev/tripline/internal/notify"
	"github.com/tripline-dev/tripline/internal/secret"
)

// classNotifyFailed is the dead-letter class of a notification a sink
// refused or kept failing: the record holds the notification, for a person
// to read (dlq replay refuses it: it is not a sign-in).
const classNotifyFailed = "notify_failed"

// newNotifier starts the notification sinks that have credentials, and
// hooks them to the decision service's notices and the pipeline's
// dead-letters. Without any sink it does nothing.
func (m *Main) newNotifier() error {
	nc := m.cfg.Notify
	cfg := notify.Config{
		QueueSize: nc.Queue, IncludeEmail: nc.IncludeEmail, EmailHashKey: secret.Value(nc.EmailHashKey.Reveal()),
		AllowInsecureLoopback: nc.AllowInsecureLoopback,
		Webhook:               notify.WebhookConfig{URL: secret.Value(nc.WebhookURL.Reveal()), Secret: secret.Value(nc.WebhookSecret.Reveal())},
		PagerDuty:             notify.PagerDutyConfig{RoutingKey: secret.Value(nc.PagerDutyKey.Reveal()), URL: nc.PagerDutyURL},
		OnFailed:              m.notifyFailed,
	}
	switch {
	case nc.SlackWebhookURL != "":
		cfg.Slack = notify.SlackConfig{WebhookURL: secret.Value(nc.SlackWebhookURL.Reveal())}
	case nc.SlackChannel != "":
		cfg.Slack = notify.SlackConfig{BotToken: secret.Value(m.cfg.Slack.BotToken.Reveal()), Channel: nc.SlackChannel, APIURL: m.cfg.Slack.APIURL}
	}
	if cfg.Webhook.URL == "" && cfg.PagerDuty.RoutingKey == "" && cfg.Slack == (notify.SlackConfig{}) {
		return nil
	}
	n, err := notify.New(cfg, m.log, m.tel.Meter("tripline"), nil)
	if err != nil {
		return fmt.Errorf("notifications (notify.* settings): %w", err)
	}
	m.notifier = n
	m.log.Info("notifications on", "sinks", n.Sinks(), "include_email", nc.IncludeEmail)
	m.notices = append(m.notices, n.Notice)
	return nil
}

// notifyFailed dead-letters a notification a sink dropped for good, so it
// is never lost silently.
func (m *Main) notifyFailed(n notify.Notification, sink string, cause error) {
	if m.dlq == nil {
		return
	}
	value, err := json.Marshal(n)
	if err != nil {
		return
	}
	rec := kafka.Message{Key: []byte(n.ID), Value: value,
		Headers: deadletter.Record{Kind: deadletter.KindNotification, Class: classNotifyFailed, Reason: sink, Message: cause.Error()}.Encode()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.dlq.WriteDeadLetter(ctx, rec, rec); err != nil {
		m.log.Error("notification lost: not delivered and not dead-lettered", "sink", sink, "type", string(n.Type), "error", err.Error())
	}
}
