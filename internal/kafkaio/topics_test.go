package kafkaio

import (
	"strings"
	"testing"

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
