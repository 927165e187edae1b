package pipeline

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/deadletter"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// verifyCounter counts the signature checks per record.
type verifyCounter struct {
	mu    sync.Mutex
	calls map[string]int
}

// wrap counts each call of verify.
func (v *verifyCounter) wrap(verify func(kafka.Message) error) func(kafka.Message) error {
	v.calls = map[string]int{}
	return func(m kafka.Message) error {
		v.mu.Lock()
		v.calls[fmt.Sprintf("%s@%d", m.Topic, m.Offset)]++
		v.mu.Unlock()
		return verify(m)
	}
}

func (v *verifyCounter) all() map[string]int {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := make(map[string]int, len(v.calls))
	for k, n := range v.calls {
		out[k] = n
	}
	return out
}

// TestEachRecordIsVerifiedOnce: every record of tripline's the consumer
// reads (parked decisions, re-parked ones, answers, forgeries of either) is
// classified once, at fetch, and its signature checked exactly once;
// source events are never checked.
func TestEachRecordIsVerifiedOnce(t *testing.T) {
	t.Parallel()
	cfg := parking(5*time.Millisecond, 10*time.Millisecond, time.Minute)
	cfg.AnswersTopic = answersTopic
	forgedAnswer := answerMsg(t, answersTopic, 1, approveAnswer("ap_forged"), keysOf([]byte("someone-elses-key-0123"), nil))
	h := newHarness(t, cfg,
		msg("signins", 0, 0, oktaSignIn("e1", "down@example.com", "HIGH")),
		msg("signins", 0, 1, oktaSignIn("e2", "up@example.com", "HIGH")),
		answerMsg(t, answersTopic, 0, approveAnswer("ap_good"), retryKey),
		forgedAnswer,
	)
	forgedParked := msg(retryTopic, 0, 0, oktaSignIn("e3", "victim@example.com", "HIGH"))
	forgedParked.Headers = []kafka.Header{{Key: deadletter.HeaderRetryDue, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))}}
	h.src.log[TopicPartition{retryTopic, 0}] = []kafka.Message{forgedParked}
	var mu sync.Mutex
	tries := 0
	h.dec.fn = func(_ context.Context, _ int, d remediate.Decision) (remediate.Outcome, error) {
		if d.Identity != "down@example.com" {
			return remediate.Outcome{Decision: d, Result: remediate.ResultSuspended}, nil
		}
		mu.Lock()
		defer mu.Unlock()
		if tries++; tries <= 2 {
			return unavailable(d)
		}
		return remediate.Outcome{Decision: d, Result: remediate.ResultSuspended}, nil
	}
	counter := &verifyCounter{}
	h.consumer.verify = counter.wrap(h.consumer.verify)
	if err := h.runUntil(t, func() bool {
		n := int64(len(h.src.topic(retryTopic)))
		return n == 3 && h.src.committedOffset(retryTopic, 0) == n && h.src.committedOffset("signins", 0) == 2 && h.src.committedOffset(answersTopic, 0) == 2
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{answersTopic + "@0": 1, answersTopic + "@1": 1, retryTopic + "@0": 1, retryTopic + "@1": 1, retryTopic + "@2": 1}
	if got := counter.all(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("signature checks per record %v, want %v (each record of tripline's once, source events never)", got, want)
	}
	if n := len(h.dec.allAnswers()); n != 1 {
		t.Errorf("%d answers applied, want the signed one", n)
	}
	if n := len(h.dlq.records()); n != 2 {
		t.Errorf("%d dead letters, want the 2 forgeries refused", n)
	}
}

// TestAHeaderInAnotherCaseIsNotTriplines: a genuine signed dead-letter
// record copied to the retry topic with a due time spelled
// "Tripline.Retry.Due" (a header the signature does not cover) is not a
// parked record: it is refused, never decided.
func TestAHeaderInAnotherCaseIsNotTriplines(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parking(time.Hour, time.Hour, time.Hour))
	now := time.Now().UTC().Format(time.RFC3339Nano)
	copied := msg(retryTopic, 0, 0, oktaSignIn("e1", "victim@example.com", "HIGH"))
	copied.Headers = deadletter.Record{Kind: deadletter.KindDeadLetter, Source: deadletter.Source{Topic: "signins"}, Class: remediate.ClassBreakerOpen,
		Attempts: 1, FirstFailure: time.Now()}.Encode()
	deadletter.Sign(&copied, retryKey)
	copied.Headers = append(copied.Headers, kafka.Header{Key: "Tripline.Retry.Due", Value: []byte(now)}, kafka.Header{Key: "TRIPLINE.RETRY.PARKS", Value: []byte("1")})
	if err := deadletter.Verify(copied, retryKey); err != nil {
		t.Fatalf("the copy does not verify (%v): the test proves nothing", err)
	}
	h.src.log[TopicPartition{retryTopic, 0}] = []kafka.Message{copied}
	if err := h.runUntil(t, func() bool { return h.src.committedOffset(retryTopic, 0) == 1 }); err != nil {
		t.Fatal(err)
	}
	if n := h.dec.count(); n != 0 {
		t.Errorf("%d decisions on a copied dead letter", n)
	}
	recs := h.dlq.records()
	if len(recs) != 1 || HeaderValue(recs[0], deadletter.HeaderErrorClass) != ClassRefused ||
		!strings.Contains(HeaderValue(recs[0], deadletter.HeaderErrorMessage), "no valid tripline.retry.due") {
		t.Errorf("dead letters %v, want the copy refused: not a parked record", recs)
	}
}

// TestReplayRefusesAGarbledRecord: a replay that accepts unsigned records
// still refuses one whose tripline headers do not parse (it cannot say
// where it came from), reports it, and writes nothing back.
func TestReplayRefusesAGarbledRecord(t *testing.T) {
	t.Parallel()
	m := msg("tripline.dlq", 0, 0, oktaSignIn("e1", "a@example.com", "HIGH"))
	m.Headers = []kafka.Header{{Key: deadletter.HeaderSourceTopic, Value: []byte("signins")}, {Key: deadletter.HeaderSourcePartition, Value: []byte("zero")}}
	h := newHarness(t, Config{Replay: &Replay{AcceptUnsigned: true}}, m)
	outcomes := &outcomeLog{}
	h.consumer.deps.OnOutcome = outcomes.hook
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("tripline.dlq", 0) == 1 }); err != nil {
		t.Fatal(err)
	}
	if h.dec.count() != 0 || len(h.dlq.records()) != 0 {
		t.Errorf("%d decisions, %d records written back; want none", h.dec.count(), len(h.dlq.records()))
	}
	if got := outcomes.all(); len(got) != 1 || got[0].Refused != "refused" || got[0].Record.Source.Topic != "signins" {
		t.Errorf("outcomes %+v, want one refused, naming what it claims", got)
	}
}

// TestOutcomesAreReportedOnceInOffsetOrder: each message's outcome is
// reported once, with its decisions' outcomes and what it dead-lettered,
// and only once every earlier message of its partition reached its own:
// later messages finished first wait for a slow earlier one.
func TestOutcomesAreReportedOnceInOffsetOrder(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		msgs := []kafka.Message{msg("signins", 0, 0, oktaSignIn("slow", "slow@example.com", "HIGH"))}
		for i := 1; i <= 5; i++ {
			value := oktaSignIn(fmt.Sprint("e", i), fmt.Sprintf("u%d@example.com", i), "HIGH")
			if i == 3 {
				value = []byte("not json")
			}
			msgs = append(msgs, msg("signins", 0, int64(i), value))
		}
		release := make(chan struct{})
		h := newHarness(t, Config{}, msgs...)
		h.dec.fn = func(ctx context.Context, _ int, d remediate.Decision) (remediate.Outcome, error) {
			if d.Identity == "slow@example.com" {
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
			return remediate.Outcome{Decision: d, Result: remediate.ResultSuspended}, nil
		}
		outcomes := &outcomeLog{}
		h.consumer.deps.OnOutcome = outcomes.hook
		stop := h.start(t)
		synctest.Wait()
		if n := h.dec.count(); n != 5 {
			t.Fatalf("%d decisions started, want all 5 (the slow one waiting)", n)
		}
		if got := outcomes.all(); len(got) != 0 {
			t.Errorf("%d outcomes reported while offset 0 is still deciding: %+v", len(got), got)
		}
		close(release)
		waitFor(t, "everything committed", func() bool { return h.src.committedOffset("signins", 0) == 6 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		got := outcomes.all()
		if len(got) != 6 {
			t.Fatalf("%d outcomes, want 6", len(got))
		}
		for i, o := range got {
			if o.Offset != int64(i) || o.Topic != "signins" || o.Record.Kind != deadletter.KindNone || o.Refused != "" {
				t.Errorf("outcome %d: %+v", i, o)
			}
			switch {
			case i == 3:
				if len(o.DeadLettered) != 1 || o.DeadLettered[0].Class != ClassDecode || len(o.Decisions) != 0 {
					t.Errorf("outcome of the malformed message: %+v, want one decode dead letter", o)
				}
			case len(o.Decisions) != 1 || o.Decisions[0].Result != remediate.ResultSuspended || len(o.DeadLettered) != 0:
				t.Errorf("outcome %d: %+v, want one decision suspended", i, o)
			}
		}
		if d := got[0].Decisions; len(d) != 1 || d[0].Decision.Identity != "slow@example.com" {
			t.Errorf("first outcome's decisions %+v, want the slow user's", d)
		}
	})
}
