package devbroker

import (
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// DefaultListen is the address a Broker listens on when Config.Listen is empty.
const DefaultListen = "127.0.0.1:9092"

// DefaultPartitions is the partition count of auto-created topics when
// Config.Partitions is zero.
const DefaultPartitions = 3

// Config describes a Broker. The zero value listens on DefaultListen, keeps
// everything in memory and auto-creates topics with DefaultPartitions.
type Config struct {
	// Listen is the TCP host:port to serve on; port 0 picks a free port.
	// The broker advertises this host to clients, so listen on a host they
	// can dial (a loopback address for local use).
	Listen string
	// DataDir, if set, persists topics, records and committed offsets there
	// and reloads them on the next Start with the same directory.
	DataDir string
	// Partitions is the partition count of topics created on first use
	// and of Topics.
	Partitions int
	// Topics are created at start unless they already exist.
	Topics []string
	// MinSessionTimeout lowers the smallest consumer-group session timeout
	// the broker accepts (6 s by default, as on Apache Kafka). Tests set it
	// so readers with short session timeouts can join.
	MinSessionTimeout time.Duration
	// Log, if set, receives the broker's log at info level.
	Log io.Writer
}

// Broker is a running in-process Kafka broker. Close stops it.
type Broker struct {
	cluster *kfake.Cluster
	addr    string
}

// Start starts a broker described by cfg and returns once it accepts
// connections.
func Start(cfg Config) (*Broker, error) {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.Partitions == 0 {
		cfg.Partitions = DefaultPartitions
	}
	if cfg.Partitions < 0 {
		return nil, fmt.Errorf("devbroker: partitions must be positive, got %d", cfg.Partitions)
	}
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return nil, fmt.Errorf("devbroker: listen address %q: %w", cfg.Listen, err)
	}
	cluster, err := kfake.NewCluster(options(cfg)...)
	if err != nil {
		return nil, fmt.Errorf("devbroker: start on %s: %w", cfg.Listen, err)
	}
	b := &Broker{cluster: cluster}
	addrs := cluster.ListenAddrs()
	if len(addrs) != 1 {
		cluster.Close()
		return nil, fmt.Errorf("devbroker: expected one listener, got %d", len(addrs))
	}
	b.addr = addrs[0]
	if err := b.createTopics(cfg.Topics, cfg.Partitions); err != nil {
		cluster.Close()
		return nil, err
	}
	return b, nil
}

// options translates cfg into kfake options.
func options(cfg Config) []kfake.Opt {
	listen := cfg.Listen
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		// kfake always asks for 127.0.0.1:<port>; serve cfg.Listen instead.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, listen)
		}),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(cfg.Partitions),
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	if cfg.MinSessionTimeout > 0 {
		opts = append(opts, kfake.GroupMinSessionTimeout(cfg.MinSessionTimeout))
	}
	if cfg.Log != nil {
		opts = append(opts, kfake.WithLogger(kfake.BasicLogger(cfg.Log, kfake.LogLevelInfo)))
	}
	return opts
}

// createTopics creates each missing topic; topics reloaded from DataDir keep
// their partition count.
func (b *Broker) createTopics(topics []string, partitions int) error {
	var errs []error
	for _, t := range topics {
		if t == "" || len(b.cluster.PartitionInfos(t)) > 0 {
			continue
		}
		if err := b.cluster.CreateTopic(t, int32(partitions), nil); err != nil {
			errs = append(errs, fmt.Errorf("devbroker: create topic %q: %w", t, err))
		}
	}
	return errors.Join(errs...)
}

// Addr returns the bootstrap address clients dial, as host:port.
func (b *Broker) Addr() string { return b.addr }

// CreateTopic creates topic with the given partition count (0 means the
// broker default). It fails if the topic exists.
func (b *Broker) CreateTopic(topic string, partitions int) error {
	if err := b.cluster.CreateTopic(topic, int32(partitions), nil); err != nil {
		return fmt.Errorf("devbroker: create topic %q: %w", topic, err)
	}
	return nil
}

// Close stops the broker, writing its state to DataDir first if one is set.
// It is safe to call more than once.
func (b *Broker) Close() { b.cluster.Close() }
