package kafkaio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/kafkatest"
)

var _ consumerGroup = (*kafka.ConsumerGroup)(nil)

// fakeGroup is a consumerGroup whose Next returns its answers in order.
type fakeGroup struct {
	answers []fakeAnswer
}

type fakeAnswer struct {
	gen *kafka.Generation
	err error
}

func (g *fakeGroup) Next(ctx context.Context) (*kafka.Generation, error) {
	if len(g.answers) == 0 {
		return nil, errors.New("fake group: no more answers")
	}
	a := g.answers[0]
	g.answers = g.answers[1:]
	return a.gen, a.err
}

func (g *fakeGroup) Close() error { return nil }

// TestGroupSourceRemembersDroppedMember checks which errors of kafka-go's
// group make a GroupSource take its last generation's member id for
// stale: those after which kafka-go joins as a new member, not a
// rebalance in progress, the group's close or the caller's ctx.
func TestGroupSourceRemembersDroppedMember(t *testing.T) {
	t.Parallel()
	conn, err := NewConnection(Config{Brokers: []string{"127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		err   error
		stale string
	}{
		{"coordinator gone", fmt.Errorf("failed to dial: %w", io.EOF), "m1"},
		{"not coordinator", kafka.NotCoordinatorForGroup, "m1"},
		{"rebalance in progress", kafka.RebalanceInProgress, ""},
		{"group closed", kafka.ErrGroupClosed, ""},
		{"deadline", context.DeadlineExceeded, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &fakeGroup{answers: []fakeAnswer{{gen: &kafka.Generation{MemberID: "m1"}}, {err: tc.err}}}
			s := &GroupSource{conn: conn, cfg: GroupConfig{GroupID: "g"}, group: g, log: slog.New(slog.DiscardHandler)}
			if _, err := s.Next(t.Context()); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Next(t.Context()); !errors.Is(err, tc.err) {
				t.Fatalf("second Next: %v, want %v", err, tc.err)
			}
			if s.stale != tc.stale || s.member != "" && tc.stale != "" {
				t.Errorf("after %v: stale %q member %q, want stale %q", tc.err, s.stale, s.member, tc.stale)
			}
		})
	}
}

// TestGroupSourceRemovesStaleMember puts in the group a member that
// never heartbeats, with a 30 s session, as a coordinator that took over
// from a dead broker holds the member id kafka-go dropped. A GroupSource
// that knows that id as stale must get a generation with every partition
// within seconds, not after the stale member's session timed out.
func TestGroupSourceRemovesStaleMember(t *testing.T) {
	t.Parallel()
	const topic, group, partitions = "signins", "tripline", 3
	addr := kafkatest.Start(t, kafkatest.WithTopics(topic), kafkatest.WithPartitions(partitions))
	conn, err := NewConnection(Config{Brokers: []string{addr}, ClientID: "stale-test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	stale := joinAndVanish(ctx, t, addr, group, topic)

	src, err := conn.NewGroupSource(GroupConfig{GroupID: group, Topics: []string{topic}, SessionTimeout: 6 * time.Second, MaxWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	src.stale = stale
	start := time.Now()
	nctx, ncancel := context.WithTimeout(ctx, 10*time.Second)
	defer ncancel()
	gen, err := src.Next(nctx)
	if err != nil {
		t.Fatalf("Next with a stale member of 30 s session in the group: %v after %s, want a generation within 10s", err, time.Since(start).Round(time.Millisecond))
	}
	if n := len(gen.Claims()); n != partitions {
		t.Errorf("generation claims %d partitions, want all %d (the stale member removed)", n, partitions)
	}
	if src.stale != "" {
		t.Errorf("stale member %q still remembered after a generation formed", src.stale)
	}
	t.Logf("generation after %s", time.Since(start).Round(time.Millisecond))
}

// joinAndVanish joins group as a consumer member with a 30 s session,
// takes part in one generation and never heartbeats again: it returns the
// member id.
func joinAndVanish(ctx context.Context, t *testing.T, addr, group, topic string) string {
	t.Helper()
	client := kafkatest.Client(addr)
	join := &kafka.JoinGroupRequest{
		GroupID: group, SessionTimeout: 30 * time.Second, RebalanceTimeout: 30 * time.Second, ProtocolType: "consumer",
		Protocols: []kafka.GroupProtocol{{Name: "range", Metadata: kafka.GroupProtocolSubscription{Topics: []string{topic}}}},
	}
	res, err := client.JoinGroup(ctx, join)
	if err == nil && errors.Is(res.Error, kafka.MemberIDRequired) {
		join.MemberID = res.MemberID
		res, err = client.JoinGroup(ctx, join)
	}
	if err == nil {
		err = res.Error
	}
	if err != nil {
		t.Fatalf("join %s: %v", group, err)
	}
	sync, err := client.SyncGroup(ctx, &kafka.SyncGroupRequest{
		GroupID: group, GenerationID: res.GenerationID, MemberID: res.MemberID, ProtocolType: "consumer", ProtocolName: "range",
		Assignments: []kafka.SyncGroupRequestAssignment{{MemberID: res.MemberID, Assignment: kafka.GroupProtocolAssignment{AssignedPartitions: map[string][]int{topic: {0, 1, 2}}}}},
	})
	if err == nil {
		err = sync.Error
	}
	if err != nil {
		t.Fatalf("sync %s: %v", group, err)
	}
	return res.MemberID
}
