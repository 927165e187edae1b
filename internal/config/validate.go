package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var topicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// TopicSpec is one source topic and the format pinned for it ("" means
// auto-detect).
type TopicSpec struct {
	Name   string
	Format string
}

// TopicSpecs parses Kafka.Topics ("topic" or "topic=format").
func (c Config) TopicSpecs() []TopicSpec {
	specs := make([]TopicSpec, 0, len(c.Kafka.Topics))
	for _, t := range c.Kafka.Topics {
		name, format, _ := strings.Cut(t, "=")
		specs = append(specs, TopicSpec{Name: strings.TrimSpace(name), Format: strings.TrimSpace(format)})
	}
	return specs
}

// Validate reports every problem in the configuration at once, each naming
// the key (and its environment variable) to fix.
func (c Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s (%s): %s", key, envName(key), fmt.Sprintf(format, args...)))
	}
	c.validateKafka(add)
	c.validateOnePassword(add)
	if c.Rules.Dir == "" {
		add("rules.dir", "is required")
	}
	r := c.Retry
	if r.InitialInterval <= 0 || r.MaxInterval < r.InitialInterval {
		add("retry.max_interval", "must be at least retry.initial_interval (%s), and both positive", r.InitialInterval)
	}
	if r.MaxElapsed <= 0 {
		add("retry.max_elapsed", "must be positive")
	}
	if r.MaxAttempts < 1 {
		add("retry.max_attempts", "must be at least 1")
	}
	if r.ParkMax <= 0 || r.ParkInitial <= 0 || r.ParkIntervalMax < r.ParkInitial {
		add("retry.park_max", "retry.park_max and retry.park_initial must be positive, retry.park_interval_max at least retry.park_initial")
	}
	if c.Event.MaxBytes <= 0 || c.Event.MaxDepth <= 0 {
		add("event.max_bytes", "event.max_bytes and event.max_depth must be positive")
	}
	if c.Event.MaxAge < 0 || c.Event.MaxClockSkew < 0 {
		add("event.max_age", "event.max_age and event.max_clock_skew must not be negative (0 turns a check off)")
	}
	if c.Kafka.RetryTopic != "" && c.Event.MaxAge > 0 && r.ParkMax >= c.Event.MaxAge {
		add("retry.park_max", "retry.park_max (TRIPLINE_RETRY_PARK_MAX, %s) must be shorter than event.max_age (TRIPLINE_MAX_EVENT_AGE, %s): "+
			"a parked decision is aged from its first failure, and one older than event.max_age would end as stale (shadow only) "+
			"instead of being dead-lettered and notified when it runs out; lower retry.park_max or raise event.max_age", r.ParkMax, c.Event.MaxAge)
	}
	if c.Directory.RefreshInterval <= 0 || c.Directory.MinMissRefreshInterval < 0 {
		add("directory.refresh_interval", "must be positive")
	}
	if _, _, err := c.BreakerGlobal(); err != nil {
		add("breaker.global", "%v", err)
	}
	switch lr := c.Ledger.Retention; {
	case lr < minLedgerRetention:
		add("ledger.retention", "must be at least %s (30 days: the longest cooldown, timed suspension, escalation and exception the ledger keeps), got %s", minLedgerRetention, lr)
	case c.Event.MaxAge > 0 && lr <= c.Event.MaxAge:
		add("ledger.retention", "ledger.retention (%s) must be longer than event.max_age (%s): an event whose user record was forgotten must be too old to act", lr, c.Event.MaxAge)
	}
	if c.ShutdownGrace <= 0 {
		add("shutdown_grace", "must be positive")
	}
	if sl := c.Slack; sl.ApprovalChannel != "" || c.ApprovalAddr != "" {
		if sl.BotToken == "" || sl.ApprovalChannel == "" {
			add("slack.approval_channel", "approvals in Slack need slack.bot_token and slack.approval_channel")
		}
		if c.ApprovalAddr != "" && (sl.SigningSecret == "" || (len(sl.Approvers) == 0 && sl.ApproverGroup == "")) {
			add("approval_addr", "the Slack listener needs slack.signing_secret and approvers (slack.approvers or slack.approver_group)")
		}
		if c.Kafka.DLQSigningKey == "" || c.Kafka.ApprovalsTopic == "" {
			add("slack.approval_channel", "approvals need kafka.approvals_topic and the signing key (TRIPLINE_DLQ_SIGNING_KEY)")
		}
	}
	if c.MaxInFlight < 1 || c.MaxInFlight > 100_000 {
		add("max_in_flight", "must be between 1 and 100000, got %d", c.MaxInFlight)
	}
	if c.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			add("http_addr", "want host:port, got %q", c.HTTPAddr)
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("log.level", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "text" {
		add("log.format", "want json or text, got %q", c.Log.Format)
	}
	return errors.Join(errs...)
}

func (c Config) validateKafka(add func(key, format string, args ...any)) {
	k := c.Kafka
	if len(k.Brokers) == 0 {
		add("kafka.brokers", "at least one broker is required")
	}
	for _, b := range k.Brokers {
		if _, port, err := net.SplitHostPort(b); err != nil || port == "" {
			add("kafka.brokers", "want host:port, got %q", b)
		}
	}
	if k.GroupID == "" {
		add("kafka.group_id", "is required")
	}
	if len(k.Topics) == 0 {
		add("kafka.topics", "at least one source topic is required")
	}
	sources := map[string]bool{}
	for _, t := range c.TopicSpecs() {
		if !topicName.MatchString(t.Name) {
			add("kafka.topics", "%q is not a valid topic name", t.Name)
		}
		sources[t.Name] = true
	}
	if !topicName.MatchString(k.DLQTopic) {
		add("kafka.dlq_topic", "%q is not a valid topic name (a dead-letter topic is required)", k.DLQTopic)
	}
	if sources[k.DLQTopic] {
		add("kafka.dlq_topic", "%q is also a source topic", k.DLQTopic)
	}
	if k.AuditTopic != "" && (!topicName.MatchString(k.AuditTopic) || sources[k.AuditTopic]) {
		add("kafka.audit_topic", "%q must be a valid topic name that is not a source topic", k.AuditTopic)
	}
	k.validateSigningKeys(add)
	if !topicName.MatchString(k.StateTopic) || sources[k.StateTopic] || k.StateTopic == k.DLQTopic || k.StateTopic == k.AuditTopic {
		add("kafka.state_topic", "%q must be a valid topic name used for nothing else (the ledger needs its own compacted topic)", k.StateTopic)
	}
	if k.RetryTopic != "" && (!topicName.MatchString(k.RetryTopic) || sources[k.RetryTopic] || k.RetryTopic == k.DLQTopic || k.RetryTopic == k.AuditTopic || k.RetryTopic == k.StateTopic) {
		add("kafka.retry_topic", "%q must be a valid topic name used for nothing else (empty turns parking off)", k.RetryTopic)
	}
	if k.ApprovalsTopic != "" && (!topicName.MatchString(k.ApprovalsTopic) || sources[k.ApprovalsTopic] || k.ApprovalsTopic == k.DLQTopic ||
		k.ApprovalsTopic == k.AuditTopic || k.ApprovalsTopic == k.StateTopic || k.ApprovalsTopic == k.RetryTopic) {
		add("kafka.approvals_topic", "%q must be a valid topic name used for nothing else (empty turns approvals off)", k.ApprovalsTopic)
	}
	if k.BufferBytes < 1<<20 {
		add("kafka.buffer_bytes", "must be at least 1 MiB (1048576), got %d", k.BufferBytes)
	}
	if k.CommitInterval <= 0 || k.CommitBatch <= 0 || k.PartitionBuffer <= 0 {
		add("kafka.commit_interval", "kafka.commit_interval, kafka.commit_batch and kafka.partition_buffer must be positive")
	}
	if k.SessionTimeout < 0 || k.MaxWait <= 0 || k.MaxBytes <= 0 || k.FetchRetry <= 0 {
		add("kafka.max_wait", "kafka.max_wait, kafka.max_bytes and kafka.fetch_retry must be positive")
	}
	if k.TopicPartitions < 1 {
		add("kafka.topic_partitions", "must be at least 1")
	}
	if k.TopicMinInsyncReplicas < 0 {
		add("kafka.topic_min_insync_replicas", "must be 0 (the broker's default) or more, got %d", k.TopicMinInsyncReplicas)
	}
	if k.TopicReplication > 0 && k.TopicMinInsyncReplicas > k.TopicReplication {
		add("kafka.topic_min_insync_replicas", "%d is more than kafka.topic_replication %d: the topics would refuse every write", k.TopicMinInsyncReplicas, k.TopicReplication)
	}
	if (k.TLS.CertFile == "") != (k.TLS.KeyFile == "") {
		add("kafka.tls.cert_file", "a client certificate needs both kafka.tls.cert_file and kafka.tls.key_file")
	}
	switch k.SASL.Mechanism {
	case "":
	case "plain", "scram-sha-256", "scram-sha-512":
		if k.SASL.Username == "" || k.SASL.Password == "" {
			add("kafka.sasl.username", "SASL %s needs a username and a password", k.SASL.Mechanism)
		}
		if k.SASL.Mechanism == "plain" && !k.TLS.on() && !k.SASL.AllowPlaintext {
			add("kafka.sasl.mechanism", "SASL PLAIN without TLS sends the password in clear: enable TLS (kafka.tls.enabled, TRIPLINE_KAFKA_TLS_ENABLED=true), "+
				"or use scram-sha-256 or scram-sha-512, or, on a trusted network only, set kafka.sasl.allow_plaintext (TRIPLINE_KAFKA_SASL_ALLOW_PLAINTEXT=true)")
		}
	default:
		add("kafka.sasl.mechanism", "want plain, scram-sha-256 or scram-sha-512, got %q", k.SASL.Mechanism)
	}
}

// on reports whether TLS is used to the brokers: when enabled, or when a CA
// or client certificate file is given (the rule kafkaio applies).
func (t TLS) on() bool { return t.Enabled || t.CAFile != "" || t.CertFile != "" }

func (c Config) validateOnePassword(add func(key, format string, args ...any)) {
	o := c.OnePassword
	if o.APIVersion != "v1beta1" && o.APIVersion != "v1" {
		add("onepassword.api_version", "want v1beta1 or v1, got %q", o.APIVersion)
	}
	if o.BaseURL == "" {
		switch o.Region {
		case "com", "ca", "eu":
		default:
			add("onepassword.region", "want com, ca or eu, got %q", o.Region)
		}
	} else if u, err := url.Parse(o.BaseURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		add("onepassword.base_url", "want an https URL such as https://api.1password.com, got %q", o.BaseURL)
	}
	if o.AccountID == "" {
		add("onepassword.account_id", "is required (the 26-character account UUID)")
	}
	if o.ClientID == "" {
		add("onepassword.client_id", "is required")
	}
	if o.ClientSecret == "" {
		add("onepassword.client_secret", "is required (or onepassword.client_secret_file)")
	}
	if o.Timeout <= 0 {
		add("onepassword.timeout", "must be positive")
	}
}

func envName(key string) string {
	for _, v := range Env() {
		if v.Key == key {
			return v.Name
		}
	}
	return "file only"
}

// minLedgerRetention is the shortest ledger.retention: the ledger keeps a
// rule's cooldown, a timed suspension, its escalation history and an
// exception for at most 30 days.
const minLedgerRetention = 30 * 24 * time.Hour

// maxBreakerWindow is the longest breaker window (the ledger keeps a week
// of suspensions).
const maxBreakerWindow = 7 * 24 * time.Hour

// BreakerGlobal parses breaker.global: COUNT/WINDOW, or "0" (count 0) for
// no global cap.
func (c Config) BreakerGlobal() (count int, window time.Duration, err error) {
	v := strings.TrimSpace(c.Breaker.Global)
	if v == "0" {
		return 0, 0, nil
	}
	n, w, ok := strings.Cut(v, "/")
	count, nerr := strconv.Atoi(strings.TrimSpace(n))
	window, werr := time.ParseDuration(strings.TrimSpace(w))
	if !ok || nerr != nil || werr != nil || count < 1 || window <= 0 || window > maxBreakerWindow {
		return 0, 0, fmt.Errorf("want COUNT/WINDOW such as 20/10m (a window of at most 168h), or 0 for no global cap; got %q", c.Breaker.Global)
	}
	return count, window, nil
}

// validateSigningKeys checks the signing key and the previous one.
func (k Kafka) validateSigningKeys(add func(key, format string, args ...any)) {
	if n := len(k.DLQSigningKey); n > 0 && n < 16 {
		add("kafka.dlq_signing_key", "is %d bytes; use at least 16 random bytes (e.g. openssl rand -hex 32)", n)
	}
	switch n := len(k.DLQSigningKeyPrevious); {
	case n == 0:
	case k.DLQSigningKey == "":
		add("kafka.dlq_signing_key_previous", "needs kafka.dlq_signing_key (TRIPLINE_DLQ_SIGNING_KEY): the previous key only verifies, the current one signs")
	case n < 16:
		add("kafka.dlq_signing_key_previous", "is %d bytes; use at least 16 random bytes", n)
	case k.DLQSigningKeyPrevious == k.DLQSigningKey:
		add("kafka.dlq_signing_key_previous", "is the same as kafka.dlq_signing_key: after a rotation it holds the old key")
	}
}
