//go:build kafka

package kafka

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/kafkatest"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// TestReliabilityCrash SIGKILLs the consumer process at random moments
// while 50,000 sign-ins (1,000 risky, for distinct users) are produced,
// then runs it once more to a clean SIGTERM exit: every risky user must be
// suspended, the group must have committed the end of every partition and
// nothing may be dead-lettered. A redelivered risky event finds the user
// suspended (the GET before the call) or its event in the ledger, so the
// suspend calls the API answered stay within 1.01 per risky user; only the
// calls a kill cut mid-request (at most one per partition per kill, and the
// simulator changes nothing for them) come on top.
func TestReliabilityCrash(t *testing.T) {
	const events, risky, kills, partitions = 50000, 1000, 5, 3
	brokers := kafkatest.Brokers(t)
	s := startSim(t, opsim.Seed{}, 1000)
	w := newWorld(t, brokers, partitions, s)
	msgs, riskyEmails := signIns(events, risky, 1000, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	seed := uint64(time.Now().UnixNano())
	t.Logf("kill schedule seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	// Each suspend call takes 25 ms, so acting on the 1,000 risky users
	// takes several seconds of work per partition: kill i lands once about
	// i/(kills+1) of them are suspended, while the rest are still in flight.
	s.SetFaults(opsim.Faults{"suspend": {Latency: 25 * time.Millisecond}})
	w.produce(ctx, msgs[:events/5]...)
	produced := w.produceOver(ctx, msgs[events/5:], 90, 20*time.Second)
	for i := range kills {
		p := w.start(fmt.Sprintf("consumer#%d", i+1))
		target := (i + 1) * risky / (kills + 1)
		target += rng.IntN(risky / (kills + 1) / 2)
		relWait(t, 90*time.Second, fmt.Sprintf("consumer#%d to suspend %d users", i+1, target), func() (bool, string) {
			n := s.suspended(riskyEmails)
			return n >= target, fmt.Sprintf("%d suspended", n)
		}, p)
		lag, total, err := w.lag(ctx)
		t.Logf("kill %d: produced %d, lag %d (%v), suspended %d, suspend calls %d", i+1, total, lag, err, s.suspended(riskyEmails), s.suspends.Load())
		p.kill(t)
	}
	s.SetFaults(opsim.Faults{})
	final := w.start("consumer#final")
	waitProduced(t, ctx, produced)
	relWait(t, 3*time.Minute, "every risky user suspended and every partition committed to its end", w.drained(riskyEmails), final)
	final.stop(t, 30*time.Second)

	c := w.assertNothingLost(events, riskyEmails)
	if c.cut > kills*partitions {
		t.Errorf("%d suspend calls cut by a kill, want at most %d (one in flight per partition per kill)", c.cut, kills*partitions)
	}
	report(t, "crash", "events=%d risky=%d kills=%d suspended=%d/%d suspend_calls=%d cut_by_kill=%d calls_per_risky=%.3f ratio=%.3f dlq=0 committed=end",
		events, risky, kills, s.suspended(riskyEmails), risky, c.received, c.cut, c.perRisky(risky), float64(c.received)/risky)
}

// TestReliabilityRebalance runs one consumer process, starts a second one
// mid-stream and stops it (SIGTERM) before the stream ends, so partitions
// move twice while messages are in flight.
func TestReliabilityRebalance(t *testing.T) {
	const events, risky, partitions = 20000, 500, 6
	brokers := kafkatest.Brokers(t)
	s := startSim(t, opsim.Seed{}, 1000)
	w := newWorld(t, brokers, partitions, s)
	msgs, riskyEmails := signIns(events, risky, 1000, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	a := w.start("consumer-a")
	produced := w.produceOver(ctx, msgs, 100, 25*time.Second)
	relWait(t, 90*time.Second, "a fifth of the risky users suspended by consumer-a alone", w.suspendedMidStream(riskyEmails, risky/5), a)
	lagJoin, _, _ := w.lag(ctx)
	atJoin := s.suspended(riskyEmails)
	b := w.start("consumer-b")
	relWait(t, 90*time.Second, "consumer-b sharing the partitions", w.spread(a, b), a, b)
	relWait(t, 90*time.Second, "three fifths of the risky users suspended", w.suspendedMidStream(riskyEmails, 3*risky/5), a, b)
	lagLeave, _, _ := w.lag(ctx)
	atLeave := s.suspended(riskyEmails)
	b.stop(t, 40*time.Second)
	t.Logf("lag when b joined %d, when b left %d; suspended then %d and %d of %d", lagJoin, lagLeave, atJoin, atLeave, risky)
	if atJoin == 0 || atLeave >= risky {
		t.Errorf("the group changed outside the stream (suspended %d at join, %d at leave, of %d)", atJoin, atLeave, risky)
	}
	waitProduced(t, ctx, produced)
	relWait(t, 3*time.Minute, "every risky user suspended and every partition committed to its end", w.drained(riskyEmails), a)
	a.stop(t, 30*time.Second)

	c := w.assertNothingLost(events, riskyEmails)
	report(t, "rebalance", "events=%d risky=%d partitions=%d lag_at_join=%d lag_at_leave=%d suspended_at_join=%d suspended_at_leave=%d suspended=%d/%d suspend_calls=%d calls_per_risky=%.3f ratio=%.3f dlq=0 committed=end",
		events, risky, partitions, lagJoin, lagLeave, atJoin, atLeave, s.suspended(riskyEmails), risky, c.received, c.perRisky(risky), float64(c.received)/risky)
}

// TestReliabilityBrokerRestart restarts the broker (the external one
// through its pid file, the embedded one from its data directory on the
// same port) while the consumer process runs mid-stream. A consumer that
// exits during the outage is started again, as a supervisor would, and
// the exits are reported.
func TestReliabilityBrokerRestart(t *testing.T) {
	const events, risky, partitions = 20000, 500, 3
	rb := restartableBroker(t)
	s := startSim(t, opsim.Seed{}, 1000)
	w := newWorld(t, rb.addr, partitions, s)
	msgs, riskyEmails := signIns(events, risky, 1000, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	p := w.start("consumer#1")
	produced := w.produceOver(ctx, msgs, 100, 25*time.Second)
	relWait(t, 90*time.Second, "a third of the risky users suspended", w.suspendedMidStream(riskyEmails, risky/3), p)
	lagBefore, _, _ := w.lag(ctx)
	down := rb.restart(t)
	t.Logf("broker restarted (down %s), lag before %d", down.Round(time.Millisecond), lagBefore)

	exits := 0
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if err := errIfExited(p); err != nil {
			exits++
			t.Logf("%s after the broker restart; starting another (%d)\n%s", err, exits, lastBytes(p.stderr.String(), 2048))
			if exits > 3 {
				t.Fatal("the consumer keeps exiting after the broker restart")
			}
			p = w.start(fmt.Sprintf("consumer#%d", exits+1))
		}
		select {
		case err := <-produced:
			if err != nil {
				t.Fatal(err)
			}
			produced = nil
		default:
		}
		if ok, note := w.drained(riskyEmails)(); ok && produced == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("timed out after the broker restart: %s", note)
		}
		time.Sleep(300 * time.Millisecond)
	}
	p.stop(t, 30*time.Second)

	c := w.assertNothingLost(events, riskyEmails)
	report(t, "broker-restart", "events=%d risky=%d broker_down=%s lag_before=%d consumer_exits=%d suspended=%d/%d suspend_calls=%d calls_per_risky=%.3f ratio=%.3f dlq=0 committed=end",
		events, risky, down.Round(time.Millisecond), lagBefore, exits, s.suspended(riskyEmails), risky, c.received, c.perRisky(risky), float64(c.received)/risky)
}

// TestReliabilityAPIFaults runs the consumer against a simulator answering
// 30% 5xx and 10% 429 (Retry-After: 1) on every endpoint, with 2 s latency
// spikes and every token revoked mid-run. With a generous retry budget
// every risky user must end suspended, and the DLQ may hold only
// retryable retries_exhausted records (each a user not suspended).
func TestReliabilityAPIFaults(t *testing.T) {
	const events, risky, partitions = 4000, 200, 6
	brokers := kafkatest.Brokers(t)
	s := startSim(t, opsim.Seed{}, 1000)
	w := newWorld(t, brokers, partitions, s)
	msgs, riskyEmails := signIns(events, risky, 1000, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	faulty := opsim.Fault{Rate500: 0.15, Rate503: 0.15, Rate429: 0.10, RetryAfter: 1}
	spike := faulty
	spike.Latency = 2 * time.Second
	p := w.start("consumer")
	// Let it list the directory before the faults start, so start-up is
	// not what is being measured.
	relWait(t, 60*time.Second, "the consumer ready (rules, ledger, token, directory, group)", readyzLists("ready", true, p), p)
	s.SetFaults(opsim.Faults{opsim.EndpointAny: faulty})
	w.produce(ctx, msgs...)

	revoked, spikes := false, 0
	stopSpikes := make(chan struct{})
	spikesDone := make(chan struct{})
	go func() {
		defer close(spikesDone)
		for {
			select {
			case <-stopSpikes:
				return
			case <-time.After(4 * time.Second):
			}
			s.SetFaults(opsim.Faults{opsim.EndpointAny: spike})
			spikes++
			time.Sleep(1500 * time.Millisecond)
			s.SetFaults(opsim.Faults{opsim.EndpointAny: faulty})
		}
	}()
	drained := func() (bool, string) {
		n := s.suspended(riskyEmails)
		if !revoked && n >= risky/3 {
			s.RevokeAllTokens()
			revoked = true
			t.Logf("revoked every token at %d/%d suspended", n, risky)
		}
		ok, note := w.drained(nil)()
		return ok, note + fmt.Sprintf(", suspended %d/%d", n, risky)
	}
	relWait(t, 3*time.Minute, "every partition committed to its end under API faults", drained, p)
	close(stopSpikes)
	<-spikesDone
	s.SetFaults(opsim.Faults{})
	p.stop(t, 30*time.Second)

	w.assertCommittedAtEnd(events)
	dl := w.deadLetters()
	classes := classCounts(dl)
	for class := range classes {
		if class != remediate.ClassRetriesExhausted+"/retryable=true" {
			t.Errorf("DLQ holds %d records of class %s; want only retries_exhausted/retryable=true", classes[class], class)
		}
	}
	inDLQ := map[string]bool{}
	for _, m := range dl {
		inDLQ[string(m.Key)] = true
	}
	suspended, lost := 0, 0
	for _, e := range riskyEmails {
		switch {
		case s.state(e) == "SUSPENDED":
			suspended++
		case !inDLQ[e]:
			lost++
			t.Errorf("risky user %s neither suspended nor dead-lettered", e)
		}
	}
	if !revoked {
		t.Error("the test never revoked the tokens")
	}
	st := s.statusCounts("suspend")
	calls := s.suspends.Load()
	report(t, "api-faults", "events=%d risky=%d suspended=%d/%d lost=%d dlq=%d dlq_classes=%v suspend_calls=%d ratio=%.3f suspend_statuses=%v token_statuses=%v latency_spikes=%d revoked=%t",
		events, risky, suspended, risky, lost, len(dl), classes, calls, float64(calls)/risky, st, s.statusCounts("token"), spikes, revoked)
}
