package config

import (
	"strings"
	"testing"
)

// TestTopicMinInsyncReplicas checks kafka.topic_min_insync_replicas: 0 (the
// broker's default) unless set, read from its variable, refused when
// negative or above an explicit kafka.topic_replication.
func TestTopicMinInsyncReplicas(t *testing.T) {
	t.Parallel()
	cfg, err := Load("", mapLookup(validEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Kafka.TopicMinInsyncReplicas != 0 {
		t.Errorf("default kafka.topic_min_insync_replicas = %d, want 0", cfg.Kafka.TopicMinInsyncReplicas)
	}
	for _, tc := range []struct {
		replication, minISR string
		want                int
		err                 string
	}{
		{"3", "2", 2, ""},
		{"-1", "2", 2, ""}, // the broker's replication factor: not known here
		{"3", "3", 3, ""},
		{"2", "3", 0, "kafka.topic_min_insync_replicas"},
		{"3", "-1", 0, "kafka.topic_min_insync_replicas"},
	} {
		env := validEnv()
		env["TRIPLINE_KAFKA_TOPIC_REPLICATION"] = tc.replication
		env["TRIPLINE_KAFKA_TOPIC_MIN_INSYNC_REPLICAS"] = tc.minISR
		cfg, err := Load("", mapLookup(env))
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("replication %s, min insync %s: error %v, want one naming %s", tc.replication, tc.minISR, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("replication %s, min insync %s: %v", tc.replication, tc.minISR, err)
		case tc.err == "" && cfg.Kafka.TopicMinInsyncReplicas != tc.want:
			t.Errorf("replication %s, min insync %s: got %d, want %d", tc.replication, tc.minISR, cfg.Kafka.TopicMinInsyncReplicas, tc.want)
		}
	}
}
