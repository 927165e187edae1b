package kafkaio

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// GroupMember returns nil when a member with clientID belongs to the
// consumer group groupID and the group is Stable; otherwise an error says
// what is missing (the group, the member, or a stable state).
func (c *Connection) GroupMember(ctx context.Context, groupID, clientID string) error {
	resp, err := c.Client(5*time.Second).DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{groupID}})
	if err != nil {
		return fmt.Errorf("describe consumer group: %w", err)
	}
	for _, g := range resp.Groups {
		if g.Error != nil {
			return fmt.Errorf("consumer group %s: %w", g.GroupID, g.Error)
		}
		for _, member := range g.Members {
			if member.ClientID == clientID && g.GroupState == "Stable" {
				return nil
			}
		}
		return fmt.Errorf("not a member of consumer group %s yet (state %s)", g.GroupID, g.GroupState)
	}
	return fmt.Errorf("consumer group %s not found", groupID)
}
