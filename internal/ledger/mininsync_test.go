package ledger_test

import (
	"strings"
	"testing"

	"github.com/tripline-dev/tripline/internal/kafkatest"
	"github.com/tripline-dev/tripline/internal/ledger"
)

// TestLoadCreatesTopicWithMinInsyncReplicas checks that the topic Load
// creates carries the min.insync.replicas asked for, next to its
// compaction, and that a negative value is refused.
func TestLoadCreatesTopicWithMinInsyncReplicas(t *testing.T) {
	t.Parallel()
	brokers := kafkatest.Brokers(t)
	topic := topicName(t, brokers)
	cfg := config(t, brokers, topic)
	cfg.MinInsyncReplicas = 2
	mustLoad(t, cfg, newRecorder())
	got := topicConfigs(t, kafkatest.Client(brokers), topic)
	if got["min.insync.replicas"] != "2" || got["cleanup.policy"] != "compact" {
		t.Errorf("created topic has min.insync.replicas=%q cleanup.policy=%q, want 2 and compact", got["min.insync.replicas"], got["cleanup.policy"])
	}

	cfg.MinInsyncReplicas = -1
	if _, err := ledger.New(cfg, func(string, []byte, string) {}); err == nil || !strings.Contains(err.Error(), "min insync replicas -1") {
		t.Errorf("New with min insync replicas -1: %v, want it refused", err)
	}
}
