package config

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EnvVar is one environment variable that overrides a configuration key.
type EnvVar struct {
	Name string
	// Key is the YAML key it overrides, dotted.
	Key string
	// Help says what it means.
	Help string
	set  func(c *Config, v string) error
}

// Env lists every environment variable Load reads, in documentation order.
func Env() []EnvVar {
	return []EnvVar{
		{"TRIPLINE_KAFKA_BROKERS", "kafka.brokers", "comma-separated bootstrap brokers (host:port)", func(c *Config, v string) error { c.Kafka.Brokers = splitList(v); return nil }},
		{"TRIPLINE_KAFKA_GROUP_ID", "kafka.group_id", "consumer group id", func(c *Config, v string) error { c.Kafka.GroupID = v; return nil }},
		{"TRIPLINE_KAFKA_CLIENT_ID", "kafka.client_id", "Kafka client id", func(c *Config, v string) error { c.Kafka.ClientID = v; return nil }},
		{"TRIPLINE_KAFKA_TOPICS", "kafka.topics", "comma-separated source topics; topic=format pins a format", func(c *Config, v string) error { c.Kafka.Topics = splitList(v); return nil }},
		{"TRIPLINE_KAFKA_DLQ_TOPIC", "kafka.dlq_topic", "dead-letter topic", func(c *Config, v string) error { c.Kafka.DLQTopic = v; return nil }},
		{"TRIPLINE_KAFKA_AUDIT_TOPIC", "kafka.audit_topic", "audit topic (empty: audit to the log only)", func(c *Config, v string) error { c.Kafka.AuditTopic = v; return nil }},
		{"TRIPLINE_DLQ_SIGNING_KEY", "kafka.dlq_signing_key", "key that signs the records tripline writes and reads back (dead-letter, parked, answers, state topic), so it acts only on its own (secret; at least 16 bytes)", func(c *Config, v string) error { c.Kafka.DLQSigningKey = Secret(v); return nil }},
		{"TRIPLINE_DLQ_SIGNING_KEY_FILE", "kafka.dlq_signing_key_file", "file holding the dead-letter signing key", func(c *Config, v string) error { c.Kafka.DLQSigningKeyFile = v; return nil }},
		{"TRIPLINE_DLQ_SIGNING_KEY_PREVIOUS", "kafka.dlq_signing_key_previous", "the signing key before a rotation: verifies only, so records signed under it stay valid and are re-signed under the current key when rewritten (secret)", func(c *Config, v string) error { c.Kafka.DLQSigningKeyPrevious = Secret(v); return nil }},
		{"TRIPLINE_DLQ_SIGNING_KEY_PREVIOUS_FILE", "kafka.dlq_signing_key_previous_file", "file holding the previous signing key", func(c *Config, v string) error { c.Kafka.DLQSigningKeyPreviousFile = v; return nil }},
		{"TRIPLINE_KAFKA_RETRY_TOPIC", "kafka.retry_topic", "where retryable failures wait to be re-driven (empty: dead-letter them at once; needs the signing key)", func(c *Config, v string) error { c.Kafka.RetryTopic = v; return nil }},
		{"TRIPLINE_KAFKA_APPROVALS_TOPIC", "kafka.approvals_topic", "answers to pending approvals (mode: approve rules; empty: approvals off; needs the signing key)", func(c *Config, v string) error { c.Kafka.ApprovalsTopic = v; return nil }},
		{"TRIPLINE_KAFKA_STATE_TOPIC", "kafka.state_topic", "compacted topic of the action ledger and breakers, shared by every instance", func(c *Config, v string) error { c.Kafka.StateTopic = v; return nil }},
		{"TRIPLINE_KAFKA_CREATE_TOPICS", "kafka.create_topics", "create the DLQ, audit and state topics when missing", boolSetter(func(c *Config) *bool { return &c.Kafka.CreateTopics })},
		{"TRIPLINE_KAFKA_TOPIC_PARTITIONS", "kafka.topic_partitions", "partitions of topics tripline creates", intSetter(func(c *Config) *int { return &c.Kafka.TopicPartitions })},
		{"TRIPLINE_KAFKA_TOPIC_REPLICATION", "kafka.topic_replication", "replication factor of topics tripline creates (-1: broker default)", intSetter(func(c *Config) *int { return &c.Kafka.TopicReplication })},
		{"TRIPLINE_KAFKA_TOPIC_MIN_INSYNC_REPLICAS", "kafka.topic_min_insync_replicas", "min.insync.replicas of topics tripline creates, so an acknowledged write survives a broker's loss (0: broker default)", intSetter(func(c *Config) *int { return &c.Kafka.TopicMinInsyncReplicas })},
		{"TRIPLINE_KAFKA_COMMIT_INTERVAL", "kafka.commit_interval", "longest time between offset commits", durSetter(func(c *Config) *time.Duration { return &c.Kafka.CommitInterval })},
		{"TRIPLINE_KAFKA_COMMIT_BATCH", "kafka.commit_batch", "commit after this many finished messages", intSetter(func(c *Config) *int { return &c.Kafka.CommitBatch })},
		{"TRIPLINE_KAFKA_PARTITION_BUFFER", "kafka.partition_buffer", "messages of one partition decoded ahead of the hand-over to the user workers", intSetter(func(c *Config) *int { return &c.Kafka.PartitionBuffer })},
		{"TRIPLINE_KAFKA_BUFFER_BYTES", "kafka.buffer_bytes", "bytes of fetched messages held at most, across partitions, before fetching waits (bounds memory)", intSetter(func(c *Config) *int { return &c.Kafka.BufferBytes })},
		{"TRIPLINE_KAFKA_SESSION_TIMEOUT", "kafka.session_timeout", "consumer group session timeout (>= 6s on most brokers)", durSetter(func(c *Config) *time.Duration { return &c.Kafka.SessionTimeout })},
		{"TRIPLINE_KAFKA_FETCH_RETRY", "kafka.fetch_retry", "how long fetching may keep failing before the consumer exits", durSetter(func(c *Config) *time.Duration { return &c.Kafka.FetchRetry })},
		{"TRIPLINE_KAFKA_MAX_BYTES", "kafka.max_bytes", "largest fetch, and largest DLQ record, in bytes", intSetter(func(c *Config) *int { return &c.Kafka.MaxBytes })},
		{"TRIPLINE_KAFKA_START_FROM_EARLIEST", "kafka.start_from_earliest", "a new group starts at the earliest offset instead of the latest", boolSetter(func(c *Config) *bool { return &c.Kafka.StartFromEarliest })},
		{"TRIPLINE_KAFKA_TLS_ENABLED", "kafka.tls.enabled", "use TLS to the brokers", boolSetter(func(c *Config) *bool { return &c.Kafka.TLS.Enabled })},
		{"TRIPLINE_KAFKA_TLS_CA_FILE", "kafka.tls.ca_file", "PEM CA bundle for the brokers' certificates", func(c *Config, v string) error { c.Kafka.TLS.CAFile = v; return nil }},
		{"TRIPLINE_KAFKA_TLS_CERT_FILE", "kafka.tls.cert_file", "PEM client certificate (mutual TLS)", func(c *Config, v string) error { c.Kafka.TLS.CertFile = v; return nil }},
		{"TRIPLINE_KAFKA_TLS_KEY_FILE", "kafka.tls.key_file", "PEM client key (mutual TLS)", func(c *Config, v string) error { c.Kafka.TLS.KeyFile = v; return nil }},
		{"TRIPLINE_KAFKA_TLS_SERVER_NAME", "kafka.tls.server_name", "server name to verify, when it differs from the broker host", func(c *Config, v string) error { c.Kafka.TLS.ServerName = v; return nil }},
		{"TRIPLINE_KAFKA_SASL_MECHANISM", "kafka.sasl.mechanism", "plain, scram-sha-256 or scram-sha-512", func(c *Config, v string) error { c.Kafka.SASL.Mechanism = v; return nil }},
		{"TRIPLINE_KAFKA_SASL_USERNAME", "kafka.sasl.username", "SASL user name", func(c *Config, v string) error { c.Kafka.SASL.Username = v; return nil }},
		{"TRIPLINE_KAFKA_SASL_PASSWORD", "kafka.sasl.password", "SASL password (secret)", func(c *Config, v string) error { c.Kafka.SASL.Password = Secret(v); return nil }},
		{"TRIPLINE_KAFKA_SASL_PASSWORD_FILE", "kafka.sasl.password_file", "file holding the SASL password", func(c *Config, v string) error { c.Kafka.SASL.PasswordFile = v; return nil }},
		{"TRIPLINE_KAFKA_SASL_ALLOW_PLAINTEXT", "kafka.sasl.allow_plaintext", "allow SASL PLAIN without TLS, which sends the password in clear (trusted networks only); SCRAM without TLS needs no such setting: the password is not sent, but the session is unencrypted", boolSetter(func(c *Config) *bool { return &c.Kafka.SASL.AllowPlaintext })},
		{"TRIPLINE_RULES_DIR", "rules.dir", "directory of rule files", func(c *Config, v string) error { c.Rules.Dir = v; return nil }},
		{"TRIPLINE_RULES_WATCH", "rules.watch", "reload rules when their files change", boolSetter(func(c *Config) *bool { return &c.Rules.Watch })},
		{"TRIPLINE_OP_BASE_URL", "onepassword.base_url", "Users API base URL (https; overrides region)", func(c *Config, v string) error { c.OnePassword.BaseURL = v; return nil }},
		{"TRIPLINE_OP_REGION", "onepassword.region", "com, ca or eu (used when base_url is empty)", func(c *Config, v string) error { c.OnePassword.Region = v; return nil }},
		{"TRIPLINE_OP_API_VERSION", "onepassword.api_version", "v1beta1 or v1", func(c *Config, v string) error { c.OnePassword.APIVersion = v; return nil }},
		{"TRIPLINE_OP_ACCOUNT_ID", "onepassword.account_id", "1Password account UUID (26 characters)", func(c *Config, v string) error { c.OnePassword.AccountID = v; return nil }},
		{"TRIPLINE_OP_CLIENT_ID", "onepassword.client_id", "OAuth client id", func(c *Config, v string) error { c.OnePassword.ClientID = v; return nil }},
		{"TRIPLINE_OP_CLIENT_SECRET", "onepassword.client_secret", "OAuth client secret (secret)", func(c *Config, v string) error { c.OnePassword.ClientSecret = Secret(v); return nil }},
		{"TRIPLINE_OP_CLIENT_SECRET_FILE", "onepassword.client_secret_file", "file holding the OAuth client secret", func(c *Config, v string) error { c.OnePassword.ClientSecretFile = v; return nil }},
		{"TRIPLINE_OP_ALLOW_INSECURE_LOOPBACK", "onepassword.allow_insecure_loopback", "allow plain HTTP to a loopback base URL (simulator only)", boolSetter(func(c *Config) *bool { return &c.OnePassword.AllowInsecureLoopback })},
		{"TRIPLINE_OP_TIMEOUT", "onepassword.timeout", "timeout of one Users API request", durSetter(func(c *Config) *time.Duration { return &c.OnePassword.Timeout })},
		{"TRIPLINE_DIRECTORY_REFRESH_INTERVAL", "directory.refresh_interval", "how often the user directory is listed again", durSetter(func(c *Config) *time.Duration { return &c.Directory.RefreshInterval })},
		{"TRIPLINE_RETRY_MAX_ELAPSED", "retry.max_elapsed", "retry budget of one action", durSetter(func(c *Config) *time.Duration { return &c.Retry.MaxElapsed })},
		{"TRIPLINE_RETRY_MAX_ATTEMPTS", "retry.max_attempts", "attempts of one action", intSetter(func(c *Config) *int { return &c.Retry.MaxAttempts })},
		{"TRIPLINE_RETRY_INITIAL_INTERVAL", "retry.initial_interval", "first retry delay", durSetter(func(c *Config) *time.Duration { return &c.Retry.InitialInterval })},
		{"TRIPLINE_RETRY_MAX_INTERVAL", "retry.max_interval", "longest retry delay", durSetter(func(c *Config) *time.Duration { return &c.Retry.MaxInterval })},
		{"TRIPLINE_RETRY_PARK_MAX", "retry.park_max", "how long a parked decision is re-driven before it is dead-lettered", durSetter(func(c *Config) *time.Duration { return &c.Retry.ParkMax })},
		{"TRIPLINE_RETRY_PARK_INITIAL", "retry.park_initial", "first delay before a parked decision is re-driven", durSetter(func(c *Config) *time.Duration { return &c.Retry.ParkInitial })},
		{"TRIPLINE_RETRY_PARK_INTERVAL_MAX", "retry.park_interval_max", "longest delay between re-drives (delays double up to it)", durSetter(func(c *Config) *time.Duration { return &c.Retry.ParkIntervalMax })},
		{"TRIPLINE_MAX_EVENT_AGE", "event.max_age", "older events (by event time or Kafka timestamp) are evaluated in shadow only (0: off)", durSetter(func(c *Config) *time.Duration { return &c.Event.MaxAge })},
		{"TRIPLINE_MAX_CLOCK_SKEW", "event.max_clock_skew", "events dated further ahead are dead-lettered as decode/future_time (0: off)", durSetter(func(c *Config) *time.Duration { return &c.Event.MaxClockSkew })},
		{"TRIPLINE_BREAKER_GLOBAL", "breaker.global", "cap on suspensions by every rule together, COUNT/WINDOW (0: off)", func(c *Config, v string) error { c.Breaker.Global = strings.TrimSpace(v); return nil }},
		{"TRIPLINE_LEDGER_RETENTION", "ledger.retention", "how long a user's record nothing needs any more (not suspended by tripline, no timed suspension, approval or exception) is kept after its last activity; at least 720h (30 days)", durSetter(func(c *Config) *time.Duration { return &c.Ledger.Retention })},
		{"TRIPLINE_DRY_RUN", "dry_run", "evaluate and record, never suspend or reactivate", boolSetter(func(c *Config) *bool { return &c.DryRun })},
		{"TRIPLINE_HTTP_ADDR", "http_addr", "address of /metrics, /healthz, /readyz (empty: off)", func(c *Config, v string) error { c.HTTPAddr = v; return nil }},
		{"TRIPLINE_MAX_IN_FLIGHT", "max_in_flight", "decisions queued or running at once, across users (one user's stay in order); fetching waits beyond", intSetter(func(c *Config) *int { return &c.MaxInFlight })},
		{"TRIPLINE_APPROVAL_ADDR", "approval_addr", "address of the Slack interactivity listener, behind your ingress (empty: off)", func(c *Config, v string) error { c.ApprovalAddr = v; return nil }},
		{"TRIPLINE_SLACK_BOT_TOKEN", "slack.bot_token", "Slack app's bot token, xoxb-... (secret)", func(c *Config, v string) error { c.Slack.BotToken = Secret(v); return nil }},
		{"TRIPLINE_SLACK_BOT_TOKEN_FILE", "slack.bot_token_file", "file holding the Slack bot token", func(c *Config, v string) error { c.Slack.BotTokenFile = v; return nil }},
		{"TRIPLINE_SLACK_SIGNING_SECRET", "slack.signing_secret", "Slack app's signing secret, which verifies every callback (secret)", func(c *Config, v string) error { c.Slack.SigningSecret = Secret(v); return nil }},
		{"TRIPLINE_SLACK_SIGNING_SECRET_FILE", "slack.signing_secret_file", "file holding the Slack signing secret", func(c *Config, v string) error { c.Slack.SigningSecretFile = v; return nil }},
		{"TRIPLINE_SLACK_APPROVAL_CHANNEL", "slack.approval_channel", "channel id where approval requests are posted (empty: CLI approvals only)", func(c *Config, v string) error { c.Slack.ApprovalChannel = v; return nil }},
		{"TRIPLINE_SLACK_APPROVERS", "slack.approvers", "comma-separated Slack user ids who may answer", func(c *Config, v string) error { c.Slack.Approvers = splitList(v); return nil }},
		{"TRIPLINE_SLACK_APPROVER_GROUP", "slack.approver_group", "Slack user group id (S...) whose members may answer", func(c *Config, v string) error { c.Slack.ApproverGroup = v; return nil }},
		{"TRIPLINE_SLACK_API_URL", "slack.api_url", "Slack Web API base URL", func(c *Config, v string) error { c.Slack.APIURL = v; return nil }},
		{"TRIPLINE_SLACK_CHANNEL", "notify.slack_channel", "channel id for notifications through the Slack app (slack.bot_token)", func(c *Config, v string) error { c.Notify.SlackChannel = v; return nil }},
		{"TRIPLINE_SLACK_WEBHOOK_URL", "notify.slack_webhook_url", "Slack incoming webhook for notifications, instead of the app (secret)", func(c *Config, v string) error { c.Notify.SlackWebhookURL = Secret(v); return nil }},
		{"TRIPLINE_SLACK_WEBHOOK_URL_FILE", "notify.slack_webhook_url_file", "file holding the Slack incoming webhook URL", func(c *Config, v string) error { c.Notify.SlackWebhookURLFile = v; return nil }},
		{"TRIPLINE_NOTIFY_WEBHOOK_URL", "notify.webhook_url", "generic webhook receiving signed JSON notifications (secret)", func(c *Config, v string) error { c.Notify.WebhookURL = Secret(v); return nil }},
		{"TRIPLINE_NOTIFY_WEBHOOK_URL_FILE", "notify.webhook_url_file", "file holding the webhook URL", func(c *Config, v string) error { c.Notify.WebhookURLFile = v; return nil }},
		{"TRIPLINE_NOTIFY_WEBHOOK_SECRET", "notify.webhook_secret", "key of the webhook's X-Tripline-Signature, at least 16 bytes (secret)", func(c *Config, v string) error { c.Notify.WebhookSecret = Secret(v); return nil }},
		{"TRIPLINE_NOTIFY_WEBHOOK_SECRET_FILE", "notify.webhook_secret_file", "file holding the webhook signing key", func(c *Config, v string) error { c.Notify.WebhookSecretFile = v; return nil }},
		{"TRIPLINE_PAGERDUTY_ROUTING_KEY", "notify.pagerduty_routing_key", "PagerDuty Events API v2 routing key: breaker trips and exhausted retries page (secret)", func(c *Config, v string) error { c.Notify.PagerDutyKey = Secret(v); return nil }},
		{"TRIPLINE_PAGERDUTY_ROUTING_KEY_FILE", "notify.pagerduty_routing_key_file", "file holding the PagerDuty routing key", func(c *Config, v string) error { c.Notify.PagerDutyKeyFile = v; return nil }},
		{"TRIPLINE_PAGERDUTY_URL", "notify.pagerduty_url", "PagerDuty enqueue endpoint", func(c *Config, v string) error { c.Notify.PagerDutyURL = v; return nil }},
		{"TRIPLINE_NOTIFY_INCLUDE_EMAIL", "notify.include_email", "send users' emails to the sinks (otherwise the 1Password user id and an email hash)", boolSetter(func(c *Config) *bool { return &c.Notify.IncludeEmail })},
		{"TRIPLINE_NOTIFY_EMAIL_HASH_KEY", "notify.email_hash_key", "key of the email hash sent to sinks, at least 16 bytes (secret)", func(c *Config, v string) error { c.Notify.EmailHashKey = Secret(v); return nil }},
		{"TRIPLINE_NOTIFY_EMAIL_HASH_KEY_FILE", "notify.email_hash_key_file", "file holding the email hash key", func(c *Config, v string) error { c.Notify.EmailHashKeyFile = v; return nil }},
		{"TRIPLINE_NOTIFY_QUEUE", "notify.queue", "notifications waiting per sink before new ones are dropped and counted", intSetter(func(c *Config) *int { return &c.Notify.Queue })},
		{"TRIPLINE_NOTIFY_ALLOW_INSECURE_LOOPBACK", "notify.allow_insecure_loopback", "allow plain HTTP sink URLs on loopback (tests only)", boolSetter(func(c *Config) *bool { return &c.Notify.AllowInsecureLoopback })},
		{"TRIPLINE_SHUTDOWN_GRACE", "shutdown_grace", "time in-flight messages get to finish on shutdown", durSetter(func(c *Config) *time.Duration { return &c.ShutdownGrace })},
		{"TRIPLINE_LOG_LEVEL", "log.level", "debug, info, warn or error", func(c *Config, v string) error { c.Log.Level = v; return nil }},
		{"TRIPLINE_LOG_FORMAT", "log.format", "json or text", func(c *Config, v string) error { c.Log.Format = v; return nil }},
	}
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func boolSetter(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("want true or false, got %q", v)
		}
		*field(c) = b
		return nil
	}
}

func intSetter(field func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("want a whole number, got %q", v)
		}
		*field(c) = n
		return nil
	}
}

func durSetter(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("want a duration such as 500ms or 2m, got %q", v)
		}
		*field(c) = d
		return nil
	}
}

// DefaultValue returns the default of the key an EnvVar overrides, as text
// ("" when the default is empty).
func (v EnvVar) DefaultValue() string {
	raw, err := json.Marshal(Default())
	if err != nil {
		return ""
	}
	var node any
	if json.Unmarshal(raw, &node) != nil {
		return ""
	}
	for _, part := range strings.Split(v.Key, ".") {
		m, ok := node.(map[string]any)
		if !ok {
			return ""
		}
		node = m[part]
	}
	switch x := node.(type) {
	case nil:
		return ""
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = fmt.Sprint(p)
		}
		return strings.Join(parts, ",")
	case float64:
		if strings.HasSuffix(v.Key, "interval") || strings.HasSuffix(v.Key, "timeout") || strings.HasSuffix(v.Key, "elapsed") || strings.HasSuffix(v.Key, "grace") || strings.HasSuffix(v.Key, "wait") || strings.HasSuffix(v.Key, "retry") || strings.HasSuffix(v.Key, "age") || strings.HasSuffix(v.Key, "skew") {
			return time.Duration(x).String()
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}
