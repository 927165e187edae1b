//go:build kafka

package kafka

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/kafkatest"
	"github.com/tripline-dev/tripline/internal/opsim"
)

// TestReliabilityCrash SIGKILLs the consumer process at random moments
// while 50,000 sign-ins of 2,000 users (1,000 risky, each with one risky
// sign-in; the other 1,000 with benign ones and near misses only) are
// produced, then runs it once more to a clean SIGTERM exit: every risky
// user must be suspended and every other user still ACTIVE, the group must
// have committed the end of every partition and nothing may be
// dead-lettered. A redelivered risky event finds the user suspended (the
// GET before the call) or its event in the ledger, so the suspend calls the
// API answered stay within 1.01 per risky user; only the calls a kill cut
// mid-request (at most maxInFlight per kill, and the simulator changes
// nothing for them) come on top.
func TestReliabilityCrash(t *testing.T) {
	const events, risky, users, kills, partitions = 50000, 1000, 2000, 5, 3
	brokers := kafkatest.Brokers(t)
	s := startSim(t, opsim.Seed{}, users)
	w := newWorld(t, brokers, partitions, s)
	msgs, riskyEmails := signIns(events, risky, users, 1)
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

	f, c := w.assertNothingLost(events, riskyEmails, kills)
	if c.cut > kills*maxInFlight {
		t.Errorf("%d suspend calls cut by a kill, want at most %d (max_in_flight per kill)", c.cut, kills*maxInFlight)
	}
	report(t, "crash", f, "users=%d benign_users=%d kills=%d suspend_calls=%d cut_by_kill=%d received_per_risky=%.3f",
		users, users-risky, kills, c.received, c.cut, float64(c.received)/risky)
}

// TestReliabilityRebalance runs one consumer process, starts a second one
// mid-stream and stops it (SIGTERM) before the stream ends, so partitions
// move twice while messages are in flight. 20,000 sign-ins of 1,000 users,
// 500 of them risky: every risky user suspended with exactly one answered
// call, every other user ACTIVE, nothing dead-lettered, every partition
// committed to its end.
func TestReliabilityRebalance(t *testing.T) {
	const events, risky, users, partitions = 20000, 500, 1000, 6
	brokers := kafkatest.Brokers(t)
	s := startSim(t, opsim.Seed{}, users)
	w := newWorld(t, brokers, partitions, s)
	msgs, riskyEmails := signIns(events, risky, users, 2)
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

	f, c := w.assertNothingLost(events, riskyEmails, 0)
	report(t, "rebalance", f, "users=%d benign_users=%d partitions=%d lag_at_join=%d lag_at_leave=%d suspended_at_join=%d suspended_at_leave=%d suspend_calls=%d",
		users, users-risky, partitions, lagJoin, lagLeave, atJoin, atLeave, c.received)
}

// TestReliabilityBrokerRestart restarts the broker (the external one
// through its pid file, the embedded one from its data directory on the
// same port) while the consumer process runs mid-stream over 20,000
// sign-ins of 1,000 users, 500 of them risky. A consumer that exits during
// the outage is started again, as a supervisor would, and the exits are
// reported. Nothing is lost, every risky user is suspended with exactly one
// answered call (no process is killed), every other user stays ACTIVE.
func TestReliabilityBrokerRestart(t *testing.T) {
	const events, risky, users, partitions = 20000, 500, 1000, 3
	rb := restartableBroker(t)
	s := startSim(t, opsim.Seed{}, users)
	w := newWorld(t, rb.addr, partitions, s)
	msgs, riskyEmails := signIns(events, risky, users, 3)
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

	f, c := w.assertNothingLost(events, riskyEmails, 0)
	report(t, "broker-restart", f, "users=%d benign_users=%d broker_down=%s lag_before=%d consumer_exits=%d suspend_calls=%d",
		users, users-risky, down.Round(time.Millisecond), lagBefore, exits, c.received)
}

// TestReliabilityAPIFaults runs the consumer against a simulator answering
// 30% 5xx and 10% 429 (Retry-After: 1) on every endpoint, with 2 s latency
// spikes and every token revoked mid-run, over 4,000 sign-ins of 1,000
// users, 200 of them risky (a spike every 5 s from the first event on). With a generous retry budget every risky user
// must end suspended with exactly one answered suspend call, nothing may be
// dead-lettered and every other user must stay ACTIVE. The faults must have
// happened: requests that took the spike's latency are counted, the
// revocation must have cost the consumer a 401 and a new token, and
// suspensions must have gone on being answered after it.
func TestReliabilityAPIFaults(t *testing.T) {
	const events, risky, users, partitions = 4000, 200, 1000, 6
	const spikeLatency = 2 * time.Second
	brokers := kafkatest.Brokers(t)
	s := startSim(t, opsim.Seed{}, users)
	w := newWorld(t, brokers, partitions, s)
	msgs, riskyEmails := signIns(events, risky, users, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	faulty := opsim.Fault{Rate500: 0.15, Rate503: 0.15, Rate429: 0.10, RetryAfter: 1}
	spike := faulty
	spike.Latency = spikeLatency
	s.slowAt.Store(int64(spikeLatency))
	p := w.start("consumer")
	// Let it list the directory before the faults start, so start-up is
	// not what is being measured.
	relWait(t, 60*time.Second, "the consumer ready (rules, ledger, token, directory, group)", readyzLists("ready", true, p), p)
	// From the moment the events are produced: 1.5 s of spikeLatency on
	// every endpoint, then 3.5 s without, and again, until the end. The
	// first spike starts at once: the consumer may need only seconds.
	spikes := 0
	stopSpikes := make(chan struct{})
	spikesDone := make(chan struct{})
	go func() {
		defer close(spikesDone)
		for {
			s.SetFaults(opsim.Faults{opsim.EndpointAny: spike})
			spikes++
			select {
			case <-stopSpikes:
				return
			case <-time.After(1500 * time.Millisecond):
			}
			s.SetFaults(opsim.Faults{opsim.EndpointAny: faulty})
			select {
			case <-stopSpikes:
				return
			case <-time.After(3500 * time.Millisecond):
			}
		}
	}()
	w.produce(ctx, msgs...)
	var revokedAt time.Time
	atRevoke, tokensBefore, unauthorizedBefore := 0, 0, 0
	drained := func() (bool, string) {
		n := s.suspended(riskyEmails)
		if revokedAt.IsZero() && n >= risky/3 {
			tokensBefore, unauthorizedBefore = s.statusCounts("token")[http.StatusOK], unauthorized(s)
			s.RevokeAllTokens()
			revokedAt, atRevoke = time.Now(), n
			t.Logf("revoked every token at %d/%d suspended", n, risky)
		}
		ok, note := w.drained(riskyEmails)()
		return ok, note
	}
	relWait(t, 3*time.Minute, "every risky user suspended and every partition committed to its end under API faults", drained, p)
	close(stopSpikes)
	<-spikesDone
	s.SetFaults(opsim.Faults{})
	p.stop(t, 30*time.Second)

	f, c := w.assertNothingLost(events, riskyEmails, 0)
	if revokedAt.IsZero() {
		t.Fatal("the test never revoked the tokens")
	}
	slow := s.slowCounts()
	slowTotal := 0
	for _, n := range slow {
		slowTotal += n
	}
	if spikes == 0 || slowTotal == 0 {
		t.Errorf("%d latency spikes, %d requests took %s or more: the spikes never slowed a request down", spikes, slowTotal, spikeLatency)
	}
	// The users not yet suspended at the revocation were suspended after
	// it, less the calls in flight at that moment (at most maxInFlight).
	afterRevoke := s.answeredSince(revokedAt)
	if afterRevoke == 0 || afterRevoke < risky-atRevoke-maxInFlight {
		t.Errorf("%d suspensions answered after the token revocation, want the %d risky users not yet suspended then (less at most %d in flight)", afterRevoke, risky-atRevoke, maxInFlight)
	}
	newTokens, newUnauthorized := s.statusCounts("token")[http.StatusOK]-tokensBefore, unauthorized(s)-unauthorizedBefore
	if newTokens == 0 || newUnauthorized == 0 {
		t.Errorf("after the revocation: %d tokens issued, %d requests refused 401; want at least one of each (the revocation did not bite)", newTokens, newUnauthorized)
	}
	report(t, "api-faults", f, "users=%d benign_users=%d suspend_calls=%d received_per_risky=%.3f suspend_statuses=%v token_statuses=%v latency_spikes=%d slow_requests=%d slow_by_endpoint=%v suspended_at_revoke=%d answered_after_revoke=%d unauthorized_after_revoke=%d tokens_after_revoke=%d",
		users, users-risky, c.received, float64(c.received)/risky, s.statusCounts("suspend"), s.statusCounts("token"), spikes, slowTotal, slow, atRevoke, afterRevoke, newUnauthorized, newTokens)
}

// unauthorized counts the Users API requests answered 401.
func unauthorized(s *sim) int {
	n := 0
	for _, kind := range []string{"list", "get", "suspend", "reactivate"} {
		n += s.statusCounts(kind)[http.StatusUnauthorized]
	}
	return n
}
