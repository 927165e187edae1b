package kafkaio

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// TopicPlan says which topics must exist and which tripline may create.
type TopicPlan struct {
	Sources []string
	// Owned are the DLQ and audit topics: created when missing if Create.
	// (The state topic is the ledger's: internal/ledger creates it and
	// checks that it is compacted.)
	Owned       []string
	Create      bool
	Partitions  int
	Replication int
	// MaxMessageBytes, when positive, is the max.message.bytes of the
	// Owned topics tripline creates, so the DLQ can hold any value the
	// consumer could fetch.
	MaxMessageBytes int
	// MinInsyncReplicas, when positive, is the min.insync.replicas of the
	// Owned topics tripline creates, so that an acknowledged (acks=all)
	// write is on that many replicas.
	MinInsyncReplicas int
}

// EnsureTopics checks that every source topic exists (an error names each
// missing one) and creates the owned topics that are missing when allowed.
func (c *Connection) EnsureTopics(ctx context.Context, plan TopicPlan) error {
	client := c.Client(15 * time.Second)
	all := slices.Concat(plan.Sources, plan.Owned)
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: all})
	if err != nil {
		return fmt.Errorf("kafka metadata from %s: %w", strings.Join(c.Brokers, ","), err)
	}
	exists := map[string]bool{}
	for _, t := range meta.Topics {
		if t.Error == nil && len(t.Partitions) > 0 {
			exists[t.Name] = true
		}
	}
	var missing []string
	for _, t := range plan.Sources {
		if !exists[t] {
			missing = append(missing, t)
		}
	}
	var errs []error
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("source topics do not exist: %s (create them, or fix kafka.topics / TRIPLINE_KAFKA_TOPICS)", strings.Join(missing, ", ")))
	}
	var ownedEntries []kafka.ConfigEntry
	if plan.MaxMessageBytes > 0 {
		ownedEntries = append(ownedEntries, kafka.ConfigEntry{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(plan.MaxMessageBytes)})
	}
	if plan.MinInsyncReplicas > 0 {
		ownedEntries = append(ownedEntries, kafka.ConfigEntry{ConfigName: "min.insync.replicas", ConfigValue: strconv.Itoa(plan.MinInsyncReplicas)})
	}
	var create []kafka.TopicConfig
	for _, t := range plan.Owned {
		switch {
		case exists[t]:
		case !plan.Create:
			errs = append(errs, fmt.Errorf("topic %s does not exist and kafka.create_topics is off", t))
		default:
			create = append(create, kafka.TopicConfig{Topic: t, NumPartitions: plan.Partitions, ReplicationFactor: plan.Replication, ConfigEntries: ownedEntries})
		}
	}
	if len(create) > 0 {
		resp, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: create})
		if err != nil {
			errs = append(errs, fmt.Errorf("create topics: %w", err))
		} else {
			for name, err := range resp.Errors {
				if err != nil && !errors.Is(err, kafka.TopicAlreadyExists) {
					errs = append(errs, fmt.Errorf("create topic %s: %w (create it by hand, or grant CREATE on it)", name, err))
				}
			}
		}
	}
	return errors.Join(errs...)
}
