package pipeline

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/tripline-dev/tripline/internal/config"
)

// Connection holds what every Kafka client of tripline shares: TLS and SASL
// settings, as a dialer (for readers) and a transport (for writers and
// admin requests).
type Connection struct {
	Brokers   []string
	Dialer    *kafka.Dialer
	Transport *kafka.Transport
}

// NewConnection builds the dialer and transport from the configuration.
// Errors name the file or setting at fault and never contain the password.
func NewConnection(k config.Kafka) (*Connection, error) {
	tlsCfg, err := tlsConfig(k.TLS)
	if err != nil {
		return nil, err
	}
	mech, err := saslMechanism(k.SASL)
	if err != nil {
		return nil, err
	}
	clientID := k.ClientID
	if clientID == "" {
		clientID = "tripline"
	}
	return &Connection{
		Brokers:   k.Brokers,
		Dialer:    &kafka.Dialer{ClientID: clientID, Timeout: 10 * time.Second, DualStack: true, TLS: tlsCfg, SASLMechanism: mech},
		Transport: &kafka.Transport{ClientID: clientID, TLS: tlsCfg, SASL: mech, DialTimeout: 10 * time.Second},
	}, nil
}

func tlsConfig(t config.TLS) (*tls.Config, error) {
	if !t.Enabled && t.CAFile == "" && t.CertFile == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // opt-in for test clusters
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka tls ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka tls ca_file %s: no PEM certificate found", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka tls client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func saslMechanism(s config.SASL) (sasl.Mechanism, error) {
	switch s.Mechanism {
	case "":
		return nil, nil
	case "plain":
		return plain.Mechanism{Username: s.Username, Password: s.Password.Reveal()}, nil
	case "scram-sha-256", "scram-sha-512":
		algo := scram.SHA256
		if s.Mechanism == "scram-sha-512" {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, s.Username, s.Password.Reveal())
		if err != nil {
			return nil, fmt.Errorf("kafka sasl %s: cannot set up the mechanism", s.Mechanism)
		}
		return m, nil
	}
	return nil, fmt.Errorf("kafka sasl: unknown mechanism %q", s.Mechanism)
}

// NewReader returns a consumer-group reader over the source topics. Offsets
// are committed explicitly (CommitInterval 0) by the Consumer's committer.
func (c *Connection) NewReader(k config.Kafka, topics []string, log *slog.Logger) *kafka.Reader {
	start := kafka.LastOffset
	if k.StartFromEarliest {
		start = kafka.FirstOffset
	}
	session := k.SessionTimeout
	if session <= 0 {
		session = 10 * time.Second
	}
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:               c.Brokers,
		GroupID:               k.GroupID,
		GroupTopics:           topics,
		Dialer:                c.Dialer,
		MinBytes:              1,
		MaxBytes:              k.MaxBytes,
		MaxWait:               k.MaxWait,
		SessionTimeout:        session,
		HeartbeatInterval:     max(session/4, 500*time.Millisecond),
		RebalanceTimeout:      session,
		StartOffset:           start,
		CommitInterval:        0,
		WatchPartitionChanges: true,
		ReadBackoffMin:        50 * time.Millisecond,
		ReadBackoffMax:        time.Second,
		ErrorLogger:           kafka.LoggerFunc(func(msg string, args ...any) { log.Warn("kafka reader: " + fmt.Sprintf(msg, args...)) }),
	})
}

// NewWriter returns a synchronous writer to topic that waits for every
// in-sync replica to acknowledge (for the DLQ and audit topics). maxBytes
// bounds one message (0: kafka-go's default of 1 MiB).
func (c *Connection) NewWriter(topic string, maxBytes int) *kafka.Writer {
	return &kafka.Writer{
		Addr:         kafka.TCP(c.Brokers...),
		Topic:        topic,
		Transport:    c.Transport,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		MaxAttempts:  5,
		BatchTimeout: time.Millisecond,
		WriteTimeout: 10 * time.Second,
		BatchBytes:   int64(maxBytes),
	}
}

// TopicPlan says which topics must exist and which tripline may create.
type TopicPlan struct {
	Sources []string
	// Owned are the DLQ and audit topics: created when missing if Create.
	Owned       []string
	Create      bool
	Partitions  int
	Replication int
	// MaxMessageBytes, when positive, is the max.message.bytes of the
	// owned topics tripline creates, so the DLQ can hold any value the
	// consumer could fetch.
	MaxMessageBytes int
}

// EnsureTopics checks that every source topic exists (an error names each
// missing one) and creates the owned topics that are missing when allowed.
func (c *Connection) EnsureTopics(ctx context.Context, plan TopicPlan) error {
	client := &kafka.Client{Addr: kafka.TCP(c.Brokers...), Transport: c.Transport, Timeout: 15 * time.Second}
	all := append(append([]string{}, plan.Sources...), plan.Owned...)
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: all})
	if err != nil {
		return fmt.Errorf("kafka metadata from %s: %w", strings.Join(c.Brokers, ","), err)
	}
	exists := map[string]bool{}
	for _, t := range meta.Topics {
		if t.Error == nil && len(t.Partitions) > 0 {
			exists[t.Name] = true
		}
	}
	var missing []string
	for _, t := range plan.Sources {
		if !exists[t] {
			missing = append(missing, t)
		}
	}
	var errs []error
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("source topics do not exist: %s (create them, or fix kafka.topics / TRIPLINE_KAFKA_TOPICS)", strings.Join(missing, ", ")))
	}
	var create []kafka.TopicConfig
	for _, t := range plan.Owned {
		if exists[t] {
			continue
		}
		if !plan.Create {
			errs = append(errs, fmt.Errorf("topic %s does not exist and kafka.create_topics is off", t))
			continue
		}
		tc := kafka.TopicConfig{Topic: t, NumPartitions: plan.Partitions, ReplicationFactor: plan.Replication}
		if plan.MaxMessageBytes > 0 {
			tc.ConfigEntries = []kafka.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(plan.MaxMessageBytes)}}
		}
		create = append(create, tc)
	}
	if len(create) > 0 {
		resp, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: create})
		if err != nil {
			errs = append(errs, fmt.Errorf("create topics: %w", err))
		} else {
			for name, err := range resp.Errors {
				if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
					errs = append(errs, fmt.Errorf("create topic %s: %w (create it by hand, or grant CREATE on it)", name, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}
