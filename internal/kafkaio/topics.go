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
	Owned []string
	// Compacted are topics tripline owns that must be compacted (the state
	// topic): created with cleanup.policy=compact when missing if Create;
	// when they exist, a cleanup.policy without compact is refused.
	Compacted   []string
	Create      bool
	Partitions  int
	Replication int
	// MaxMessageBytes, when positive, is the max.message.bytes of the
	// Owned topics tripline creates, so the DLQ can hold any value the
	// consumer could fetch.
	MaxMessageBytes int
}

// EnsureTopics checks that every source topic exists (an error names each
// missing one), creates the owned and compacted topics that are missing
// when allowed, and checks that existing compacted topics are compacted.
//
// When the cleanup.policy of an existing compacted topic cannot be read (a
// broker without DescribeConfigs, or no permission to describe configs),
// the check is skipped and a warning saying so is returned instead of an
// error; the caller logs the warnings.
func (c *Connection) EnsureTopics(ctx context.Context, plan TopicPlan) (warnings []string, err error) {
	client := c.Client(15 * time.Second)
	all := slices.Concat(plan.Sources, plan.Owned, plan.Compacted)
	meta, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: all})
	if err != nil {
		return nil, fmt.Errorf("kafka metadata from %s: %w", strings.Join(c.Brokers, ","), err)
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
		ownedEntries = []kafka.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(plan.MaxMessageBytes)}}
	}
	var create []kafka.TopicConfig
	createOrRefuse := func(t string, entries []kafka.ConfigEntry) {
		if !plan.Create {
			errs = append(errs, fmt.Errorf("topic %s does not exist and kafka.create_topics is off", t))
			return
		}
		create = append(create, kafka.TopicConfig{Topic: t, NumPartitions: plan.Partitions, ReplicationFactor: plan.Replication, ConfigEntries: entries})
	}
	for _, t := range plan.Owned {
		if !exists[t] {
			createOrRefuse(t, ownedEntries)
		}
	}
	var check []string // existing topics that must be compacted
	for _, t := range plan.Compacted {
		if exists[t] {
			check = append(check, t)
		} else {
			createOrRefuse(t, []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact"}})
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
	if len(check) > 0 {
		resources := make([]kafka.DescribeConfigRequestResource, len(check))
		for i, t := range check {
			resources[i] = kafka.DescribeConfigRequestResource{ResourceType: kafka.ResourceTypeTopic, ResourceName: t, ConfigNames: []string{"cleanup.policy"}}
		}
		resp, err := client.DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: resources})
		cerrs, cwarns := compaction(check, resp, err)
		errs = append(errs, cerrs...)
		warnings = cwarns
	}
	return warnings, errors.Join(errs...)
}

// compaction decides, from the answer to DescribeConfigs (resp, or the
// request's error), which of topics are refused because their
// cleanup.policy lacks compact, and which could not be checked.
func compaction(topics []string, resp *kafka.DescribeConfigsResponse, reqErr error) (errs []error, warnings []string) {
	unknown := func(t string, why error) {
		warnings = append(warnings, fmt.Sprintf("cannot check that topic %s is compacted (%v); make sure its cleanup.policy includes compact", t, why))
	}
	if reqErr != nil {
		for _, t := range topics {
			unknown(t, fmt.Errorf("describe configs: %w", reqErr))
		}
		return nil, warnings
	}
	for _, t := range topics {
		policy, err := cleanupPolicy(resp, t)
		switch {
		case err != nil:
			unknown(t, err)
		case !slices.Contains(strings.Split(strings.ReplaceAll(policy, " ", ""), ","), "compact"):
			errs = append(errs, fmt.Errorf("topic %s has cleanup.policy=%s but must be compacted (set cleanup.policy=compact on it, or use another topic)", t, policy))
		}
	}
	return errs, warnings
}

// cleanupPolicy finds topic's cleanup.policy in resp.
func cleanupPolicy(resp *kafka.DescribeConfigsResponse, topic string) (string, error) {
	for _, r := range resp.Resources {
		if r.ResourceName != topic || r.ResourceType != int8(kafka.ResourceTypeTopic) {
			continue
		}
		if r.Error != nil {
			return "", r.Error
		}
		for _, e := range r.ConfigEntries {
			if e.ConfigName == "cleanup.policy" {
				return e.ConfigValue, nil
			}
		}
	}
	return "", errors.New("the broker did not report it")
}
