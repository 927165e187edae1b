package ledger

import (
	"errors"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"
)

func TestJudgeCleanupPolicy(t *testing.T) {
	t.Parallel()
	const topic = "tripline.state"
	answer := func(name string, err error, entries ...kafka.DescribeConfigResponseConfigEntry) *kafka.DescribeConfigsResponse {
		return &kafka.DescribeConfigsResponse{Resources: []kafka.DescribeConfigResponseResource{{
			ResourceType: int8(kafka.ResourceTypeTopic), ResourceName: name, Error: err, ConfigEntries: entries,
		}}}
	}
	policy := func(v string) kafka.DescribeConfigResponseConfigEntry {
		return kafka.DescribeConfigResponseConfigEntry{ConfigName: "cleanup.policy", ConfigValue: v}
	}
	other := kafka.DescribeConfigResponseConfigEntry{ConfigName: "retention.ms", ConfigValue: "604800000"}
	for _, tc := range []struct {
		name       string
		res        *kafka.DescribeConfigsResponse
		want       topicState
		wantPolicy string
	}{
		{"compact", answer(topic, nil, other, policy("compact")), topicCompacted, "compact"},
		{"compact and delete", answer(topic, nil, policy("delete, compact")), topicCompacted, "delete, compact"},
		{"upper case", answer(topic, nil, policy("COMPACT")), topicCompacted, "COMPACT"},
		{"delete", answer(topic, nil, policy("delete")), topicNotCompacted, "delete"},
		{"empty policy", answer(topic, nil, policy("")), topicNotCompacted, ""},
		{"compaction lookalike", answer(topic, nil, policy("compacted")), topicNotCompacted, "compacted"},
		{"missing topic", answer(topic, kafka.UnknownTopicOrPartition), topicMissing, ""},
		{"not authorized", answer(topic, kafka.TopicAuthorizationFailed), topicUnknown, ""},
		{"no policy entry", answer(topic, nil, other), topicUnknown, ""},
		{"other topic only", answer("other", nil, policy("compact")), topicUnknown, ""},
		{"empty answer", &kafka.DescribeConfigsResponse{}, topicUnknown, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, p, why := judge(topic, tc.res)
			if st != tc.want || p != tc.wantPolicy {
				t.Errorf("judge = (%d, %q), want (%d, %q)", st, p, tc.want, tc.wantPolicy)
			}
			if (st == topicUnknown) != (why != nil) {
				t.Errorf("judge gave reason %v for state %d", why, st)
			}
		})
	}
}

func TestNotCompactedErrorNamesTheFix(t *testing.T) {
	t.Parallel()
	err := notCompactedError("tripline.state", "delete", "k1:9092,k2:9092").Error()
	for _, want := range []string{
		"tripline.state", "cleanup.policy=delete",
		"kafka-configs --bootstrap-server k1:9092,k2:9092 --alter --entity-type topics --entity-name tripline.state --add-config cleanup.policy=compact",
		"another topic name",
	} {
		if !strings.Contains(err, want) {
			t.Errorf("%q does not contain %q", err, want)
		}
	}
}

func TestPartitionCount(t *testing.T) {
	t.Parallel()
	leader := kafka.Broker{Host: "127.0.0.1", Port: 9092}
	md := func(parts ...kafka.Partition) *kafka.MetadataResponse {
		return &kafka.MetadataResponse{Topics: []kafka.Topic{{Name: "t", Partitions: parts}}}
	}
	if n, err := partitionCount(md(kafka.Partition{ID: 1, Leader: leader}, kafka.Partition{ID: 0, Leader: leader}), "t"); n != 2 || err != nil {
		t.Errorf("two partitions: %d, %v", n, err)
	}
	if _, err := partitionCount(md(kafka.Partition{ID: 0}), "t"); err == nil {
		t.Error("accepted a partition without leader")
	}
	if _, err := partitionCount(md(kafka.Partition{ID: 0, Leader: leader}, kafka.Partition{ID: 2, Leader: leader}), "t"); err == nil {
		t.Error("accepted partitions 0 and 2")
	}
	if _, err := partitionCount(md(), "t"); err == nil {
		t.Error("accepted no partitions")
	}
	if _, err := partitionCount(md(kafka.Partition{ID: 0, Leader: leader}), "other"); !errors.Is(err, kafka.UnknownTopicOrPartition) {
		t.Errorf("unlisted topic: %v", err)
	}
}
