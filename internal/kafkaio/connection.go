package kafkaio

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/tripline-dev/tripline/internal/secret"
)

// Config says how to reach the cluster.
type Config struct {
	Brokers []string
	// ClientID names tripline to the brokers (default "tripline").
	ClientID string
	TLS      TLS
	SASL     SASL
}

// TLS configures TLS to the brokers. TLS is on when Enabled, or when a CA or
// client certificate file is given.
type TLS struct {
	Enabled            bool
	CAFile             string
	CertFile, KeyFile  string
	ServerName         string
	InsecureSkipVerify bool
}

// SASL configures SASL authentication to the brokers. PLAIN sends the
// password as it is, so it belongs over TLS; config.Validate refuses it
// without TLS unless kafka.sasl.allow_plaintext is set. SCRAM never sends
// the password, but without TLS the session is still unencrypted.
type SASL struct {
	// Mechanism is "", "plain", "scram-sha-256" or "scram-sha-512".
	Mechanism string
	Username  string
	Password  secret.Value
}

// MetadataTTL is how long the transport trusts the cluster metadata it
// cached (kafka-go's default is 6s). The transport refreshes it on that
// clock only, never after an error: when a broker dies, its writers and
// admin requests (the ledger's fetches, the DLQ) keep going to the dead
// leader until the cache expires, so a short TTL lets them follow the new
// leader within a second of its election.
const MetadataTTL = time.Second

// Connection holds what every Kafka client of tripline shares: TLS and SASL
// settings, as a dialer (for readers) and a transport (for writers and
// admin requests).
type Connection struct {
	Brokers   []string
	Dialer    *kafka.Dialer
	Transport *kafka.Transport
}

// NewConnection builds the dialer and transport from cfg. Errors name the
// file or setting at fault and never contain the password.
func NewConnection(cfg Config) (*Connection, error) {
	tlsCfg, err := tlsConfig(cfg.TLS)
	if err != nil {
		return nil, err
	}
	mech, err := saslMechanism(cfg.SASL)
	if err != nil {
		return nil, err
	}
	clientID := cfg.ClientID
	if clientID == "" {
		clientID = "tripline"
	}
	return &Connection{
		Brokers:   cfg.Brokers,
		Dialer:    &kafka.Dialer{ClientID: clientID, Timeout: 10 * time.Second, DualStack: true, TLS: tlsCfg, SASLMechanism: mech},
		Transport: &kafka.Transport{ClientID: clientID, TLS: tlsCfg, SASL: mech, DialTimeout: 10 * time.Second, MetadataTTL: MetadataTTL},
	}, nil
}

func tlsConfig(t TLS) (*tls.Config, error) {
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

func saslMechanism(s SASL) (sasl.Mechanism, error) {
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

// Close closes the idle connections of the transport (writers and admin
// requests); connections in use close when they become idle. Close readers
// and writers first.
func (c *Connection) Close() { c.Transport.CloseIdleConnections() }

// Client returns an admin client over the connection's transport whose
// requests time out after timeout.
func (c *Connection) Client(timeout time.Duration) *kafka.Client {
	return &kafka.Client{Addr: kafka.TCP(c.Brokers...), Transport: c.Transport, Timeout: timeout}
}

// ReaderConfig describes a consumer-group reader.
type ReaderConfig struct {
	GroupID string
	Topics  []string
	// MaxBytes bounds one fetch (and so the largest message readable);
	// 0 means kafka-go's default of 1 MB.
	MaxBytes int
	// MaxWait is how long a fetch waits for data.
	MaxWait time.Duration
	// SessionTimeout is the group session timeout (default 10s).
	SessionTimeout time.Duration
	// StartFromEarliest starts a group without committed offsets at the
	// first offset instead of the end.
	StartFromEarliest bool
	// Logger receives the reader's errors at warn level (nil: discarded).
	Logger *slog.Logger
	// QueueCapacity is how many fetched messages the reader may hold ahead
	// of FetchMessage (0: DefaultQueueCapacity). With messages of up to a
	// megabyte, it is what the reader's memory is made of.
	QueueCapacity int
}

// DefaultQueueCapacity is the reader's default read-ahead, in messages.
const DefaultQueueCapacity = 16

// NewReader returns a consumer-group reader over rc.Topics. Offsets are
// committed explicitly (CommitInterval 0) with CommitMessages.
func (c *Connection) NewReader(rc ReaderConfig) *kafka.Reader {
	start := kafka.LastOffset
	if rc.StartFromEarliest {
		start = kafka.FirstOffset
	}
	session := rc.SessionTimeout
	if session <= 0 {
		session = 10 * time.Second
	}
	maxBytes := rc.MaxBytes
	if maxBytes <= 0 {
		maxBytes = 1e6 // kafka-go panics on MinBytes 1 with MaxBytes 0
	}
	log := rc.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	queue := rc.QueueCapacity
	if queue <= 0 {
		queue = DefaultQueueCapacity
	}
	return kafka.NewReader(kafka.ReaderConfig{
		QueueCapacity:         queue,
		Brokers:               c.Brokers,
		GroupID:               rc.GroupID,
		GroupTopics:           rc.Topics,
		Dialer:                c.Dialer,
		MinBytes:              1,
		MaxBytes:              maxBytes,
		MaxWait:               rc.MaxWait,
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
