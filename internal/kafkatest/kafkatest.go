package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/devbroker"
)

// EnvBrokers names the environment variable that points tests at an
// external broker (comma-separated host:port list).
const EnvBrokers = "KAFKA_BROKERS"

// MinSessionTimeout is the smallest group session timeout the in-process
// broker accepts, so readers in tests may use short timeouts.
const MinSessionTimeout = 100 * time.Millisecond

// Option changes the broker Start runs.
type Option func(*devbroker.Config)

// WithPartitions sets the partition count of auto-created topics.
func WithPartitions(n int) Option {
	return func(c *devbroker.Config) { c.Partitions = n }
}

// WithTopics pre-creates topics.
func WithTopics(topics ...string) Option {
	return func(c *devbroker.Config) { c.Topics = append(c.Topics, topics...) }
}

// WithDataDir persists the broker's state in dir, so a second Start with
// the same dir sees the same topics, records and offsets.
func WithDataDir(dir string) Option {
	return func(c *devbroker.Config) { c.DataDir = dir }
}

// Start runs an in-process broker on a free loopback port until the test
// ends and returns its bootstrap address.
func Start(t testing.TB, opts ...Option) string {
	t.Helper()
	cfg := devbroker.Config{Listen: "127.0.0.1:0", MinSessionTimeout: MinSessionTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	b, err := devbroker.Start(cfg)
	if err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	t.Cleanup(b.Close)
	return b.Addr()
}

// Brokers returns the value of KAFKA_BROKERS if set, else the address of a
// broker started with Start(t, opts...).
func Brokers(t testing.TB, opts ...Option) string {
	t.Helper()
	if v := strings.TrimSpace(os.Getenv(EnvBrokers)); v != "" {
		return v
	}
	return Start(t, opts...)
}

// External reports whether KAFKA_BROKERS points tests at an external broker.
func External() bool { return strings.TrimSpace(os.Getenv(EnvBrokers)) != "" }

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// TopicName returns a topic name unique to this run, derived from the test
// name so a leftover topic on a shared broker can be traced to its test.
func TopicName(t testing.TB) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("kafkatest: %v", err)
	}
	name := unsafeChars.ReplaceAllString(t.Name(), "_")
	if len(name) > 180 {
		name = name[:180]
	}
	return fmt.Sprintf("t.%s.%s", name, hex.EncodeToString(b[:]))
}

// NewTopic creates a uniquely named topic with the given partition count on
// brokers and returns its name, once the broker lists it with a leader for
// every partition. The topic is deleted when the test ends.
func NewTopic(t testing.TB, brokers string, partitions int) string {
	t.Helper()
	topic := TopicName(t)
	client := Client(brokers)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: topic, NumPartitions: partitions, ReplicationFactor: 1,
	}}})
	if err == nil {
		err = res.Errors[topic]
	}
	if err != nil {
		t.Fatalf("kafkatest: create topic %s on %s: %v", topic, brokers, err)
	}
	t.Cleanup(func() { deleteTopic(t, client, topic) })
	if err := waitLeaders(ctx, client, topic, partitions); err != nil {
		t.Fatalf("kafkatest: topic %s on %s: %v", topic, brokers, err)
	}
	return topic
}

// Client returns a kafka-go admin client for brokers with its own transport,
// so no test shares connections with another.
func Client(brokers string) *kafka.Client {
	return &kafka.Client{
		Addr:      kafka.TCP(strings.Split(brokers, ",")...),
		Timeout:   10 * time.Second,
		Transport: &kafka.Transport{MetadataTTL: time.Second},
	}
}

// waitLeaders polls metadata until topic has partitions partitions, each
// with a leader, or ctx ends.
func waitLeaders(ctx context.Context, client *kafka.Client, topic string, partitions int) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
		if err == nil && ready(md, topic, partitions) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no leader for every partition: %w (last error: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func ready(md *kafka.MetadataResponse, topic string, partitions int) bool {
	for _, tp := range md.Topics {
		if tp.Name != topic || tp.Error != nil || len(tp.Partitions) != partitions {
			continue
		}
		for _, p := range tp.Partitions {
			if p.Leader.Host == "" {
				return false
			}
		}
		return true
	}
	return false
}

// deleteTopic removes topic, logging instead of failing: a leftover topic
// on a throwaway broker is harmless.
func deleteTopic(t testing.TB, client *kafka.Client, topic string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{topic}})
	if err == nil {
		err = res.Errors[topic]
	}
	if err != nil {
		t.Logf("kafkatest: delete topic %s: %v", topic, err)
	}
}
