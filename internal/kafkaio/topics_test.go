package kafkaio

import (
	"errors"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/kafkatest"
)

// TestEnsureTopicsCompacted runs against the embedded broker (kfake), which
// answers DescribeConfigs with each topic's cleanup.policy: a missing
// compacted topic is created compacted and then passes the check; an
// existing topic with the delete policy is refused; without Create a
// missing one is an error.
func TestEnsureTopicsCompacted(t *testing.T) {
	t.Parallel()
	const plain = "plain"
	addr := kafkatest.Start(t, kafkatest.WithTopics(plain))
	conn, err := NewConnection(Config{Brokers: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	const state = "state"

	plan := TopicPlan{Compacted: []string{state}, Create: true, Partitions: 1, Replication: 1}
	if warns, err := conn.EnsureTopics(ctx, plan); err != nil || len(warns) > 0 {
		t.Fatalf("create %s: warnings %q, error %v", state, warns, err)
	}
	if warns, err := conn.EnsureTopics(ctx, plan); err != nil || len(warns) > 0 {
		t.Fatalf("check the created %s: warnings %q, error %v", state, warns, err)
	}
	desc, err := conn.Client(0).DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{
		{ResourceType: kafka.ResourceTypeTopic, ResourceName: state, ConfigNames: []string{"cleanup.policy"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := cleanupPolicy(desc, state); p != "compact" || err != nil {
		t.Errorf("created %s has cleanup.policy %q (%v), want compact", state, p, err)
	}

	_, err = conn.EnsureTopics(ctx, TopicPlan{Compacted: []string{plain}, Create: true})
	if err == nil || !strings.Contains(err.Error(), "topic "+plain+" has cleanup.policy=delete") || !strings.Contains(err.Error(), "set cleanup.policy=compact") {
		t.Errorf("non-compacted %s: %v", plain, err)
	}

	const missing = "missing"
	_, err = conn.EnsureTopics(ctx, TopicPlan{Compacted: []string{missing}})
	if err == nil || !strings.Contains(err.Error(), "topic "+missing+" does not exist") {
		t.Errorf("missing %s without create: %v", missing, err)
	}
}

// TestCompactionDecision covers the answers kfake does not give: a broker
// that cannot describe configs (the request fails or a resource reports an
// error) or that leaves the policy out makes the check unknown, a warning
// and no error; a policy list that includes compact passes.
func TestCompactionDecision(t *testing.T) {
	t.Parallel()
	topic := func(name string, err error, policy ...string) kafka.DescribeConfigResponseResource {
		r := kafka.DescribeConfigResponseResource{ResourceType: int8(kafka.ResourceTypeTopic), ResourceName: name, Error: err}
		for _, p := range policy {
			r.ConfigEntries = append(r.ConfigEntries, kafka.DescribeConfigResponseConfigEntry{ConfigName: "cleanup.policy", ConfigValue: p})
		}
		return r
	}
	resp := &kafka.DescribeConfigsResponse{Resources: []kafka.DescribeConfigResponseResource{
		topic("both", nil, "compact, delete"),
		topic("deletes", nil, "delete"),
		topic("old", kafka.UnsupportedVersion),
		topic("denied", kafka.TopicAuthorizationFailed),
		topic("silent", nil),
	}}
	errs, warns := compaction([]string{"both", "deletes", "old", "denied", "silent", "absent"}, resp, nil)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "topic deletes has cleanup.policy=delete but must be compacted") {
		t.Errorf("errors %v, want one for topic deletes", errs)
	}
	if len(warns) != 4 {
		t.Errorf("warnings %q, want one each for old, denied, silent and absent", warns)
	}
	for i, name := range []string{"old", "denied", "silent", "absent"} {
		if i < len(warns) && !strings.Contains(warns[i], "cannot check that topic "+name+" is compacted") {
			t.Errorf("warning %d = %q, want one about %s", i, warns[i], name)
		}
	}

	errs, warns = compaction([]string{"state"}, nil, errors.New("unexpected EOF"))
	if len(errs) != 0 || len(warns) != 1 || !strings.Contains(warns[0], "unexpected EOF") {
		t.Errorf("failed request: errors %v, warnings %q", errs, warns)
	}
}
