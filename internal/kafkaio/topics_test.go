package kafkaio

import (
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/kafkatest"
)

// TestEnsureTopics runs against the embedded broker: a missing source topic
// is named in the error, a missing owned topic is created when allowed and
// refused otherwise.
func TestEnsureTopics(t *testing.T) {
	t.Parallel()
	addr := kafkatest.Start(t, kafkatest.WithTopics("signins"))
	conn, err := NewConnection(Config{Brokers: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := conn.EnsureTopics(ctx, TopicPlan{Sources: []string{"signins"}, Owned: []string{"dlq"}, Create: true, Partitions: 1, Replication: 1, MaxMessageBytes: 2 << 20}); err != nil {
		t.Fatalf("create dlq: %v", err)
	}
	if err := conn.EnsureTopics(ctx, TopicPlan{Sources: []string{"signins", "dlq"}}); err != nil {
		t.Errorf("the created dlq is not seen: %v", err)
	}
	err = conn.EnsureTopics(ctx, TopicPlan{Sources: []string{"signins", "nope1", "nope2"}, Owned: []string{"audit"}})
	for _, want := range []string{"source topics do not exist: nope1, nope2", "topic audit does not exist and kafka.create_topics is off"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("EnsureTopics = %v, want it to say %q", err, want)
		}
	}
}

// TestEnsureTopicsSetsMinInsyncReplicas checks that the owned topics
// EnsureTopics creates carry the plan's min.insync.replicas and
// max.message.bytes, and that a plan without them leaves the broker's
// defaults.
func TestEnsureTopicsSetsMinInsyncReplicas(t *testing.T) {
	t.Parallel()
	addr := kafkatest.Start(t)
	conn, err := NewConnection(Config{Brokers: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	plan := TopicPlan{Owned: []string{"dlq"}, Create: true, Partitions: 1, Replication: 1, MaxMessageBytes: 2 << 20, MinInsyncReplicas: 2}
	if err := conn.EnsureTopics(t.Context(), plan); err != nil {
		t.Fatalf("create dlq: %v", err)
	}
	got := topicConfigs(t, addr, "dlq")
	if got["min.insync.replicas"] != "2" || got["max.message.bytes"] != "2097152" {
		t.Errorf("dlq has min.insync.replicas=%q max.message.bytes=%q, want 2 and 2097152", got["min.insync.replicas"], got["max.message.bytes"])
	}
	if err := conn.EnsureTopics(t.Context(), TopicPlan{Owned: []string{"audit"}, Create: true, Partitions: 1, Replication: 1}); err != nil {
		t.Fatalf("create audit: %v", err)
	}
	if got := topicConfigs(t, addr, "audit")["min.insync.replicas"]; got == "2" {
		t.Errorf("audit, created without MinInsyncReplicas, has min.insync.replicas=%q", got)
	}
}

// topicConfigs returns the topic's configuration as the broker reports it.
func topicConfigs(t *testing.T, addr, topic string) map[string]string {
	t.Helper()
	res, err := kafkatest.Client(addr).DescribeConfigs(t.Context(), &kafka.DescribeConfigsRequest{
		Resources: []kafka.DescribeConfigRequestResource{{ResourceType: kafka.ResourceTypeTopic, ResourceName: topic}},
	})
	if err != nil {
		t.Fatalf("describe configs of %s: %v", topic, err)
	}
	if len(res.Resources) != 1 || res.Resources[0].Error != nil {
		t.Fatalf("describe configs of %s: %+v", topic, res.Resources)
	}
	m := map[string]string{}
	for _, e := range res.Resources[0].ConfigEntries {
		m[e.ConfigName] = e.ConfigValue
	}
	return m
}
