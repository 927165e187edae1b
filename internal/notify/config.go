package notify

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/secret"
)

// Defaults applied by New to zero fields of Config.
const (
	DefaultQueueSize       = 1000
	DefaultTimeout         = 10 * time.Second
	DefaultSlackAPIURL     = "https://slack.com/api/"
	DefaultPagerDutyURL    = "https://events.pagerduty.com/v2/enqueue"
	DefaultPagerDutySource = "tripline"
	DefaultInitialInterval = time.Second
	DefaultMaxInterval     = 30 * time.Second
	DefaultMaxElapsed      = 2 * time.Minute
	DefaultMaxAttempts     = 6
)

// MinSecretLen is the shortest webhook signing secret and email hash key
// New accepts, in bytes: a shorter HMAC key is guessable.
const MinSecretLen = 16

// Config configures the Notifier. A sink is enabled by its credentials:
// Slack by BotToken and Channel or by WebhookURL, the webhook by URL and
// Secret, PagerDuty by RoutingKey. With no sink enabled the Notifier
// accepts notifications and sends nothing.
type Config struct {
	// QueueSize bounds each sink's queue of notifications waiting to be
	// sent; a notification that finds it full is dropped (queue_full).
	QueueSize int
	// IncludeEmail sends users' email addresses to the sinks. Without it a
	// sink sees the 1Password user id and the email hash only.
	IncludeEmail bool
	// EmailHashKey keys the email hash (HMAC-SHA256 of the folded email),
	// so that nobody without the key can confirm a guessed address. Without
	// it the hash is a plain SHA-256, which anyone holding a list of
	// addresses can reverse: set a key. At least MinSecretLen bytes.
	EmailHashKey secret.Value
	// DLQClasses are the dead-letter classes that need a person; a
	// TypeDLQ notification of another class is ignored. Default:
	// cannot_suspend, permission_denied, retries_exhausted.
	DLQClasses []string
	// Timeout bounds one delivery attempt.
	Timeout time.Duration
	// Retry bounds the retries of a delivery.
	Retry RetryConfig
	// AllowInsecureLoopback permits plain http:// URLs whose host is a
	// loopback address (tests and local fakes). Every other URL must be
	// https.
	AllowInsecureLoopback bool

	Slack     SlackConfig
	Webhook   WebhookConfig
	PagerDuty PagerDutyConfig

	// OnFailed, when set by the wiring (not an operator setting), receives
	// each notification a sink dropped after it left the queue (rejected,
	// failed, shutdown), with the sink name and the (redacted) error, so
	// the wiring can dead-letter it with class notify_failed. It runs on the
	// sink's goroutine and delays that sink's queue while it runs; it is
	// not called for queue_full drops, which happen on the caller's
	// goroutine and must not block it.
	OnFailed func(n Notification, sink string, err error)
}

// RetryConfig bounds the retries of one delivery: exponential backoff from
// InitialInterval up to MaxInterval, at most MaxAttempts attempts in all and
// no retry that would start after MaxElapsed. A Retry-After longer than
// the backoff is honoured; one that would pass MaxElapsed ends the retries.
type RetryConfig struct {
	InitialInterval time.Duration
	MaxInterval     time.Duration
	MaxElapsed      time.Duration
	MaxAttempts     int
}

// SlackConfig configures the Slack sink: either BotToken and Channel (Web
// API chat.postMessage, at APIURL) or WebhookURL (an incoming webhook),
// not both.
type SlackConfig struct {
	// BotToken is a bot token (xoxb-...) with the chat:write scope. It is
	// sent in the Authorization header only.
	BotToken secret.Value
	// Channel is the channel id (C0123...) or name the bot posts to.
	Channel string
	// APIURL is the Web API base URL; DefaultSlackAPIURL when empty.
	APIURL string
	// WebhookURL is an incoming webhook URL. Its path is a credential.
	WebhookURL secret.Value
}

// WebhookConfig configures the generic webhook sink.
type WebhookConfig struct {
	// URL receives each notification as a JSON POST. It is a secret: such
	// URLs often carry a token.
	URL secret.Value
	// Secret signs each request (X-Tripline-Signature). At least
	// MinSecretLen bytes.
	Secret secret.Value
}

// PagerDutyConfig configures the PagerDuty Events API v2 sink.
type PagerDutyConfig struct {
	// RoutingKey is the integration key of the PagerDuty service.
	RoutingKey secret.Value
	// URL is the enqueue endpoint; DefaultPagerDutyURL when empty.
	URL string
	// Source is the payload's source; DefaultPagerDutySource when empty.
	Source string
}

// bot reports whether the Web API Slack sink is configured (a token or a
// channel is set; Validate requires both).
func (c SlackConfig) bot() bool { return c.BotToken != "" || c.Channel != "" }

// setDefaults fills the zero fields of c.
func (c *Config) setDefaults() {
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.DLQClasses == nil {
		c.DLQClasses = []string{remediate.ClassCannotSuspend, remediate.ClassPermissionDenied, remediate.ClassRetriesExhausted}
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Retry.InitialInterval == 0 {
		c.Retry.InitialInterval = DefaultInitialInterval
	}
	if c.Retry.MaxInterval == 0 {
		c.Retry.MaxInterval = DefaultMaxInterval
	}
	if c.Retry.MaxElapsed == 0 {
		c.Retry.MaxElapsed = DefaultMaxElapsed
	}
	if c.Retry.MaxAttempts == 0 {
		c.Retry.MaxAttempts = DefaultMaxAttempts
	}
	if c.Slack.bot() && c.Slack.APIURL == "" {
		c.Slack.APIURL = DefaultSlackAPIURL
	}
	if c.PagerDuty.RoutingKey != "" {
		if c.PagerDuty.URL == "" {
			c.PagerDuty.URL = DefaultPagerDutyURL
		}
		if c.PagerDuty.Source == "" {
			c.PagerDuty.Source = DefaultPagerDutySource
		}
	}
}

// Validate reports every problem of c, with New's defaults applied to its
// zero fields, at once. Its errors never quote a secret or a webhook URL's
// path or query.
func (c Config) Validate() error {
	c.setDefaults()
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.QueueSize < 1 {
		bad("notify queue size %d: want at least 1", c.QueueSize)
	}
	if c.Timeout <= 0 {
		bad("notify timeout %s: want a positive duration", c.Timeout)
	}
	r := c.Retry
	if r.InitialInterval <= 0 || r.MaxInterval < r.InitialInterval {
		bad("notify retry intervals %s..%s: want 0 < initial <= max", r.InitialInterval, r.MaxInterval)
	}
	if r.MaxElapsed <= 0 {
		bad("notify retry max elapsed %s: want a positive duration (retries are never unbounded)", r.MaxElapsed)
	}
	if r.MaxAttempts < 1 {
		bad("notify retry max attempts %d: want at least 1", r.MaxAttempts)
	}
	if c.EmailHashKey != "" && len(c.EmailHashKey.Reveal()) < MinSecretLen {
		bad("notify email hash key: want at least %d bytes", MinSecretLen)
	}
	for _, class := range c.DLQClasses {
		if strings.TrimSpace(class) == "" {
			bad("notify dlq classes: empty class name")
		}
	}

	s := c.Slack
	switch {
	case s.bot() && s.WebhookURL != "":
		bad("slack: set either a bot token and channel or a webhook url, not both")
	case s.bot():
		if s.BotToken == "" {
			bad("slack: channel %q set without a bot token", s.Channel)
		}
		if s.Channel == "" {
			bad("slack: bot token set without a channel")
		}
		if err := checkURL(s.APIURL, c.AllowInsecureLoopback); err != nil {
			bad("slack api url %s: %w", displayURL(s.APIURL), err)
		}
	case s.WebhookURL != "":
		if err := checkURL(s.WebhookURL.Reveal(), c.AllowInsecureLoopback); err != nil {
			bad("slack webhook url %s: %w", displayURL(s.WebhookURL.Reveal()), err)
		}
	}

	w := c.Webhook
	if w.URL != "" || w.Secret != "" {
		if w.URL == "" {
			bad("notify webhook: secret set without a url")
		} else if err := checkURL(w.URL.Reveal(), c.AllowInsecureLoopback); err != nil {
			bad("notify webhook url %s: %w", displayURL(w.URL.Reveal()), err)
		}
		if w.Secret == "" {
			bad("notify webhook: url set without a signing secret (receivers must be able to verify requests)")
		} else if len(w.Secret.Reveal()) < MinSecretLen {
			bad("notify webhook secret: want at least %d bytes", MinSecretLen)
		}
	}

	p := c.PagerDuty
	if p.RoutingKey != "" {
		if err := checkURL(p.URL, c.AllowInsecureLoopback); err != nil {
			bad("pagerduty url %s: %w", displayURL(p.URL), err)
		}
	} else if p.URL != "" || p.Source != "" {
		bad("pagerduty: url or source set without a routing key")
	}

	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("validate notify config: %w", err)
	}
	return nil
}

// checkURL accepts an absolute https URL without credentials or fragment,
// or an http URL to a loopback host when allowInsecureLoopback is set. Its
// errors never quote the URL.
func checkURL(raw string, allowInsecureLoopback bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("does not parse as a URL")
	}
	if u.Hostname() == "" {
		return errors.New("has no host")
	}
	if u.User != nil {
		return errors.New("must not carry user credentials")
	}
	if u.Fragment != "" {
		return errors.New("must not have a fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if !isLoopback(u.Hostname()) {
			return errors.New("plain http is allowed only to a loopback host: use https")
		}
		if !allowInsecureLoopback {
			return errors.New("plain http needs AllowInsecureLoopback (tests only): use https")
		}
		return nil
	}
	return fmt.Errorf("scheme %q is not https", u.Scheme)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// displayURL is the part of a URL safe to print: its scheme and host.
// Paths and queries of webhook URLs are credentials (a Slack incoming
// webhook's path is its token), so they are never shown.
func displayURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<invalid url>"
	}
	s := u.Scheme + "://" + u.Host
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		s += "/…"
	}
	return s
}

// secrets lists every credential of c, and the parts of webhook URLs that
// are credentials, for redaction.
func (c Config) secrets() []secret.Value {
	out := []secret.Value{c.Slack.BotToken, c.Webhook.Secret, c.PagerDuty.RoutingKey, c.EmailHashKey}
	out = append(out, urlSecrets(c.Slack.WebhookURL)...)
	return append(out, urlSecrets(c.Webhook.URL)...)
}

// needsPerson reports whether class is one of the configured classes.
func (c Config) needsPerson(class string) bool { return slices.Contains(c.DLQClasses, class) }
