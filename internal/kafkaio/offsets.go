package kafkaio

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// Bound is one partition's span of records still to read: from Next (the
// next offset to read) up to End (exclusive, the high-water mark).
type Bound struct {
	Next, End int64
}

// PartitionBounds reads, per partition of topic, where group resumes (its
// committed offset, else the partition's first offset) and the current
// high-water mark.
func (c *Connection) PartitionBounds(ctx context.Context, topic, group string) (map[int]Bound, error) {
	client := c.Client(15 * time.Second)
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, fmt.Errorf("kafka metadata: %w", err)
	}
	var reqs []kafka.OffsetRequest
	var parts []int
	for _, t := range meta.Topics {
		for _, p := range t.Partitions {
			parts = append(parts, p.ID)
			reqs = append(reqs, kafka.FirstOffsetOf(p.ID), kafka.LastOffsetOf(p.ID))
		}
	}
	offs, err := client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		return nil, fmt.Errorf("list offsets of %s: %w", topic, err)
	}
	bounds := map[int]Bound{}
	for _, p := range offs.Topics[topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("list offsets of %s/%d: %w", topic, p.Partition, p.Error)
		}
		bounds[p.Partition] = Bound{Next: p.FirstOffset, End: p.LastOffset}
	}
	committed, err := client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		return nil, fmt.Errorf("committed offsets of group %s: %w", group, err)
	}
	for _, p := range committed.Topics[topic] {
		if b, ok := bounds[p.Partition]; ok && p.Error == nil && p.CommittedOffset > b.Next {
			b.Next = p.CommittedOffset
			bounds[p.Partition] = b
		}
	}
	return bounds, nil
}
