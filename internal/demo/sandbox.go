package demo

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/devbroker"
	"github.com/tripline-dev/tripline/internal/kafkaio"
	"github.com/tripline-dev/tripline/internal/opsim"
)

// Sandbox is a self-contained world for the demo and the end-to-end tests:
// an embedded Kafka broker (kfake) and the Users API simulator, both on
// loopback sockets.
type Sandbox struct {
	broker *devbroker.Broker
	conn   *kafkaio.Connection // to the broker, for producing and reading records
	sim    *opsim.Server
	simURL string
	srv    *http.Server
}

// SandboxConfig says what a Sandbox holds: the topics the broker creates
// (with Partitions partitions, default 3), and the simulated account's
// users (Seed, plus Generate generated members).
type SandboxConfig struct {
	Topics     []string
	Partitions int
	Seed       opsim.Seed
	Generate   int
}

// StartSandbox starts the broker and the simulator; Close stops them.
func StartSandbox(sc SandboxConfig) (*Sandbox, error) {
	if sc.Partitions == 0 {
		sc.Partitions = 3
	}
	b, err := devbroker.Start(devbroker.Config{Listen: "127.0.0.1:0", Partitions: sc.Partitions, Topics: sc.Topics, MinSessionTimeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("start embedded broker: %w", err)
	}
	s := &Sandbox{broker: b}
	if s.conn, err = kafkaio.NewConnection(kafkaio.Config{Brokers: []string{b.Addr()}, ClientID: "tripline-sandbox"}); err != nil {
		b.Close()
		return nil, err
	}
	if s.sim, err = opsim.New(opsim.Config{Seed: sc.Seed, Generate: sc.Generate}); err != nil {
		b.Close()
		return nil, fmt.Errorf("start users api simulator: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Close()
		return nil, err
	}
	s.simURL = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.sim, ReadHeaderTimeout: 5 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// Config returns a configuration pointing at the sandbox: the consumer
// group, the rule directory and the source topics given, a fixed signing
// key, short timeouts and no HTTP listener.
func (s *Sandbox) Config(group, rulesDir string, topics ...string) config.Config {
	cfg := config.Default()
	cfg.Kafka.Brokers = []string{s.broker.Addr()}
	cfg.Kafka.GroupID = group
	cfg.Kafka.Topics = topics
	cfg.Kafka.DLQTopic = "tripline.dlq"
	cfg.Kafka.DLQSigningKey = "sandbox-dead-letter-signing-key" // a fixed key: this world is throwaway
	cfg.Kafka.StartFromEarliest = true
	cfg.Kafka.SessionTimeout = 6 * time.Second
	cfg.Kafka.MaxWait = 100 * time.Millisecond
	cfg.Kafka.CommitInterval = 100 * time.Millisecond
	cfg.Rules.Dir = rulesDir
	cfg.Rules.Watch = false
	cfg.OnePassword.BaseURL = s.simURL
	cfg.OnePassword.AllowInsecureLoopback = true
	cfg.OnePassword.AccountID = s.sim.Account()
	client := s.sim.Clients()[0]
	cfg.OnePassword.ClientID = client.ID
	cfg.OnePassword.ClientSecret = config.Secret(client.Secret)
	cfg.Retry.InitialInterval = 50 * time.Millisecond
	cfg.Retry.MaxInterval = 500 * time.Millisecond
	cfg.Retry.MaxElapsed = 5 * time.Second
	cfg.HTTPAddr = ""
	cfg.ShutdownGrace = 5 * time.Second
	return cfg
}

// Broker is the embedded Kafka broker.
func (s *Sandbox) Broker() *devbroker.Broker { return s.broker }

// Conn is a connection to the broker, for producing and reading records.
func (s *Sandbox) Conn() *kafkaio.Connection { return s.conn }

// Sim is the Users API simulator.
func (s *Sandbox) Sim() *opsim.Server { return s.sim }

// SimURL is the simulator's base URL.
func (s *Sandbox) SimURL() string { return s.simURL }

// Close stops the simulator and the broker.
func (s *Sandbox) Close() error {
	err := s.srv.Close()
	s.conn.Close()
	s.broker.Close()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
