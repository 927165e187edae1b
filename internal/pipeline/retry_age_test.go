package pipeline

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/deadletter"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/signing"
)

// oktaSignInAt is a risky Okta sign-in published at when.
func oktaSignInAt(id, email string, when time.Time) []byte {
	return []byte(strings.Replace(string(oktaSignIn(id, email, "HIGH")), `"published":"`, `"published":"`+when.UTC().Format(time.RFC3339)+`","x":"`, 1))
}

// parkedRecord is a record of the retry topic as tripline parks it: the
// event, the headers of its failure, its due time and park count, signed
// under keys.
func parkedRecord(offset int64, value []byte, first, due time.Time, keys *signing.Keyring) kafka.Message {
	m := msg(retryTopic, 0, offset, value)
	h := func(k, v string) kafka.Header { return kafka.Header{Key: k, Value: []byte(v)} }
	m.Headers = []kafka.Header{
		h(deadletter.HeaderSourceTopic, "signins"), h(deadletter.HeaderSourcePartition, "0"), h(deadletter.HeaderSourceOffset, strconv.FormatInt(offset, 10)),
		h(deadletter.HeaderSourceTimestamp, first.Add(-time.Minute).UTC().Format(time.RFC3339Nano)),
		h(deadletter.HeaderErrorClass, remediate.ClassRetriesExhausted), h(deadletter.HeaderErrorMessage, "suspend user: 503 unavailable"),
		h(deadletter.HeaderRuleID, "risky_success"), h(deadletter.HeaderAttempts, "8"), h(deadletter.HeaderFirstFailure, first.UTC().Format(time.RFC3339Nano)),
		h(deadletter.HeaderRetryable, "true"), h(deadletter.HeaderRetryDue, due.UTC().Format(time.RFC3339Nano)), h(deadletter.HeaderRetryParks, "5"),
	}
	deadletter.Sign(&m, keys)
	return m
}

// deadLetterLog records what the consumer's OnDeadLetter hook (the
// notifications) was told.
type deadLetterLog struct {
	mu  sync.Mutex
	got []deadletter.Record
}

func (l *deadLetterLog) hook(_ context.Context, rec deadletter.Record, _ string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, rec)
}

func (l *deadLetterLog) all() []deadletter.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]deadletter.Record(nil), l.got...)
}

// TestParkedDecisionRunOutWhileDownIsDeadLetteredNotShadowed: a decision
// parked through a long outage is re-driven after retry.park_max: it is
// dead-lettered as retries_exhausted and notified, without being decided
// again, never quietly shadowed as stale; one whose event is older than
// the maximum event age but whose first failure is recent is decided.
func TestParkedDecisionRunOutWhileDownIsDeadLetteredNotShadowed(t *testing.T) {
	t.Parallel()
	now := time.Now()
	cfg := parking(time.Millisecond, time.Millisecond, 12*time.Hour)
	cfg.MaxEventAge, cfg.MaxClockSkew = 24*time.Hour, 5*time.Minute
	old := oktaSignInAt("e-old", "down@example.com", now.Add(-36*time.Hour))
	runOut := parkedRecord(0, old, now.Add(-30*time.Hour), now.Add(-29*time.Hour), retryKey)
	recent := parkedRecord(1, oktaSignInAt("e-recent", "late@example.com", now.Add(-30*time.Hour)), now.Add(-time.Hour), now.Add(-time.Minute), retryKey)
	h := newHarness(t, cfg)
	h.src.log[TopicPartition{retryTopic, 0}] = []kafka.Message{runOut, recent}
	notified := &deadLetterLog{}
	h.consumer.deps.OnDeadLetter = notified.hook
	if err := h.runUntil(t, func() bool { return h.src.committedOffset(retryTopic, 0) == 2 }); err != nil {
		t.Fatal(err)
	}
	decided := h.dec.all()
	if len(decided) != 1 || decided[0].EventID != "okta:e-recent" || decided[0].Stale != "" {
		t.Fatalf("decided %+v: want only e-recent, not stale (it first failed an hour ago)", decided)
	}
	recs := h.dlq.records()
	if len(recs) != 1 || HeaderValue(recs[0], deadletter.HeaderErrorClass) != remediate.ClassRetriesExhausted ||
		!strings.Contains(HeaderValue(recs[0], deadletter.HeaderErrorMessage), "retry.park_max") {
		t.Fatalf("dead-letters %v: want e-old as retries_exhausted past retry.park_max", recs)
	}
	if err := deadletter.Verify(recs[0], retryKey); err != nil {
		t.Errorf("the run-out decision was dead-lettered unsigned: a replay could not act on it: %v", err)
	}
	if got := notified.all(); len(got) != 1 || got[0].Class != remediate.ClassRetriesExhausted {
		t.Errorf("notified %+v, want one retries_exhausted", got)
	}
}

// TestParkedRecordsDatedAheadAreRefused: a parked record whose first
// failure is dated beyond the clock skew (it would never run out) or whose
// due time is further ahead than a park can be is refused.
func TestParkedRecordsDatedAheadAreRefused(t *testing.T) {
	t.Parallel()
	now := time.Now()
	cfg := parking(time.Millisecond, 10*time.Minute, 12*time.Hour)
	cfg.MaxClockSkew = 5 * time.Minute
	ev := oktaSignIn("e1", "x@example.com", "HIGH")
	h := newHarness(t, cfg)
	h.src.log[TopicPartition{retryTopic, 0}] = []kafka.Message{
		parkedRecord(0, ev, now.Add(24*time.Hour), now, retryKey),
		parkedRecord(1, ev, now, now.Add(24*time.Hour), retryKey),
	}
	if err := h.runUntil(t, func() bool { return h.src.committedOffset(retryTopic, 0) == 2 }); err != nil {
		t.Fatal(err)
	}
	if n := h.dec.count(); n != 0 {
		t.Errorf("%d decisions on parked records dated ahead", n)
	}
	for _, r := range h.dlq.records() {
		if HeaderValue(r, deadletter.HeaderErrorClass) != ClassRefused || HeaderValue(r, deadletter.HeaderErrorReason) != ReasonFutureTime {
			t.Errorf("dead-letter %s/%s, want refused/future_time", HeaderValue(r, deadletter.HeaderErrorClass), HeaderValue(r, deadletter.HeaderErrorReason))
		}
	}
	if n := len(h.dlq.records()); n != 2 {
		t.Errorf("%d refused, want 2", n)
	}
}

// TestRotatedKeyKeepsParkedDecisions: after a key rotation, records parked
// under the previous key are decided (and parked again under the current
// key); under a key the ring does not hold they are refused as such, with
// a hint, not as a bad signature.
func TestRotatedKeyKeepsParkedDecisions(t *testing.T) {
	t.Parallel()
	oldKeys := keysOf([]byte("the-key-before-the-rotation"), nil)
	rotated := keysOf([]byte("the-key-after-the-rotation-"), []byte("the-key-before-the-rotation"))
	now := time.Now()
	cfg := parking(time.Millisecond, time.Millisecond, time.Hour)
	cfg.Keys = rotated
	h := newHarness(t, cfg)
	h.src.log[TopicPartition{retryTopic, 0}] = []kafka.Message{
		parkedRecord(0, oktaSignIn("e1", "down@example.com", "HIGH"), now.Add(-time.Minute), now, oldKeys),
		parkedRecord(1, oktaSignIn("e2", "down2@example.com", "HIGH"), now.Add(-time.Minute), now, keysOf([]byte("a-key-nobody-here-holds"), nil)),
	}
	calls := 0
	var mu sync.Mutex
	h.dec.fn = func(_ context.Context, _ int, d remediate.Decision) (remediate.Outcome, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			return unavailable(d) // parked again: under the current key
		}
		return remediate.Outcome{Decision: d, Result: remediate.ResultSuspended}, nil
	}
	if err := h.runUntil(t, func() bool { return h.dec.count() >= 2 && len(h.dlq.records()) == 1 }); err != nil {
		t.Fatal(err)
	}
	refused := h.dlq.records()[0]
	if HeaderValue(refused, deadletter.HeaderErrorReason) != signing.Reason(signing.ErrOtherKey) ||
		!strings.Contains(HeaderValue(refused, deadletter.HeaderErrorMessage), "TRIPLINE_DLQ_SIGNING_KEY_PREVIOUS") {
		t.Errorf("record under an unknown key: reason %q, message %q", HeaderValue(refused, deadletter.HeaderErrorReason), HeaderValue(refused, deadletter.HeaderErrorMessage))
	}
	reparked := h.src.topic(retryTopic)[2:]
	if len(reparked) == 0 {
		t.Fatal("nothing parked again")
	}
	if err := deadletter.Verify(reparked[0], keysOf([]byte("the-key-after-the-rotation-"), nil)); err != nil {
		t.Errorf("parked again under %v, want the current key", err)
	}
	if err := deadletter.Verify(reparked[0], oldKeys); !errors.Is(err, signing.ErrOtherKey) {
		t.Errorf("parked again: verifies under the previous key alone (%v)", err)
	}
}

// TestReplayNeverActsOnARecordRefusedBefore: the consumer dead-letters a
// record it refused (a forged parked record) unsigned, so that nothing
// launders it; a replay that accepts unsigned records still refuses it.
func TestReplayNeverActsOnARecordRefusedBefore(t *testing.T) {
	t.Parallel()
	refused := msg("tripline.dlq", 0, 0, oktaSignIn("e1", "victim@example.com", "HIGH"))
	refused.Headers = []kafka.Header{{Key: HeaderSourceTopic, Value: []byte("signins")}, {Key: HeaderErrorClass, Value: []byte(ClassRefused)},
		{Key: HeaderErrorReason, Value: []byte("unsigned")}}
	plain := msg("tripline.dlq", 0, 1, oktaSignIn("e2", "ok@example.com", "HIGH"))
	plain.Headers = []kafka.Header{{Key: HeaderSourceTopic, Value: []byte("signins")}, {Key: HeaderErrorClass, Value: []byte("retries_exhausted")}}
	h := newHarness(t, Config{Replay: &Replay{AcceptUnsigned: true}, Keys: retryKey}, refused, plain)
	outcomes := &outcomeLog{}
	h.consumer.deps.OnOutcome = outcomes.hook
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("tripline.dlq", 0) == 2 }); err != nil {
		t.Fatal(err)
	}
	decided := h.dec.all()
	if len(decided) != 1 || decided[0].EventID != "okta:e2" {
		t.Errorf("decided %+v, want only the unsigned record that was not refused", decided)
	}
	if got := outcomes.all(); len(got) != 2 || got[0].Refused != "refused_before" {
		t.Errorf("outcomes %+v, want the refused record refused as refused_before", got)
	}
}
