package config

import (
	"fmt"
	"time"

	"github.com/tripline-dev/tripline/internal/signing"
)

// Config is tripline's whole configuration. Every key can be set in the YAML
// file and overridden from the environment (see Env for the names).
type Config struct {
	Kafka       Kafka       `yaml:"kafka" json:"kafka"`
	Rules       Rules       `yaml:"rules" json:"rules"`
	OnePassword OnePassword `yaml:"onepassword" json:"onepassword"`
	Directory   Directory   `yaml:"directory" json:"directory"`
	Retry       Retry       `yaml:"retry" json:"retry"`
	Event       Event       `yaml:"event" json:"event"`
	Breaker     Breaker     `yaml:"breaker" json:"breaker"`
	Ledger      Ledger      `yaml:"ledger" json:"ledger"`
	Slack       Slack       `yaml:"slack" json:"slack"`
	Notify      Notify      `yaml:"notify" json:"notify"`
	// ApprovalAddr is where Slack's interactivity callbacks (the Approve
	// and Deny buttons) are served; empty turns the listener off. It must
	// sit behind the organisation's ingress (TLS, a public name).
	ApprovalAddr string `yaml:"approval_addr" json:"approval_addr"`
	// DryRun evaluates rules and records decisions but never calls suspend
	// or reactivate.
	DryRun bool `yaml:"dry_run" json:"dry_run"`
	// HTTPAddr is where /metrics, /healthz and /readyz are served; empty
	// disables the server.
	HTTPAddr string `yaml:"http_addr" json:"http_addr"`
	// ShutdownGrace bounds how long in-flight messages may take to finish
	// after a shutdown signal.
	ShutdownGrace time.Duration `yaml:"shutdown_grace" json:"shutdown_grace"`
	// MaxInFlight bounds the decisions queued or running in the process:
	// decisions about different users run in parallel up to it, and
	// fetching waits when it is reached.
	MaxInFlight int `yaml:"max_in_flight" json:"max_in_flight"`
	Log         Log `yaml:"log" json:"log"`
}

// Slack configures the Slack app that posts approval requests and
// receives the approvers' answers.
type Slack struct {
	// BotToken is the app's Bot User OAuth Token (xoxb-...).
	BotToken     Secret `yaml:"bot_token" json:"bot_token"`
	BotTokenFile string `yaml:"bot_token_file" json:"bot_token_file"`
	// SigningSecret verifies every interactivity callback.
	SigningSecret     Secret `yaml:"signing_secret" json:"signing_secret"`
	SigningSecretFile string `yaml:"signing_secret_file" json:"signing_secret_file"`
	// ApprovalChannel is the channel id where approval requests go; empty
	// posts none (approvals through the CLI only).
	ApprovalChannel string `yaml:"approval_channel" json:"approval_channel"`
	// Approvers are the Slack user ids who may answer; ApproverGroup a
	// Slack user group whose members may too.
	Approvers     []string `yaml:"approvers" json:"approvers"`
	ApproverGroup string   `yaml:"approver_group" json:"approver_group"`
	// APIURL is the Web API base URL (tests point it at a fake).
	APIURL string `yaml:"api_url" json:"api_url"`
}

// Notify configures the notification sinks: a Slack channel (with
// slack.bot_token) or incoming webhook, a signed generic webhook, and
// PagerDuty. Each is on when its credentials are set.
type Notify struct {
	SlackChannel        string `yaml:"slack_channel" json:"slack_channel"`
	SlackWebhookURL     Secret `yaml:"slack_webhook_url" json:"slack_webhook_url"`
	SlackWebhookURLFile string `yaml:"slack_webhook_url_file" json:"slack_webhook_url_file"`
	WebhookURL          Secret `yaml:"webhook_url" json:"webhook_url"`
	WebhookURLFile      string `yaml:"webhook_url_file" json:"webhook_url_file"`
	WebhookSecret       Secret `yaml:"webhook_secret" json:"webhook_secret"`
	WebhookSecretFile   string `yaml:"webhook_secret_file" json:"webhook_secret_file"`
	PagerDutyKey        Secret `yaml:"pagerduty_routing_key" json:"pagerduty_routing_key"`
	PagerDutyKeyFile    string `yaml:"pagerduty_routing_key_file" json:"pagerduty_routing_key_file"`
	PagerDutyURL        string `yaml:"pagerduty_url" json:"pagerduty_url"`
	// IncludeEmail sends users' emails to the sinks; otherwise only the
	// 1Password user id and a hash of the email (keyed by EmailHashKey).
	IncludeEmail     bool   `yaml:"include_email" json:"include_email"`
	EmailHashKey     Secret `yaml:"email_hash_key" json:"email_hash_key"`
	EmailHashKeyFile string `yaml:"email_hash_key_file" json:"email_hash_key_file"`
	// Queue bounds each sink's queue; a notification that finds it full is
	// dropped and counted.
	Queue int `yaml:"queue" json:"queue"`
	// AllowInsecureLoopback permits http:// sink URLs on loopback (tests).
	AllowInsecureLoopback bool `yaml:"allow_insecure_loopback" json:"allow_insecure_loopback"`
}

// Kafka configures the consumer group, the dead-letter and audit topics and
// the connection to the cluster.
type Kafka struct {
	Brokers  []string `yaml:"brokers" json:"brokers"`
	GroupID  string   `yaml:"group_id" json:"group_id"`
	ClientID string   `yaml:"client_id" json:"client_id"`
	// Topics are the source topics; "topic=format" pins a format.
	Topics     []string `yaml:"topics" json:"topics"`
	DLQTopic   string   `yaml:"dlq_topic" json:"dlq_topic"`
	AuditTopic string   `yaml:"audit_topic" json:"audit_topic"`
	// StateTopic is the compacted topic of the action ledger and the
	// breakers, shared by every instance of the group.
	StateTopic string `yaml:"state_topic" json:"state_topic"`
	// RetryTopic is where decisions that failed for a reason that may
	// pass (the Users API down) wait to be re-driven (see retry.park_*);
	// empty dead-letters them at once. Parking needs the signing key.
	RetryTopic string `yaml:"retry_topic" json:"retry_topic"`
	// ApprovalsTopic carries the answers to pending approvals (approve,
	// deny, and the clock's remind and expire), signed, keyed by approval
	// id. Approvals need it and the signing key.
	ApprovalsTopic string `yaml:"approvals_topic" json:"approvals_topic"`
	// DLQSigningKey signs (HMAC-SHA256) every record tripline writes and
	// reads back: dead-letter, parked and answer records and the state
	// topic's records, so that tripline acts only on records it wrote.
	// Every instance, and whoever replays, needs the same key.
	DLQSigningKey     Secret `yaml:"dlq_signing_key" json:"dlq_signing_key"`
	DLQSigningKeyFile string `yaml:"dlq_signing_key_file" json:"dlq_signing_key_file"`
	// DLQSigningKeyPrevious only verifies: after a rotation it holds the
	// old key, so records signed before it stay valid (they are signed
	// again under the current key when tripline rewrites them).
	DLQSigningKeyPrevious     Secret `yaml:"dlq_signing_key_previous" json:"dlq_signing_key_previous"`
	DLQSigningKeyPreviousFile string `yaml:"dlq_signing_key_previous_file" json:"dlq_signing_key_previous_file"`
	// CreateTopics creates the DLQ, audit and state topics when they are
	// missing.
	CreateTopics     bool          `yaml:"create_topics" json:"create_topics"`
	TopicPartitions  int           `yaml:"topic_partitions" json:"topic_partitions"`
	TopicReplication int           `yaml:"topic_replication" json:"topic_replication"`
	CommitInterval   time.Duration `yaml:"commit_interval" json:"commit_interval"`
	CommitBatch      int           `yaml:"commit_batch" json:"commit_batch"`
	PartitionBuffer  int           `yaml:"partition_buffer" json:"partition_buffer"`
	// TopicMinInsyncReplicas, when positive, is the min.insync.replicas of
	// the topics tripline creates (DLQ, audit, retry, approvals, state):
	// with acks=all, a write then needs that many replicas in sync, so an
	// acknowledged record survives the loss of a broker. 0 leaves the
	// broker's default (1 unless the cluster sets another).
	TopicMinInsyncReplicas int `yaml:"topic_min_insync_replicas" json:"topic_min_insync_replicas"`
	// BufferBytes bounds the bytes of fetched messages not yet finished.
	BufferBytes    int           `yaml:"buffer_bytes" json:"buffer_bytes"`
	SessionTimeout time.Duration `yaml:"session_timeout" json:"session_timeout"`
	MaxWait        time.Duration `yaml:"max_wait" json:"max_wait"`
	MaxBytes       int           `yaml:"max_bytes" json:"max_bytes"`
	// FetchRetry is how long fetching may keep failing (broker restart,
	// network cut) before the consumer exits non-zero.
	FetchRetry        time.Duration `yaml:"fetch_retry" json:"fetch_retry"`
	StartFromEarliest bool          `yaml:"start_from_earliest" json:"start_from_earliest"`
	TLS               TLS           `yaml:"tls" json:"tls"`
	SASL              SASL          `yaml:"sasl" json:"sasl"`
}

// TLS configures TLS to the brokers.
type TLS struct {
	Enabled            bool   `yaml:"enabled" json:"enabled"`
	CAFile             string `yaml:"ca_file" json:"ca_file"`
	CertFile           string `yaml:"cert_file" json:"cert_file"`
	KeyFile            string `yaml:"key_file" json:"key_file"`
	ServerName         string `yaml:"server_name" json:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify" json:"insecure_skip_verify"`
}

// SASL configures SASL authentication to the brokers.
type SASL struct {
	// Mechanism is "", "plain", "scram-sha-256" or "scram-sha-512".
	Mechanism    string `yaml:"mechanism" json:"mechanism"`
	Username     string `yaml:"username" json:"username"`
	Password     Secret `yaml:"password" json:"password"`
	PasswordFile string `yaml:"password_file" json:"password_file"`
	// AllowPlaintext permits the "plain" mechanism without TLS, which sends
	// the password in clear: for a trusted network only. SCRAM without TLS
	// needs no such permission (the password never crosses the network, but
	// the session is not encrypted).
	AllowPlaintext bool `yaml:"allow_plaintext" json:"allow_plaintext"`
}

// Rules configures the policy rules.
type Rules struct {
	Dir string `yaml:"dir" json:"dir"`
	// Watch reloads the rules when files in Dir change (SIGHUP always does).
	Watch bool `yaml:"watch" json:"watch"`
}

// OnePassword configures the Users API client.
type OnePassword struct {
	BaseURL               string        `yaml:"base_url" json:"base_url"`
	Region                string        `yaml:"region" json:"region"`
	APIVersion            string        `yaml:"api_version" json:"api_version"`
	AccountID             string        `yaml:"account_id" json:"account_id"`
	ClientID              string        `yaml:"client_id" json:"client_id"`
	ClientSecret          Secret        `yaml:"client_secret" json:"client_secret"`
	ClientSecretFile      string        `yaml:"client_secret_file" json:"client_secret_file"`
	AllowInsecureLoopback bool          `yaml:"allow_insecure_loopback" json:"allow_insecure_loopback"`
	Timeout               time.Duration `yaml:"timeout" json:"timeout"`
}

// Directory configures the email-to-user-id directory.
type Directory struct {
	RefreshInterval        time.Duration `yaml:"refresh_interval" json:"refresh_interval"`
	MinMissRefreshInterval time.Duration `yaml:"min_miss_refresh_interval" json:"min_miss_refresh_interval"`
}

// Retry bounds the retries of transient Users API failures.
type Retry struct {
	InitialInterval time.Duration `yaml:"initial_interval" json:"initial_interval"`
	MaxInterval     time.Duration `yaml:"max_interval" json:"max_interval"`
	MaxElapsed      time.Duration `yaml:"max_elapsed" json:"max_elapsed"`
	MaxAttempts     int           `yaml:"max_attempts" json:"max_attempts"`
	// ParkMax is how long after its first failure a parked decision is
	// still re-driven before it is dead-lettered; ParkInitial and
	// ParkIntervalMax are the first and the longest delay between
	// re-drives (each doubles the last).
	ParkMax         time.Duration `yaml:"park_max" json:"park_max"`
	ParkInitial     time.Duration `yaml:"park_initial" json:"park_initial"`
	ParkIntervalMax time.Duration `yaml:"park_interval_max" json:"park_interval_max"`
}

// Event configures decoding limits and event-time limits.
type Event struct {
	MaxBytes int `yaml:"max_bytes" json:"max_bytes"`
	MaxDepth int `yaml:"max_depth" json:"max_depth"`
	// MaxAge: an event (or Kafka record) older than this is evaluated in
	// shadow only (outcome stale); 0 turns the check off.
	MaxAge time.Duration `yaml:"max_age" json:"max_age"`
	// MaxClockSkew: an event (or Kafka record) dated more than this ahead
	// of the clock is dead-lettered (decode/future_time) and never counted
	// in a window; 0 turns the check off.
	MaxClockSkew time.Duration `yaml:"max_clock_skew" json:"max_clock_skew"`
}

// Breaker configures the blast-radius breaker.
type Breaker struct {
	// Global caps the suspensions of every rule together in a sliding
	// window, written COUNT/WINDOW ("20/10m"); "0" turns it off.
	Global string `yaml:"global" json:"global"`
}

// Ledger configures the action ledger kept on the state topic.
type Ledger struct {
	// Retention is how long a user's record that nothing needs any more
	// (no timed suspension, pending approval or exception running; not
	// suspended by tripline) is kept after its last activity, before it is
	// tombstoned on the state topic and dropped from memory. Every
	// instance must use the same value.
	Retention time.Duration `yaml:"retention" json:"retention"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level" json:"level"`
	// Format is json or text.
	Format string `yaml:"format" json:"format"`
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Kafka: Kafka{
			Brokers:          []string{"127.0.0.1:9092"},
			GroupID:          "tripline",
			ClientID:         "tripline",
			DLQTopic:         "tripline.dlq",
			StateTopic:       "tripline.state",
			RetryTopic:       "tripline.retry",
			ApprovalsTopic:   "tripline.approvals",
			CreateTopics:     true,
			TopicPartitions:  3,
			TopicReplication: -1,
			CommitInterval:   time.Second,
			CommitBatch:      1000,
			PartitionBuffer:  256,
			BufferBytes:      16 << 20,
			SessionTimeout:   10 * time.Second,
			MaxWait:          500 * time.Millisecond,
			MaxBytes:         10 << 20,
			FetchRetry:       5 * time.Minute,
		},
		Rules:       Rules{Dir: "rules", Watch: true},
		OnePassword: OnePassword{APIVersion: "v1beta1", Region: "com", Timeout: 15 * time.Second},
		Directory:   Directory{RefreshInterval: 5 * time.Minute, MinMissRefreshInterval: 30 * time.Second},
		Retry: Retry{
			InitialInterval: 250 * time.Millisecond,
			MaxInterval:     10 * time.Second,
			MaxElapsed:      60 * time.Second,
			MaxAttempts:     8,
			ParkMax:         12 * time.Hour,
			ParkInitial:     30 * time.Second,
			ParkIntervalMax: 10 * time.Minute,
		},
		Event:         Event{MaxBytes: 1 << 20, MaxDepth: 64, MaxAge: 24 * time.Hour, MaxClockSkew: 5 * time.Minute},
		Breaker:       Breaker{Global: "20/10m"},
		Ledger:        Ledger{Retention: 90 * 24 * time.Hour},
		HTTPAddr:      "127.0.0.1:9464",
		ShutdownGrace: 30 * time.Second,
		MaxInFlight:   64,
		Notify:        Notify{Queue: 1000},
		Log:           Log{Level: "info", Format: "json"},
	}
}

// SigningKeys is the key ring of kafka.dlq_signing_key (signs and
// verifies) and kafka.dlq_signing_key_previous (verifies only). Without a
// signing key it signs nothing.
func (k Kafka) SigningKeys() (*signing.Keyring, error) {
	keys, err := signing.NewKeyring([]byte(k.DLQSigningKey.Reveal()), []byte(k.DLQSigningKeyPrevious.Reveal()))
	if err != nil {
		return nil, fmt.Errorf("kafka.dlq_signing_key: %w", err)
	}
	return keys, nil
}
