//go:build kafka

package kafka

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/kafkatest"
)

// Helpers for the scenarios that kill one broker of a multi-node cluster
// started by scripts/kafka-local.sh (KAFKA_NODES=3): which node leads
// what, and killing and starting a node through the script.

// clusterNodes is the node count the failover scenarios need: with
// replication 3 and min.insync.replicas 2, one node may die.
const clusterNodes = 3

// cluster is a multi-node Apache Kafka cluster scripts/kafka-local.sh
// started, node i serving clients on port+2(i-1).
type cluster struct {
	t       *testing.T
	brokers string
	// port is node 1's client port: the script's KAFKA_PORT.
	port int
	// addrs is each node's client address, by node id.
	addrs  map[int]string
	client *kafka.Client
}

// clusterOf returns the cluster KAFKA_BROKERS names, or skips the test
// unless it is clusterNodes brokers started by scripts/kafka-local.sh
// (which the test uses to kill and restart them).
func clusterOf(t *testing.T) *cluster {
	t.Helper()
	const how = "start them with KAFKA_NODES=3 KAFKA_PORT=29092 bash scripts/kafka-local.sh up, then run make test-kafka-failover with the KAFKA_BROKERS it prints"
	brokers := strings.TrimSpace(os.Getenv(kafkatest.EnvBrokers))
	if brokers == "" {
		t.Skipf("broker-failover needs a cluster of %d Apache Kafka brokers, and KAFKA_BROKERS is not set (%s)", clusterNodes, how)
	}
	c := &cluster{t: t, brokers: brokers, addrs: map[int]string{}, client: freshClient(brokers)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	md, err := c.client.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		t.Fatalf("metadata from %s: %v", brokers, err)
	}
	if len(md.Brokers) != clusterNodes {
		t.Skipf("broker-failover needs a cluster of %d brokers; %s has %d (%s)", clusterNodes, brokers, len(md.Brokers), how)
	}
	for _, b := range md.Brokers {
		c.addrs[b.ID] = net.JoinHostPort(b.Host, strconv.Itoa(b.Port))
		if b.ID == 1 {
			c.port = b.Port
		}
	}
	for id, addr := range c.addrs {
		_, p, _ := net.SplitHostPort(addr)
		want := strconv.Itoa(c.port + 2*(id-1))
		if c.port == 0 || p != want {
			t.Skipf("broker-failover needs the nodes scripts/kafka-local.sh starts (node i on KAFKA_PORT+2(i-1)); node %d is on %s (%s)", id, addr, how)
		}
		if _, err := os.Stat(filepath.Join(kafkaCacheDir(), "run-"+p, "kafka.pid")); err != nil {
			t.Skipf("broker-failover kills and restarts the nodes through scripts/kafka-local.sh, which did not start node %d here: %v (%s)", id, err, how)
		}
	}
	return c
}

// kafkaCacheDir is the script's KAFKA_CACHE_DIR, as it resolves it.
func kafkaCacheDir() string {
	if dir := os.Getenv("KAFKA_CACHE_DIR"); dir != "" {
		return dir
	}
	return filepath.Join("..", "..", ".cache", "kafka")
}

// freshClient is an admin client whose metadata is never older than a
// few hundred milliseconds, so leader changes are seen at once.
func freshClient(brokers string) *kafka.Client {
	return &kafka.Client{
		Addr:      kafka.TCP(strings.Split(brokers, ",")...),
		Timeout:   5 * time.Second,
		Transport: &kafka.Transport{DialTimeout: 2 * time.Second, MetadataTTL: 200 * time.Millisecond},
	}
}

// script runs scripts/kafka-local.sh with args against this cluster and
// fails the test unless it exits 0. The nodes it starts get a process
// group of their own, as those `up` starts, so they outlive the test.
func (c *cluster) script(ctx context.Context, args ...string) {
	c.t.Helper()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join("..", "..", "scripts", "kafka-local.sh")}, args...)...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KAFKA_PORT=") && !strings.HasPrefix(kv, "KAFKA_NODES=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "KAFKA_PORT="+strconv.Itoa(c.port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("scripts/kafka-local.sh %s: %v\n%s", strings.Join(args, " "), err, lastBytes(out.String(), 4096))
	}
	c.t.Logf("scripts/kafka-local.sh %s:\n%s", strings.Join(args, " "), strings.TrimSpace(out.String()))
}

// kill SIGKILLs node id (its data stays) and returns when it is gone.
func (c *cluster) kill(ctx context.Context, id int) { c.script(ctx, "kill", strconv.Itoa(id)) }

// start starts node id again and returns once its broker serves.
func (c *cluster) start(ctx context.Context, id int) { c.script(ctx, "start", strconv.Itoa(id)) }

// createTopic creates a topic named after the test with partitions
// partitions, replication clusterNodes and min.insync.replicas 2, as the
// source topic of a failover world, and deletes it when the test ends.
func (c *cluster) createTopic(partitions int) string {
	c.t.Helper()
	topic := kafkatest.TopicName(c.t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := c.client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: topic, NumPartitions: partitions, ReplicationFactor: clusterNodes,
		ConfigEntries: []kafka.ConfigEntry{{ConfigName: "min.insync.replicas", ConfigValue: "2"}},
	}}})
	if err == nil {
		err = res.Errors[topic]
	}
	if err != nil {
		c.t.Fatalf("create topic %s: %v", topic, err)
	}
	c.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{topic}})
	})
	relWait(c.t, 30*time.Second, "the source topic in sync on every node", c.inSync(topic))
	return topic
}

// partitionsOf returns the metadata of topic's partitions, by partition.
func (c *cluster) partitionsOf(ctx context.Context, topic string) (map[int]kafka.Partition, error) {
	md, err := c.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	for _, tp := range md.Topics {
		if tp.Name != topic {
			continue
		}
		if tp.Error != nil {
			return nil, fmt.Errorf("metadata of %s: %w", topic, tp.Error)
		}
		out := map[int]kafka.Partition{}
		for _, p := range tp.Partitions {
			out[p.ID] = p
		}
		return out, nil
	}
	return nil, fmt.Errorf("metadata does not list %s", topic)
}

// inSync is a relWait condition: every partition of topics has
// clusterNodes replicas, all of them in sync, and a leader.
func (c *cluster) inSync(topics ...string) func() (bool, string) {
	return func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, topic := range topics {
			parts, err := c.partitionsOf(ctx, topic)
			if err != nil {
				return false, err.Error()
			}
			for id, p := range parts {
				if len(p.Replicas) != clusterNodes || len(p.Isr) != clusterNodes || p.Leader.Host == "" {
					return false, fmt.Sprintf("%s/%d: leader %d, %d replicas, %d in sync", topic, id, p.Leader.ID, len(p.Replicas), len(p.Isr))
				}
			}
		}
		return true, ""
	}
}

// leaders returns, by node id, the partitions of topic it leads, sorted.
func (c *cluster) leaders(ctx context.Context, topic string) (map[int][]int, error) {
	parts, err := c.partitionsOf(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := map[int][]int{}
	for id, p := range parts {
		out[p.Leader.ID] = append(out[p.Leader.ID], id)
	}
	for _, l := range out {
		slices.Sort(l)
	}
	return out, nil
}

// ledNothing reports whether every partition of topics has a leader
// other than node.
func (c *cluster) ledNothing(ctx context.Context, node int, topics ...string) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	for _, topic := range topics {
		parts, err := c.partitionsOf(ctx, topic)
		if err != nil {
			return false
		}
		for _, p := range parts {
			if p.Leader.ID == node || p.Leader.Host == "" {
				return false
			}
		}
	}
	return true
}

// coordinator returns the node id of group's coordinator.
func (c *cluster) coordinator(ctx context.Context, group string) (int, error) {
	res, err := c.client.FindCoordinator(ctx, &kafka.FindCoordinatorRequest{Key: group, KeyType: kafka.CoordinatorKeyTypeConsumer})
	if err == nil {
		err = res.Error
	}
	if err != nil {
		return 0, fmt.Errorf("find coordinator of %s: %w", group, err)
	}
	return res.Coordinator.NodeID, nil
}

// topicSettings returns the replication factor of topic (the replicas of
// its partition 0) and its min.insync.replicas as the brokers report them.
func (c *cluster) topicSettings(ctx context.Context, topic string) (replication int, minISR string, err error) {
	parts, err := c.partitionsOf(ctx, topic)
	if err != nil {
		return 0, "", err
	}
	res, err := c.client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{
		Resources: []kafka.DescribeConfigRequestResource{{ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"min.insync.replicas"}}},
	})
	if err != nil {
		return 0, "", fmt.Errorf("describe configs of %s: %w", topic, err)
	}
	for _, r := range res.Resources {
		if r.Error != nil {
			return 0, "", fmt.Errorf("describe configs of %s: %w", topic, r.Error)
		}
		for _, e := range r.ConfigEntries {
			if e.ConfigName == "min.insync.replicas" {
				minISR = e.ConfigValue
			}
		}
	}
	return len(parts[0].Replicas), minISR, nil
}
