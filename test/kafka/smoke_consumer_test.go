//go:build kafka

package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/kafkatest"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/pipeline"
)

// TestSmokeConsumerProcess runs the consumer binary: a risky sign-in is
// suspended, a malformed one dead-lettered as decode/invalid_json, and
// after a clean stop a restarted process resumes at the committed offsets
// (the next risky user is suspended, the first one is not called again).
// None of the simulator's other 18 users (one with a benign sign-in) may
// end suspended.
func TestSmokeConsumerProcess(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	s := startSim(t, opsim.Seed{}, 20)
	w := newWorld(t, brokers, 3, s)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	w.produce(ctx,
		kafka.Message{Key: []byte("risky"), Value: oktaSignIn("k1", userEmail(1), "HIGH")},
		kafka.Message{Key: []byte("benign"), Value: oktaSignIn("k2", userEmail(2), "LOW")},
		kafka.Message{Key: []byte("malformed"), Value: []byte(`{"eventType": "user.session.start", `)},
	)
	p := w.start("consumer#1")
	relWait(t, 90*time.Second, "the risky user suspended and every message committed", w.drained([]string{userEmail(1)}), p)
	p.stop(t, 30*time.Second)
	if st := s.state(userEmail(2)); st != "ACTIVE" {
		t.Errorf("benign user is %s", st)
	}
	dl := w.deadLetters()
	if len(dl) != 1 || string(dl[0].Key) != "malformed" || deadLetterOf(dl[0]).Class != pipeline.ClassDecode ||
		deadLetterOf(dl[0]).Reason != "invalid_json" || deadLetterOf(dl[0]).Source.Topic != w.topic {
		t.Fatalf("DLQ = %d records %v, want the malformed one as decode/invalid_json", len(dl), classCounts(dl))
	}

	w.produce(ctx, kafka.Message{Key: []byte("risky2"), Value: oktaSignIn("k3", userEmail(3), "CRITICAL")})
	p = w.start("consumer#2")
	relWait(t, 90*time.Second, "the second risky user suspended after the restart", w.drained([]string{userEmail(1), userEmail(3)}), p)
	p.stop(t, 30*time.Second)
	risky := []string{userEmail(1), userEmail(3)}
	f := figures{events: 4, risky: len(risky), suspended: s.suspended(risky)}
	f.committedAtEnd = w.assertCommittedAtEnd(4)
	if n := s.suspends.Load(); n != 2 {
		t.Errorf("%d suspend calls, want 2: the restart re-read committed messages", n)
	}
	c := s.calls()
	assertOneCallEach(t, c, f.suspended)
	f.callsPerRisky = c.perRisky(f.suspended)
	f.wronglySuspended = w.assertNoneWronglySuspended(risky)
	dl = w.deadLetters()
	if f.dlq = len(dl); f.dlq != 1 {
		t.Errorf("DLQ holds %d records after the restart, want 1", len(dl))
	}
	report(t, "smoke", f, "users=%d benign_users=%d restarts=1 suspend_calls=%d", len(s.Users()), s.benignUsers(risky), c.received)
}
