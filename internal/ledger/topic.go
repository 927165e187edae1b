package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/segmentio/kafka-go"
)

// topicState is what the brokers say about the ledger topic.
type topicState int

const (
	// topicUnknown: the broker could not report the topic's configuration
	// (DescribeConfigs unsupported or not authorized, or no cleanup.policy
	// entry in the answer).
	topicUnknown topicState = iota
	topicMissing
	topicCompacted
	topicNotCompacted
)

// ensureTopic checks that the topic exists and is compacted, creating it
// when missing and allowed, and returns its partition count once metadata
// lists a leader for every partition.
func (t *Table) ensureTopic(ctx context.Context) (int, error) {
	st, err := t.inspect(ctx)
	if err != nil {
		return 0, err
	}
	if st == topicUnknown {
		// Without configs, metadata says whether the topic exists. The
		// transport caches it (about 6 s), so a topic created moments
		// ago elsewhere may look missing: creating it then fails with
		// TopicAlreadyExists, which create accepts.
		listed, err := t.listed(ctx)
		if err != nil {
			return 0, err
		}
		if !listed {
			st = topicMissing
		}
	}
	if st == topicMissing {
		if !t.cfg.Create {
			return 0, fmt.Errorf("ledger topic %s does not exist and topic creation is off: create it compacted "+
				"(kafka-topics --create --topic %s --config cleanup.policy=compact) or allow tripline to create it",
				t.cfg.Topic, t.cfg.Topic)
		}
		if err := t.create(ctx); err != nil {
			return 0, err
		}
	}
	return t.waitPartitions(ctx)
}

// inspect asks the brokers for the topic's cleanup.policy. It fails if the
// topic exists and is not compacted, warns and returns topicUnknown if the
// broker cannot say, and warns if the topic also deletes old records.
func (t *Table) inspect(ctx context.Context) (topicState, error) {
	res, err := t.client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{
		Resources: []kafka.DescribeConfigRequestResource{{
			ResourceType: kafka.ResourceTypeTopic,
			ResourceName: t.cfg.Topic,
			ConfigNames:  []string{"cleanup.policy"},
		}},
	})
	if err != nil {
		if ctx.Err() != nil {
			return topicUnknown, fmt.Errorf("ledger topic %s: describe configs: %w", t.cfg.Topic, ctx.Err())
		}
		// A broker that rejects or drops the request (no DescribeConfigs,
		// not authorized) cannot tell; the check is a safety net. If the
		// broker is unreachable instead, the metadata request that
		// follows fails and says so.
		t.log.Warn("cannot check the ledger topic's cleanup.policy; assuming it is compacted", "error", err.Error())
		return topicUnknown, nil
	}
	st, policy, why := judge(t.cfg.Topic, res)
	switch st {
	case topicUnknown:
		t.log.Warn("cannot check the ledger topic's cleanup.policy; assuming it is compacted", "error", why.Error())
	case topicNotCompacted:
		return st, notCompactedError(t.cfg.Topic, policy, strings.Join(t.cfg.Brokers, ","))
	case topicCompacted:
		if hasPolicy(policy, "delete") {
			t.log.Warn("the ledger topic also deletes records older than its retention; keys not written within retention.ms will vanish from the table",
				"cleanup_policy", policy)
		}
	}
	return st, nil
}

// judge reads a DescribeConfigs answer for topic. It returns the topic's
// state, its cleanup.policy when known, and for topicUnknown the reason.
func judge(topic string, res *kafka.DescribeConfigsResponse) (st topicState, policy string, why error) {
	for _, r := range res.Resources {
		if r.ResourceName != topic {
			continue
		}
		switch {
		case errors.Is(r.Error, kafka.UnknownTopicOrPartition):
			return topicMissing, "", nil
		case r.Error != nil:
			return topicUnknown, "", r.Error
		}
		for _, e := range r.ConfigEntries {
			if e.ConfigName != "cleanup.policy" {
				continue
			}
			if hasPolicy(e.ConfigValue, "compact") {
				return topicCompacted, e.ConfigValue, nil
			}
			return topicNotCompacted, e.ConfigValue, nil
		}
		return topicUnknown, "", errors.New("no cleanup.policy in the broker's answer")
	}
	return topicUnknown, "", errors.New("topic missing from the broker's answer")
}

// hasPolicy reports whether the cleanup.policy list value includes want.
func hasPolicy(value, want string) bool {
	for p := range strings.SplitSeq(value, ",") {
		if strings.EqualFold(strings.TrimSpace(p), want) {
			return true
		}
	}
	return false
}

// notCompactedError says why a topic that is not compacted cannot hold the
// ledger and how to fix it.
func notCompactedError(topic, policy, brokers string) error {
	if policy == "" {
		policy = `""`
	}
	return fmt.Errorf("ledger topic %s has cleanup.policy=%s, not compact, so the broker would delete its records after "+
		"retention.ms and every instance would lose the table: make it compacted (kafka-configs --bootstrap-server %s --alter "+
		"--entity-type topics --entity-name %s --add-config cleanup.policy=compact) or choose another topic name",
		topic, policy, brokers, topic)
}

// create creates the topic compacted. A topic another instance created in
// the meantime is accepted once its policy checks out.
func (t *Table) create(ctx context.Context) error {
	partitions := t.cfg.Partitions
	if partitions == 0 {
		partitions = 1
	}
	replication := t.cfg.Replication
	if replication == 0 {
		replication = -1 // the broker's default.replication.factor
	}
	res, err := t.client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic:             t.cfg.Topic,
		NumPartitions:     partitions,
		ReplicationFactor: replication,
		ConfigEntries:     topicConfig(t.cfg.MinInsyncReplicas),
	}}})
	if err == nil {
		err = res.Errors[t.cfg.Topic]
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kafka.TopicAlreadyExists):
		_, err := t.inspect(ctx)
		return err
	default:
		return fmt.Errorf("ledger topic %s: create: %w (create it by hand with cleanup.policy=compact, or grant CREATE on it)", t.cfg.Topic, err)
	}
}

// topicConfig is the configuration of a topic Load creates: compacted,
// with min.insync.replicas when minISR is positive.
func topicConfig(minISR int) []kafka.ConfigEntry {
	entries := []kafka.ConfigEntry{
		{ConfigName: "cleanup.policy", ConfigValue: "compact"},
	}
	if minISR > 0 {
		entries = append(entries, kafka.ConfigEntry{ConfigName: "min.insync.replicas", ConfigValue: strconv.Itoa(minISR)})
	}
	return entries
}

// listed reports whether metadata lists the topic.
func (t *Table) listed(ctx context.Context) (bool, error) {
	md, err := t.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{t.cfg.Topic}})
	if err != nil {
		return false, fmt.Errorf("ledger topic %s: metadata: %w", t.cfg.Topic, err)
	}
	for _, tp := range md.Topics {
		if tp.Name == t.cfg.Topic && tp.Error == nil && len(tp.Partitions) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// waitPartitions waits until metadata lists the topic with a leader for
// every partition and returns the partition count. Metadata comes from the
// transport's cache, which may not know a topic created elsewhere for a few
// seconds.
func (t *Table) waitPartitions(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		md, err := t.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{t.cfg.Topic}})
		if err == nil {
			n, perr := partitionCount(md, t.cfg.Topic)
			if perr == nil {
				return n, nil
			}
			err = perr
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("ledger topic %s: metadata: %w (last error: %v)", t.cfg.Topic, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// partitionCount returns the topic's partition count if metadata lists
// partitions 0..n-1, each with a leader.
func partitionCount(md *kafka.MetadataResponse, topic string) (int, error) {
	for _, tp := range md.Topics {
		if tp.Name != topic {
			continue
		}
		if tp.Error != nil {
			return 0, tp.Error
		}
		if len(tp.Partitions) == 0 {
			return 0, errors.New("no partitions")
		}
		seen := make([]bool, len(tp.Partitions))
		for _, p := range tp.Partitions {
			if p.ID < 0 || p.ID >= len(seen) {
				return 0, fmt.Errorf("partition %d out of range", p.ID)
			}
			if p.Leader.Host == "" {
				return 0, fmt.Errorf("no leader for partition %d", p.ID)
			}
			seen[p.ID] = true
		}
		return len(tp.Partitions), nil
	}
	return 0, kafka.UnknownTopicOrPartition
}

// bounds returns, per partition, the first offset and the end offset (the
// high-water mark). Transient errors (a leader not yet elected after the
// topic was created) are retried for a while.
func (t *Table) bounds(ctx context.Context, n int) (first, end []int64, err error) {
	reqs := make([]kafka.OffsetRequest, 0, 2*n)
	for p := range n {
		reqs = append(reqs, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(100*time.Millisecond),
		backoff.WithMaxInterval(2*time.Second),
		backoff.WithMaxElapsedTime(setupTimeout),
	)
	for {
		first, end, err = t.listOffsets(ctx, n, reqs)
		if err == nil || ctx.Err() != nil || !transient(err) {
			return first, end, err
		}
		d := b.NextBackOff()
		if d == backoff.Stop {
			return nil, nil, err
		}
		if werr := wait(ctx, d); werr != nil {
			return nil, nil, err
		}
	}
}

func (t *Table) listOffsets(ctx context.Context, n int, reqs []kafka.OffsetRequest) (first, end []int64, err error) {
	res, err := t.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{t.cfg.Topic: reqs}})
	if err != nil {
		return nil, nil, fmt.Errorf("list offsets: %w", err)
	}
	first, end = make([]int64, n), make([]int64, n)
	seen := 0
	for _, po := range res.Topics[t.cfg.Topic] {
		if po.Error != nil {
			return nil, nil, fmt.Errorf("list offsets of partition %d: %w", po.Partition, po.Error)
		}
		if po.Partition < 0 || po.Partition >= n {
			continue
		}
		first[po.Partition], end[po.Partition] = po.FirstOffset, po.LastOffset
		seen++
	}
	if seen != n {
		return nil, nil, fmt.Errorf("list offsets: %d of %d partitions answered", seen, n)
	}
	return first, end, nil
}
