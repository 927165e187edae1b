package pipeline

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/deadletter"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/signing"
)

const retryTopic = "tripline.retry"

var retryKey = keysOf([]byte("retry-test-signing-key"), nil)

// unavailable is the decision service's answer once its retry budget is
// spent on a Users API that keeps answering 503.
func unavailable(d remediate.Decision) (remediate.Outcome, error) {
	return remediate.Outcome{Decision: d}, &remediate.Failure{Class: remediate.ClassRetriesExhausted, Retryable: true, Attempts: 8, Err: errors.New("suspend user: 503 unavailable")}
}

func parking(initial, intervalMax, maxPark time.Duration) Config {
	return Config{Keys: retryKey, Retry: Parking{Topic: retryTopic, Initial: initial, IntervalMax: intervalMax, Max: maxPark}}
}

// TestRetryableFailureIsParkedThenActedOn: a user whose Users API calls
// keep failing is parked on the retry topic (the source offset committed as
// soon as the park is acknowledged), re-driven after growing delays, and
// acted on once the API is back; nothing reaches the DLQ.
func TestRetryableFailureIsParkedThenActedOn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parking(20*time.Millisecond, 80*time.Millisecond, time.Minute),
		msg("signins", 0, 0, oktaSignIn("e1", "ok1@example.com", "HIGH")),
		msg("signins", 0, 1, oktaSignIn("e2", "down@example.com", "HIGH")),
		msg("signins", 0, 2, oktaSignIn("e3", "ok2@example.com", "HIGH")),
	)
	var back atomic.Bool
	var acted atomic.Int64
	var mu sync.Mutex
	var tries []time.Time
	h.dec.fn = func(_ context.Context, _ int, d remediate.Decision) (remediate.Outcome, error) {
		if d.Identity == "down@example.com" {
			mu.Lock()
			tries = append(tries, time.Now())
			mu.Unlock()
		}
		if d.Identity == "down@example.com" && !back.Load() {
			return unavailable(d)
		}
		if d.Identity == "down@example.com" {
			acted.Add(1)
		}
		return remediate.Outcome{Decision: d, Result: remediate.ResultSuspended}, nil
	}
	stop := h.start(t)
	waitFor(t, "the source partition committed with the decision parked", func() bool {
		return h.src.committedOffset("signins", 0) == 3 && len(h.src.topic(retryTopic)) >= 1
	})
	if acted.Load() != 0 {
		t.Fatal("acted before the API came back")
	}
	waitFor(t, "three parks", func() bool { return len(h.src.topic(retryTopic)) >= 3 })
	back.Store(true)
	waitFor(t, "the parked decision acted on and its records committed", func() bool {
		n := int64(len(h.src.topic(retryTopic)))
		return acted.Load() == 1 && h.src.committedOffset(retryTopic, 0) == n
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(h.dlq.records()); n != 0 {
		t.Errorf("%d records in the DLQ, want 0", n)
	}
	parked := h.src.topic(retryTopic)
	var last time.Time
	for i, p := range parked {
		if got := HeaderValue(p, deadletter.HeaderRetryParks); got != strconv.Itoa(i+1) {
			t.Errorf("park %d: parks header %q", i, got)
		}
		if err := deadletter.Verify(p, retryKey); err != nil {
			t.Errorf("park %d: %v", i, err)
		}
		if HeaderValue(p, deadletter.HeaderSourceTopic) != "signins" || HeaderValue(p, deadletter.HeaderSourceOffset) != "1" || HeaderValue(p, deadletter.HeaderErrorClass) != remediate.ClassRetriesExhausted {
			t.Errorf("park %d headers %v", i, p.Headers)
		}
		due, err := time.Parse(time.RFC3339Nano, HeaderValue(p, deadletter.HeaderRetryDue))
		if err != nil {
			t.Fatal(err)
		}
		// The delay counts from the failed try (the record's own timestamp
		// comes later, when the write is acknowledged, and would shrink it
		// on a busy machine).
		mu.Lock()
		tried := tries[i]
		mu.Unlock()
		if delay := due.Sub(tried); i < 3 && delay < 20*time.Millisecond<<i {
			t.Errorf("park %d: due %v after the failed try, want at least %v", i, delay, 20*time.Millisecond<<i)
		}
		if i > 0 && !due.After(last) {
			t.Errorf("park %d due %v, not after %v", i, due, last)
		}
		last = due
		mu.Lock()
		if i+1 < len(tries) && tries[i+1].Before(due) {
			t.Errorf("try %d at %v, before the due time %v of park %d", i+2, tries[i+1], due, i+1)
		}
		mu.Unlock()
	}
	if st := h.consumer.Stats(); st.Parked != int64(len(parked)) || st.DeadLettered != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestParkingEndsInTheDLQAfterMax: a decision still failing after
// Retry.Max is dead-lettered, retryable, with the time of its first failure.
func TestParkingEndsInTheDLQAfterMax(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parking(10*time.Millisecond, 20*time.Millisecond, 150*time.Millisecond),
		msg("signins", 0, 0, oktaSignIn("e1", "down@example.com", "HIGH")))
	h.dec.fn = func(_ context.Context, _ int, d remediate.Decision) (remediate.Outcome, error) { return unavailable(d) }
	start := time.Now()
	if err := h.runUntil(t, func() bool { return len(h.dlq.records()) == 1 }); err != nil {
		t.Fatal(err)
	}
	d := h.dlq.records()[0]
	if HeaderValue(d, deadletter.HeaderErrorClass) != remediate.ClassRetriesExhausted || HeaderValue(d, deadletter.HeaderRetryable) != "true" || HeaderValue(d, deadletter.HeaderSourceTopic) != "signins" {
		t.Errorf("dlq headers %v", d.Headers)
	}
	first, err := time.Parse(time.RFC3339Nano, HeaderValue(d, deadletter.HeaderFirstFailure))
	if err != nil || first.Before(start) || time.Since(first) < 150*time.Millisecond {
		t.Errorf("first failure %v (%v): want the first park's time, at least 150ms ago", first, err)
	}
	if n := len(h.src.topic(retryTopic)); n < 3 {
		t.Errorf("%d parks before giving up, want several", n)
	}
}

// TestForgedParkedRecordsAreRefused: records written to the retry topic by
// anyone but tripline (unsigned, or a signed dead-letter record copied
// there) are dead-lettered as refused, never decided on, and never waited
// for, whatever due time they claim.
func TestForgedParkedRecordsAreRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parking(time.Hour, time.Hour, time.Hour))
	forged := msg(retryTopic, 0, 0, oktaSignIn("e1", "victim@example.com", "HIGH"))
	forged.Headers = []kafka.Header{{Key: deadletter.HeaderRetryDue, Value: []byte("2999-01-01T00:00:00Z")}, {Key: deadletter.HeaderSourceTopic, Value: []byte("signins")}}
	copied := msg(retryTopic, 0, 1, oktaSignIn("e2", "victim2@example.com", "HIGH"))
	copied.Headers = []kafka.Header{{Key: deadletter.HeaderSourceTopic, Value: []byte("signins")}, {Key: deadletter.HeaderErrorClass, Value: []byte("breaker_open")}}
	deadletter.Sign(&copied, retryKey) // a genuine dead-letter record, held for review
	h.src.log[TopicPartition{retryTopic, 0}] = []kafka.Message{forged, copied}
	if err := h.runUntil(t, func() bool { return h.src.committedOffset(retryTopic, 0) == 2 }); err != nil {
		t.Fatal(err)
	}
	if n := h.dec.count(); n != 0 {
		t.Errorf("%d decisions on forged records", n)
	}
	recs := h.dlq.records()
	if len(recs) != 2 {
		t.Fatalf("%d DLQ records, want 2", len(recs))
	}
	for _, r := range recs {
		if HeaderValue(r, deadletter.HeaderErrorClass) != ClassRefused {
			t.Errorf("class %q, want refused", HeaderValue(r, deadletter.HeaderErrorClass))
		}
		if err := deadletter.Verify(r, retryKey); !errors.Is(err, signing.ErrUnsigned) {
			t.Errorf("a refused record was dead-lettered signed (%v): a replay would act on it", err)
		}
	}
}

// TestParkingAndAnswersWithoutSigningKeyAreRefused: parking and answers
// need the signing key (a record anyone wrote to the retry or answers
// topic could not be told from tripline's) and parking its writer. The
// caller decides whether they are on (internal/app: never without the
// key); the pipeline refuses a configuration that turns them on without
// what they need, at startup, rather than park or read answers unsigned.
func TestParkingAndAnswersWithoutSigningKeyAreRefused(t *testing.T) {
	t.Parallel()
	noKey := parking(time.Millisecond, time.Millisecond, time.Hour)
	noKey.Keys = nil
	noAnswerKey := Config{AnswersTopic: answersTopic}
	replayParks := parking(time.Millisecond, time.Millisecond, time.Hour)
	replayParks.Replay = &Replay{}
	for name, c := range map[string]struct {
		cfg    Config
		parked DeadLetterWriter
		want   string
	}{
		"parking without the key":    {noKey, &memDLQ{}, "signing key"},
		"parking without its writer": {parking(time.Millisecond, time.Millisecond, time.Hour), nil, "retry topic's writer"},
		"answers without the key":    {noAnswerKey, nil, "signing key"},
		"a replay that parks":        {replayParks, &memDLQ{}, "a replay parks nothing"},
	} {
		_, err := New(c.cfg, Deps{Source: newMemSource(), DeadLetters: &memDLQ{}, Parked: c.parked, Decoder: nopDecoder{}, Rules: nopRules{}, Decider: &funcDecider{}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: New = %v, want an error naming %q", name, err, c.want)
		}
	}
}
