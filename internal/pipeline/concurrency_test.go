package pipeline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/rules"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// elapse moves the fake clock of the calling test's synctest bubble on by
// d, firing every timer due meanwhile, and returns once every goroutine of
// the bubble is blocked again: whatever those timers set off has happened.
func elapse(d time.Duration) {
	time.Sleep(d) // in a bubble: no wall-clock wait
	synctest.Wait()
}

// start runs the harness's consumer until the test stops it.
func (h *harness) start(t *testing.T) (stop func() error) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.consumer.Run(ctx) }()
	return func() error { cancel(); return <-done }
}

func TestASlowUserHoldsOnlyTheCommitPoint(t *testing.T) {
	t.Parallel()
	msgs := []kafka.Message{msg("signins", 0, 0, oktaSignIn("slow", "slow@example.com", "HIGH"))}
	for i := 1; i <= 50; i++ {
		msgs = append(msgs, msg("signins", 0, int64(i), oktaSignIn(fmt.Sprint("e", i), fmt.Sprintf("u%d@example.com", i), "HIGH")))
	}
	release := make(chan struct{})
	var others atomic.Int64
	h := newHarness(t, Config{}, msgs...)
	h.dec.fn = func(ctx context.Context, _ int, d remediate.Decision) (remediate.Outcome, error) {
		if d.Identity == "slow@example.com" {
			<-release // a Users API call that keeps failing and retrying
		} else {
			others.Add(1)
		}
		return remediate.Outcome{Decision: d, Result: remediate.ResultSuspended}, nil
	}
	stop := h.start(t)
	waitFor(t, "the other 50 users decided", func() bool { return others.Load() == 50 })
	if got := h.src.committedOffset("signins", 0); got != 0 {
		t.Errorf("committed %d while the first message is in flight, want 0", got)
	}
	close(release)
	waitFor(t, "everything committed", func() bool { return h.src.committedOffset("signins", 0) == 51 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestOneUsersDecisionsKeepTheirOrder(t *testing.T) {
	t.Parallel()
	var msgs []kafka.Message
	for i := range 200 {
		user := fmt.Sprintf("u%d@example.com", i%5)
		msgs = append(msgs, msg("signins", 0, int64(i), oktaSignIn(fmt.Sprint("e", i), user, "HIGH")))
	}
	var mu sync.Mutex
	seen := map[string][]string{}
	running := map[string]bool{}
	h := newHarness(t, Config{MaxInFlight: 8}, msgs...)
	h.dec.fn = func(_ context.Context, _ int, d remediate.Decision) (remediate.Outcome, error) {
		mu.Lock()
		if running[d.Identity] {
			t.Errorf("two decisions about %s at once", d.Identity)
		}
		running[d.Identity] = true
		seen[d.Identity] = append(seen[d.Identity], d.EventID)
		mu.Unlock()
		time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
		mu.Lock()
		running[d.Identity] = false
		mu.Unlock()
		return remediate.Outcome{Decision: d, Result: remediate.ResultSuspended}, nil
	}
	stop := h.start(t)
	waitFor(t, "everything committed", func() bool { return h.src.committedOffset("signins", 0) == 200 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for user, ids := range seen {
		var u int
		fmt.Sscanf(user, "u%d@", &u)
		for k, id := range ids {
			if want := fmt.Sprintf("okta:e%d", u+5*k); id != want {
				t.Fatalf("%s: decision %d is %s, want %s (offset order)", user, k, id, want)
			}
		}
	}
}

func TestMaxInFlightBoundsTheDecisionsAndTheFetching(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var msgs []kafka.Message
		for i := range 100 {
			msgs = append(msgs, msg("signins", 0, int64(i), oktaSignIn(fmt.Sprint("e", i), fmt.Sprintf("u%d@example.com", i), "HIGH")))
		}
		release := make(chan struct{})
		var now, peak atomic.Int64
		h := newHarness(t, Config{MaxInFlight: 4, PartitionBuffer: 2, Decoders: 2}, msgs...)
		h.dec.fn = func(_ context.Context, _ int, d remediate.Decision) (remediate.Outcome, error) {
			n := now.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			<-release
			now.Add(-1)
			return remediate.Outcome{Decision: d, Result: remediate.ResultSuspended}, nil
		}
		stop := h.start(t)
		// Every goroutine of the consumer is blocked now, on release or on
		// back-pressure: 4 handed over, one prepared waiting to be handed
		// over, the partition buffer (2) full, one fetched waiting for room
		// in it, and one spare: the decoders' queue is as long as the buffer.
		synctest.Wait()
		if n := now.Load(); n != 4 {
			t.Errorf("%d decisions in flight, want 4", n)
		}
		if n := h.consumer.Stats().Consumed; n > 4+2+2+1 {
			t.Errorf("%d messages fetched while 4 decisions block", n)
		}
		close(release)
		waitFor(t, "everything committed", func() bool { return h.src.committedOffset("signins", 0) == 100 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if p := peak.Load(); p != 4 {
			t.Errorf("peak of %d decisions at once, want 4", p)
		}
	})
}

// gatedRules holds every evaluation until open is closed.
type gatedRules struct {
	Evaluator
	open chan struct{}
}

func (g gatedRules) Evaluate(ev *event.Event) rules.Result {
	<-g.open
	return g.Evaluator.Evaluate(ev)
}

// TestFetchingGoesOnWhileTheDecodersAreBusy: with its only decoder held,
// the partition goes on fetching into its buffer (the reader reads ahead)
// instead of waiting for the decoder; once it is free, everything is
// handed over in order and committed.
func TestFetchingGoesOnWhileTheDecodersAreBusy(t *testing.T) {
	t.Parallel()
	var msgs []kafka.Message
	for i := range 20 {
		msgs = append(msgs, msg("signins", 0, int64(i), oktaSignIn(fmt.Sprint("e", i), fmt.Sprintf("u%d@example.com", i), "HIGH")))
	}
	h := newHarness(t, Config{Decoders: 1, PartitionBuffer: 8}, msgs...)
	open := make(chan struct{})
	h.consumer.deps.Rules = gatedRules{h.consumer.deps.Rules, open}
	stop := h.start(t)
	waitFor(t, "8 messages fetched while the decoder is held", func() bool { return h.consumer.Stats().Consumed >= 8 })
	close(open)
	waitFor(t, "everything committed", func() bool { return h.src.committedOffset("signins", 0) == 20 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestABatchFinishesWhenAllItsEventsHave(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		batch := []byte(`{"eventType":"com.okta.event_hook","data":{"events":[` + string(oktaSignIn("b1", "a@example.com", "HIGH")) + `,` +
			string(oktaSignIn("b2", "slow@example.com", "HIGH")) + `,` + string(oktaSignIn("b3", "c@example.com", "HIGH")) + `]}}`)
		release := make(chan struct{})
		var decided atomic.Int64
		h := newHarness(t, Config{}, msg("signins", 0, 0, batch), msg("signins", 0, 1, oktaSignIn("n", "d@example.com", "HIGH")))
		h.dec.fn = func(_ context.Context, _ int, d remediate.Decision) (remediate.Outcome, error) {
			if d.Identity == "slow@example.com" {
				<-release
			}
			decided.Add(1)
			return remediate.Outcome{Decision: d, Result: remediate.ResultSuspended}, nil
		}
		stop := h.start(t)
		synctest.Wait() // everything but b2 decided and finished
		if n := decided.Load(); n != 3 {
			t.Errorf("%d decisions made, want the three other than b2", n)
		}
		// The commit loop goes through three commit intervals meanwhile.
		elapse(3 * h.consumer.cfg.CommitInterval)
		if got := h.src.committedOffset("signins", 0); got != 0 {
			t.Errorf("committed %d while one event of the batch is undecided", got)
		}
		close(release)
		waitFor(t, "everything committed", func() bool { return h.src.committedOffset("signins", 0) == 2 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestARevokedPartitionIsNeverCommittedAfterwards: the partition is revoked
// while a decision hangs past the grace: the generation abandons it, and
// nothing about that partition is committed afterwards, not even when the
// hung decision finally returns.
func TestARevokedPartitionIsNeverCommittedAfterwards(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var returned atomic.Bool
		h := newHarness(t, Config{ShutdownGrace: 50 * time.Millisecond},
			msg("signins", 0, 0, oktaSignIn("e0", "a@example.com", "LOW")),
			msg("signins", 0, 1, oktaSignIn("e1", "hung@example.com", "HIGH")),
			msg("signins", 0, 2, oktaSignIn("e2", "c@example.com", "HIGH")),
		)
		h.src.claims = [][]TopicPartition{{{"signins", 0}}, {}} // the second generation owns nothing
		h.dec.fn = func(ctx context.Context, _ int, d remediate.Decision) (remediate.Outcome, error) {
			if d.Identity == "hung@example.com" {
				<-release // ignores ctx: a call that outlives everything
				returned.Store(true)
			}
			return remediate.Outcome{Decision: d, Result: remediate.ResultSuspended}, nil
		}
		stop := h.start(t)
		waitFor(t, "the first message committed and the others decided", func() bool {
			return h.src.committedOffset("signins", 0) == 1 && h.dec.count() == 2
		})
		h.src.revoke()
		waitFor(t, "the second generation", func() bool {
			h.src.mu.Lock()
			defer h.src.mu.Unlock()
			return h.src.gens == 2
		})
		close(release)  // the hung decision returns after the generation is over
		synctest.Wait() // and whatever its return sets off has happened
		if !returned.Load() {
			t.Error("the hung decision did not return")
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		h.src.mu.Lock()
		defer h.src.mu.Unlock()
		if len(h.src.late) > 0 {
			t.Errorf("commits after the partition was revoked: %v", h.src.late)
		}
		if got := h.src.committed[TopicPartition{"signins", 0}]; got != 1 {
			t.Errorf("committed %d, want 1: the abandoned message and the one after it are redelivered", got)
		}
	})
}

// TestARevokedPartitionFinishesWhatItCanWithinTheGrace: what finishes
// within the grace is committed before the partition goes.
func TestARevokedPartitionFinishesWhatItCanWithinTheGrace(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, Config{ShutdownGrace: 5 * time.Second},
			msg("signins", 0, 0, oktaSignIn("e0", "a@example.com", "HIGH")),
			msg("signins", 0, 1, oktaSignIn("e1", "b@example.com", "HIGH")),
		)
		h.src.claims = [][]TopicPartition{{{"signins", 0}}, {}}
		release := make(chan struct{})
		h.dec.fn = func(_ context.Context, _ int, d remediate.Decision) (remediate.Outcome, error) {
			<-release
			return remediate.Outcome{Decision: d, Result: remediate.ResultSuspended}, nil
		}
		gens := func() int {
			h.src.mu.Lock()
			defer h.src.mu.Unlock()
			return h.src.gens
		}
		stop := h.start(t)
		synctest.Wait()
		if n := h.dec.count(); n != 2 {
			t.Errorf("%d decisions in flight, want 2", n)
		}
		h.src.revoke()
		synctest.Wait() // the generation stopped fetching and waits, within the grace, for the two
		if n := gens(); n != 1 {
			t.Errorf("generation %d began while two decisions were in flight within the grace", n)
		}
		close(release)
		synctest.Wait()
		if n := gens(); n != 2 {
			t.Errorf("%d generations after the decisions in flight finished, want the second one", n)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		if got := h.src.committedOffset("signins", 0); got != 2 {
			t.Errorf("committed %d, want 2: both decisions finished within the grace", got)
		}
	})
}

// TestJoinFailuresAreTriedAgain: joining the group fails twice (a
// rebalance in progress); the consumer joins again instead of stopping.
func TestJoinFailuresAreTriedAgain(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}, msg("signins", 0, 0, oktaSignIn("e1", "ann@example.com", "HIGH")))
	h.src.nextErrs = 2
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("signins", 0) == 1 }); err != nil {
		t.Fatal(err)
	}
}

// TestTheTailOfABurstIsCommittedAtOnce: with a commit interval of 30 s and a
// batch larger than the burst, the burst's last offsets are committed as
// soon as the partition caught up, not at the next interval.
func TestTheTailOfABurstIsCommittedAtOnce(t *testing.T) {
	t.Parallel()
	var msgs []kafka.Message
	for i := range 5 {
		msgs = append(msgs, msg("signins", 0, int64(i), oktaSignIn(fmt.Sprint("e", i), fmt.Sprintf("u%d@example.com", i), "LOW")))
	}
	h := newHarness(t, Config{CommitInterval: 30 * time.Second, CommitBatch: 1000}, msgs...)
	start := time.Now()
	stop := h.start(t)
	waitFor(t, "the burst committed", func() bool { return h.src.committedOffset("signins", 0) == 5 })
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("committed after %s", took)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
