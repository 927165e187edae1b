package kafkaio

import (
	"context"
	"errors"
	"time"

	"github.com/segmentio/kafka-go"
)

// A member that loses its group's coordinator (the broker died) gets a
// new member id from kafka-go's consumer group: on any error but a
// rebalance in progress, kafka-go leaves the group with the old id, which
// fails while no coordinator answers, and joins again as a new member. The
// coordinator that takes over loads the group with the old member in it,
// and holds the new member's join until the old one's session times out:
// the group stays stopped for a whole session timeout after the failover
// (6 s in test/kafka's broker-failover scenario, 10 s by default). A
// GroupSource therefore remembers the member id of its last generation
// and, when kafka-go has dropped it, asks the coordinator to remove it
// again and again for as long as the next join waits (measured with a
// coordinator killed on a cluster of three Apache Kafka 4.4 brokers: the
// group formed again within a second of the join instead of after 6 s).

// staleMemberRetry is the wait between two attempts to remove a stale
// member while the coordinator does not answer (it is being elected or is
// loading the group).
const staleMemberRetry = 250 * time.Millisecond

// staleMemberTimeout bounds one attempt.
const staleMemberTimeout = 2 * time.Second

// consumerGroup is what a GroupSource uses of *kafka.ConsumerGroup.
type consumerGroup interface {
	Next(ctx context.Context) (*kafka.Generation, error)
	Close() error
}

// droppedMember reports whether kafka-go's consumer group, having reported
// err, has dropped the member id it had: it does on every error except a
// rebalance in progress and the group's close (and ctx's end is Next's own
// return, not the group's).
func droppedMember(err error) bool {
	return err != nil && !errors.Is(err, kafka.RebalanceInProgress) && !errors.Is(err, kafka.ErrGroupClosed) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// removeStale starts removing the stale member s.stale from the group in
// the background, while Next waits for a generation; the function it
// returns stops that and waits for it. Next forgets the stale member once
// a generation forms (without it: removed, or timed out).
func (s *GroupSource) removeStale(ctx context.Context) (stop func()) {
	member := s.stale
	if member == "" {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.conn.removeMember(ctx, s.cfg.GroupID, member)
	}()
	return func() {
		cancel()
		<-done
	}
}

// removeMember asks the coordinator of group to remove member every
// staleMemberRetry until ctx ends. It does not stop at the first answer
// that the member left: measured on Apache Kafka 4.4, a coordinator that
// is taking over answers so before it has loaded the group, and the
// member is still in the group it then loads. Asking again once the member
// is gone costs an "unknown member id" answer.
func (c *Connection) removeMember(ctx context.Context, group, member string) {
	client := &kafka.Client{Addr: kafka.TCP(c.Brokers...), Transport: c.Transport, Timeout: staleMemberTimeout}
	for {
		actx, cancel := context.WithTimeout(ctx, staleMemberTimeout)
		_, _ = client.LeaveGroup(actx, &kafka.LeaveGroupRequest{GroupID: group, Members: []kafka.LeaveGroupRequestMember{{ID: member}}})
		cancel()
		t := time.NewTimer(staleMemberRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
