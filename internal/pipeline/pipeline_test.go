package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tripline-dev/tripline/internal/deadletter"
	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/eventtest"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/rules"
	"github.com/tripline-dev/tripline/internal/signing"
)

// testRules is the risky_success enforce rule plus a shadow rule.
const testRules = eventtest.RiskyRule + `
  - id: medium_shadow
    description: medium risk, watched only
    severity: medium
    mode: shadow
    when: outcome == "success" && risk == "medium"
    action: suspend
    reason: "medium risk"
    tests:
      - name: medium
        event: {user_email: a@example.com, outcome: success, risk: medium}
        expect: {match: true}
      - name: low
        event: {user_email: a@example.com, outcome: success, risk: low}
        expect: {match: false}
`

var oktaSignIn = eventtest.OktaSignIn

func msg(topic string, partition int, offset int64, value []byte) kafka.Message {
	return kafka.Message{Topic: topic, Partition: partition, Offset: offset, HighWaterMark: offset + 1, Value: value}
}

type harness struct {
	src      *memSource
	dlq      *memDLQ
	dec      *funcDecider
	spans    *tracetest.SpanRecorder
	consumer *Consumer
}

func newHarness(t *testing.T, cfg Config, msgs ...kafka.Message) *harness {
	t.Helper()
	set, err := rules.Load(fstest.MapFS{"r.yaml": {Data: []byte(testRules)}})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := event.NewDecoder(event.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{
		src: newMemSource(msgs...), dlq: &memDLQ{}, dec: &funcDecider{},
		spans: tracetest.NewSpanRecorder(),
	}
	if cfg.CommitInterval == 0 {
		cfg.CommitInterval = 10 * time.Millisecond
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	deps := Deps{
		Source: h.src, DeadLetters: h.dlq, Decoder: dec, Rules: set, Decider: h.dec,
		Tracer: tp.Tracer("test"), Propagator: propagation.TraceContext{},
	}
	if cfg.Retry.Topic != "" {
		h.src.log[TopicPartition{cfg.Retry.Topic, 0}] = nil // claimed from the start, empty
		deps.Parked = memTopic{h.src, cfg.Retry.Topic}
	}
	h.consumer, err = New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// runUntil runs the consumer until cond holds (or fails the test after 10 s),
// then stops it and returns Run's error.
func (h *harness) runUntil(t *testing.T, cond func() bool) error {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.consumer.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		select {
		case err := <-done:
			cancel()
			return err
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatal("condition not reached within 10s")
		}
	}
	cancel()
	return <-done
}

func TestDecisionsAreHandedOverAndCommitted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{},
		msg("signins", 0, 0, oktaSignIn("e1", "Dana@Example.com", "HIGH")),
		msg("signins", 0, 1, oktaSignIn("e2", "lee@example.com", "LOW")),
		msg("signins", 0, 2, oktaSignIn("e3", "ann@example.com", "MEDIUM")),
	)
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("signins", 0) == 3 }); err != nil {
		t.Fatal(err)
	}
	calls := h.dec.all()
	if len(calls) != 2 {
		t.Fatalf("decider calls = %+v, want the risky one and the shadow one", calls)
	}
	// Different users: their decisions may come in either order.
	slices.SortFunc(calls, func(a, b remediate.Decision) int { return int(a.Source.Offset - b.Source.Offset) })
	want := remediate.Decision{RuleID: "risky_success", Mode: remediate.ModeEnforce, Action: remediate.ActionSuspend,
		Identity: "dana@example.com", Reason: "risky sign-in", Severity: "high", EventID: "okta:e1", UserEmail: "dana@example.com",
		Source: remediate.Source{Topic: "signins", Partition: 0, Offset: 0}}
	got := calls[0]
	got.EventTime = time.Time{}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decision (-want +got):\n%s", diff)
	}
	if calls[1].Mode != remediate.ModeShadow || calls[1].RuleID != "medium_shadow" || calls[1].Source.Offset != 2 {
		t.Errorf("shadow decision = %+v", calls[1])
	}
	if st := h.consumer.Stats(); st.Decisions != 2 || st.Actions != 2 {
		t.Errorf("stats = %+v", st)
	}
	if n := len(h.dlq.records()); n != 0 {
		t.Errorf("dlq has %d records, want 0", n)
	}
}

func TestMalformedMessageIsDeadLetteredWithHeaders(t *testing.T) {
	t.Parallel()
	bad := msg("signins", 2, 7, []byte(`{"truncated":`))
	bad.Key = []byte("k1")
	bad.Headers = []kafka.Header{{Key: "traceparent", Value: []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")}, {Key: "origin", Value: []byte("siem")}}
	h := newHarness(t, Config{}, bad, msg("signins", 2, 8, oktaSignIn("e9", "bo@example.com", "HIGH")))
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("signins", 2) == 9 }); err != nil {
		t.Fatal(err)
	}
	recs := h.dlq.records()
	if len(recs) != 1 {
		t.Fatalf("dlq records = %d, want 1", len(recs))
	}
	d := recs[0]
	if string(d.Key) != "k1" || string(d.Value) != `{"truncated":` {
		t.Errorf("key/value changed: %q %q", d.Key, d.Value)
	}
	want := map[string]string{
		deadletter.HeaderSourceTopic: "signins", deadletter.HeaderSourcePartition: "2", deadletter.HeaderSourceOffset: "7",
		deadletter.HeaderErrorClass: ClassDecode, deadletter.HeaderErrorReason: "invalid_json", deadletter.HeaderAttempts: "1", deadletter.HeaderRetryable: "false", "origin": "siem",
	}
	for k, v := range want {
		if got := HeaderValue(d, k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if tp := HeaderValue(d, "traceparent"); len(tp) != 55 || tp[3:35] != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("traceparent = %q, want the producer's trace", tp)
	}
	if HeaderValue(d, deadletter.HeaderFirstFailure) == "" || HeaderValue(d, deadletter.HeaderErrorMessage) == "" {
		t.Error("first failure time or message missing")
	}
	if h.dec.count() != 1 {
		t.Errorf("the good event after the bad one was not processed")
	}
}

func TestDLQWriteFailureStopsWithoutCommitting(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{},
		msg("signins", 0, 0, oktaSignIn("e1", "a@example.com", "LOW")),
		msg("signins", 0, 1, []byte(`not json`)),
		msg("signins", 0, 2, oktaSignIn("e3", "c@example.com", "LOW")),
	)
	h.dlq.err = errors.New("broker unavailable")
	err := h.runUntil(t, func() bool { return false })
	if err == nil {
		t.Fatal("Run returned nil after a failed DLQ write")
	}
	if got := h.src.committedOffset("signins", 0); got != 1 {
		t.Errorf("committed offset = %d, want 1 (only the message before the failure)", got)
	}
}

func TestFailuresAreDeadLetteredWithTheirClass(t *testing.T) {
	t.Parallel()
	for _, f := range []*remediate.Failure{
		{Class: remediate.ClassRetriesExhausted, Retryable: true, Attempts: 4, Err: errors.New("503")},
		{Class: remediate.ClassCannotSuspend, Attempts: 1, Err: errors.New("no_owner_remain")},
		{Class: remediate.ClassBreakerOpen, Err: errors.New("breaker global is open")},
	} {
		t.Run(f.Class, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, Config{}, msg("signins", 0, 0, oktaSignIn("e1", "a@example.com", "HIGH")), msg("signins", 0, 1, oktaSignIn("e2", "b@example.com", "HIGH")))
			h.dec.fn = func(_ context.Context, _ int, d remediate.Decision) (remediate.Outcome, error) {
				if d.Identity == "a@example.com" {
					return remediate.Outcome{Decision: d, Result: remediate.ResultFailed}, fmt.Errorf("decide: %w", f)
				}
				return remediate.Outcome{Decision: d, Result: remediate.ResultSuspended}, nil
			}
			if err := h.runUntil(t, func() bool { return h.src.committedOffset("signins", 0) == 2 }); err != nil {
				t.Fatal(err)
			}
			recs := h.dlq.records()
			if len(recs) != 1 {
				t.Fatalf("dlq = %d records, want 1", len(recs))
			}
			want := map[string]string{deadletter.HeaderErrorClass: f.Class, deadletter.HeaderRetryable: strconv.FormatBool(f.Retryable),
				deadletter.HeaderAttempts: strconv.Itoa(max(f.Attempts, 1)), deadletter.HeaderRuleID: "risky_success", deadletter.HeaderSourceOffset: "0"}
			for k, v := range want {
				if got := HeaderValue(recs[0], k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if src := h.dlq.sources[0]; src.Offset != 0 || src.Topic != "signins" {
				t.Errorf("the dead-letter writer got source %s@%d, want signins@0", src.Topic, src.Offset)
			}
		})
	}
}

func TestFatalDecisionErrorStopsWithoutCommitting(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{},
		msg("signins", 0, 0, oktaSignIn("e1", "a@example.com", "LOW")),
		msg("signins", 0, 1, oktaSignIn("e2", "b@example.com", "HIGH")),
		msg("signins", 0, 2, oktaSignIn("e3", "c@example.com", "LOW")),
	)
	h.dec.fn = func(context.Context, int, remediate.Decision) (remediate.Outcome, error) {
		return remediate.Outcome{}, errors.New("ledger: write user/U1: broker unavailable")
	}
	err := h.runUntil(t, func() bool { return false })
	if err == nil || !strings.Contains(err.Error(), "broker unavailable") {
		t.Fatalf("Run = %v, want the ledger failure", err)
	}
	if got := h.src.committedOffset("signins", 0); got != 1 {
		t.Errorf("committed offset = %d, want 1 (only the message before the failure)", got)
	}
	if len(h.dlq.records()) != 0 {
		t.Error("a fatal failure was dead-lettered")
	}
}

func TestPanicIsDeadLettered(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}, msg("signins", 0, 0, oktaSignIn("e1", "a@example.com", "HIGH")), msg("signins", 0, 1, oktaSignIn("e2", "b@example.com", "LOW")))
	h.dec.fn = func(context.Context, int, remediate.Decision) (remediate.Outcome, error) { panic("bug") }
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("signins", 0) == 2 }); err != nil {
		t.Fatal(err)
	}
	if recs := h.dlq.records(); len(recs) != 1 || HeaderValue(recs[0], deadletter.HeaderErrorClass) != ClassPanic {
		t.Errorf("dlq = %v", recs)
	}
}

// Decisions about different users run in parallel, so their order is not
// asserted here (one user's order is: see concurrency_test.go).
func TestPartitionsCommitEverything(t *testing.T) {
	t.Parallel()
	var msgs []kafka.Message
	const perPartition = 300
	for i := range perPartition {
		for p := range 4 {
			level := "LOW"
			if i%50 == 0 {
				level = "HIGH"
			}
			msgs = append(msgs, msg("signins", p, int64(i), oktaSignIn(fmt.Sprintf("p%d-%d", p, i), fmt.Sprintf("u%d-%d@example.com", p, i), level)))
		}
	}
	h := newHarness(t, Config{CommitBatch: 64}, msgs...)
	done := func() bool {
		for p := range 4 {
			if h.src.committedOffset("signins", p) != perPartition {
				return false
			}
		}
		return true
	}
	if err := h.runUntil(t, done); err != nil {
		t.Fatal(err)
	}
	if h.dec.count() != 4*perPartition/50 {
		t.Errorf("decisions = %d, want %d", h.dec.count(), 4*perPartition/50)
	}
	if h.src.commits >= len(msgs) {
		t.Errorf("%d commits for %d messages: commits are not batched", h.src.commits, len(msgs))
	}
}

func TestShutdownLeavesUnfinishedMessagesUncommitted(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	h := newHarness(t, Config{ShutdownGrace: 50 * time.Millisecond},
		msg("signins", 0, 0, oktaSignIn("e1", "a@example.com", "LOW")),
		msg("signins", 0, 1, oktaSignIn("e2", "b@example.com", "HIGH")),
		msg("signins", 0, 2, oktaSignIn("e3", "c@example.com", "HIGH")),
	)
	h.dec.fn = func(ctx context.Context, _ int, d remediate.Decision) (remediate.Outcome, error) {
		select { // the API hangs past the grace period
		case <-release:
		case <-ctx.Done():
		}
		return remediate.Outcome{Decision: d}, errors.Join(remediate.ErrInterrupted, ctx.Err())
	}
	defer close(release)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.consumer.Run(ctx) }()
	waitFor(t, "the hung decision to start", func() bool { return h.dec.count() > 0 })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the shutdown grace")
	}
	if got := h.src.committedOffset("signins", 0); got != 1 {
		t.Errorf("committed = %d, want 1: the hung message and the one after it must be redelivered", got)
	}
}

func TestSpansContinueTheProducersTrace(t *testing.T) {
	t.Parallel()
	m := msg("signins", 0, 0, oktaSignIn("e1", "a@example.com", "HIGH"))
	m.Headers = []kafka.Header{{Key: "traceparent", Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")}}
	h := newHarness(t, Config{}, m)
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("signins", 0) == 1 }); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range h.spans.Ended() {
		names[s.Name()] = true
		if s.SpanContext().TraceID().String() != "0af7651916cd43dd8448eb211c80319c" {
			t.Errorf("span %s has trace %s, want the producer's", s.Name(), s.SpanContext().TraceID())
		}
		for _, a := range s.Attributes() {
			if v := a.Value.Emit(); v == "a@example.com" {
				t.Errorf("span %s carries the email in %s", s.Name(), a.Key)
			}
		}
	}
	for _, want := range []string{"process signins", "normalize", "rules.evaluate"} {
		if !names[want] {
			t.Errorf("span %q missing; got %v", want, names)
		}
	}
	// The decider continues the same trace.
	if sc := trace.SpanContextFromContext(h.dec.ctxs[0]); sc.TraceID().String() != "0af7651916cd43dd8448eb211c80319c" {
		t.Errorf("the decider got trace %s, want the producer's", sc.TraceID())
	}
}

func TestValueTooLargeForTheDLQIsDeadLetteredWithoutIt(t *testing.T) {
	t.Parallel()
	big := make([]byte, 2<<20)
	for i := range big {
		big[i] = 'x'
	}
	h := newHarness(t, Config{}, msg("signins", 0, 0, big), msg("signins", 0, 1, oktaSignIn("e2", "b@example.com", "HIGH")))
	h.dlq.maxValue = 1 << 20
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("signins", 0) == 2 }); err != nil {
		t.Fatal(err)
	}
	recs := h.dlq.records()
	if len(recs) != 1 {
		t.Fatalf("dlq = %d records, want 1", len(recs))
	}
	d := recs[0]
	if len(d.Value) != 0 || HeaderValue(d, deadletter.HeaderValueOmitted) != "too_large" || HeaderValue(d, deadletter.HeaderValueSize) != "2097152" || len(HeaderValue(d, deadletter.HeaderValueSHA256)) != 64 {
		t.Errorf("value %d bytes, headers %v", len(d.Value), d.Headers)
	}
	if HeaderValue(d, deadletter.HeaderErrorReason) != "too_large" || HeaderValue(d, deadletter.HeaderSourceOffset) != "0" {
		t.Errorf("reason %q offset %q", HeaderValue(d, deadletter.HeaderErrorReason), HeaderValue(d, deadletter.HeaderSourceOffset))
	}
	if h.dec.count() != 1 {
		t.Error("the event after the oversized one was not processed")
	}
}

func TestFetchFailuresAreRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}, msg("signins", 0, 0, oktaSignIn("e1", "a@example.com", "HIGH")))
	h.src.fetchErrs = 3 // the broker is restarting
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("signins", 0) == 1 }); err != nil {
		t.Fatal(err)
	}
	if h.dec.count() != 1 {
		t.Errorf("calls = %d", h.dec.count())
	}
}

func TestFetchFailingPastTheBudgetStops(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{FetchRetry: 300 * time.Millisecond}, msg("signins", 0, 0, oktaSignIn("e1", "a@example.com", "LOW")))
	h.src.fetchErrs = -1
	err := h.runUntil(t, func() bool { return false })
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Run = %v, want the fetch error after the budget", err)
	}
}

func TestEndOfInputFinishesCommitsAndReturns(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{CommitInterval: time.Hour},
		msg("signins", 0, 0, oktaSignIn("e1", "a@example.com", "HIGH")),
		msg("signins", 1, 0, oktaSignIn("e2", "b@example.com", "LOW")),
		msg("signins", 0, 1, []byte("not json")),
	)
	h.src.bounded = true
	done := make(chan error, 1)
	go func() { done <- h.consumer.Run(t.Context()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return at the end of input")
	}
	if h.src.committedOffset("signins", 0) != 2 || h.src.committedOffset("signins", 1) != 1 {
		t.Errorf("committed %d and %d, want 2 and 1", h.src.committedOffset("signins", 0), h.src.committedOffset("signins", 1))
	}
}

// TestReplayDecodesWithTheOriginalTopicsFormat: a replayed record is
// decoded with the format pinned for the topic it came from (its source
// topic), not the DLQ's.
func TestReplayDecodesWithTheOriginalTopicsFormat(t *testing.T) {
	t.Parallel()
	m := msg("tripline.dlq", 0, 0, oktaSignIn("e1", "a@example.com", "HIGH"))
	m.Headers = []kafka.Header{{Key: deadletter.HeaderSourceTopic, Value: []byte("entra-signins")}}
	h := newHarness(t, Config{Replay: &Replay{AcceptUnsigned: true}, Formats: map[string]event.Format{"entra-signins": event.FormatEntra}}, m)
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("tripline.dlq", 0) == 1 }); err != nil {
		t.Fatal(err)
	}
	// An Okta document decoded as Entra (the format pinned for its source
	// topic) fails; auto-detection (the DLQ topic's) would have decoded it.
	if recs := h.dlq.records(); len(recs) != 1 || HeaderValue(recs[0], deadletter.HeaderErrorClass) != ClassDecode {
		t.Errorf("dlq = %v, want one decode failure", recs)
	}
	if h.dec.count() != 0 {
		t.Error("the record was decoded with the DLQ topic's format")
	}
}

func TestValueCutOffWhileInflatingIsDeadLetteredAsTooLarge(t *testing.T) {
	t.Parallel()
	cut := msg("signins", 0, 0, nil)
	cut.Key = []byte("bomb")
	cut.Headers = []kafka.Header{{Key: deadletter.HeaderInflateTooLarge, Value: []byte("314572800")}, {Key: deadletter.HeaderInflateCompressed, Value: []byte("4096")}}
	h := newHarness(t, Config{}, cut, msg("signins", 0, 1, oktaSignIn("e2", "b@example.com", "HIGH")))
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("signins", 0) == 2 }); err != nil {
		t.Fatal(err)
	}
	recs := h.dlq.records()
	if len(recs) != 1 {
		t.Fatalf("dlq = %d records, want 1", len(recs))
	}
	d := recs[0]
	want := map[string]string{deadletter.HeaderErrorClass: ClassDecode, deadletter.HeaderErrorReason: "too_large", deadletter.HeaderValueOmitted: "too_large",
		deadletter.HeaderValueSize: "314572800", deadletter.HeaderSourceOffset: "0", deadletter.HeaderInflateTooLarge: ""}
	for k, v := range want {
		if got := HeaderValue(d, k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if m := HeaderValue(d, deadletter.HeaderErrorMessage); !strings.Contains(m, "314572800") || !strings.Contains(m, "4096") {
		t.Errorf("message %q names neither size", m)
	}
	if h.dec.count() != 1 {
		t.Error("the event after the cut-off one was not processed")
	}
}

func TestHugeProducerHeadersCannotStopTheDeadLetterWrite(t *testing.T) {
	t.Parallel()
	bad := msg("signins", 0, 0, []byte("not json"))
	bad.Key = make([]byte, 512<<10)
	bad.Headers = []kafka.Header{{Key: "junk", Value: make([]byte, 2<<20)}}
	h := newHarness(t, Config{}, bad, msg("signins", 0, 1, oktaSignIn("e2", "b@example.com", "HIGH")))
	h.dlq.maxValue = 1 << 20
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("signins", 0) == 2 }); err != nil {
		t.Fatal(err)
	}
	recs := h.dlq.records()
	if len(recs) != 1 || len(recs[0].Key) != 0 || HeaderValue(recs[0], "junk") != "" || HeaderValue(recs[0], deadletter.HeaderErrorReason) != "invalid_json" {
		t.Fatalf("dlq = %d records, key %d bytes, headers %d", len(recs), len(recs[0].Key), len(recs[0].Headers))
	}
}

func TestEventTimeLimits(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	at := func(id, email string, when time.Time) []byte {
		return []byte(strings.Replace(string(oktaSignIn(id, email, "HIGH")), `"published":"`, `"published":"`+when.Format(time.RFC3339)+`","x":"`, 1))
	}
	future := msg("signins", 0, 0, at("f1", "a@example.com", now.Add(time.Hour)))
	old := msg("signins", 0, 1, at("o1", "b@example.com", now.Add(-48*time.Hour)))
	oldRecord := msg("signins", 0, 2, at("o2", "c@example.com", now))
	oldRecord.Time = now.Add(-30 * time.Hour)
	futureRecord := msg("signins", 0, 3, at("f2", "d@example.com", now))
	futureRecord.Time = now.Add(10 * time.Minute)
	fresh := msg("signins", 0, 4, at("n1", "e@example.com", now.Add(-time.Minute)))
	h := newHarness(t, Config{MaxEventAge: 24 * time.Hour, MaxClockSkew: 5 * time.Minute, Now: func() time.Time { return now }},
		future, old, oldRecord, futureRecord, fresh)
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("signins", 0) == 5 }); err != nil {
		t.Fatal(err)
	}
	recs := h.dlq.records()
	if len(recs) != 2 {
		t.Fatalf("dlq = %d records, want the 2 future-dated ones", len(recs))
	}
	for i, r := range recs {
		if HeaderValue(r, deadletter.HeaderErrorReason) != ReasonFutureTime || HeaderValue(r, deadletter.HeaderSourceOffset) != fmt.Sprint([]int{0, 3}[i]) {
			t.Errorf("dlq record %d: reason %q offset %q", i, HeaderValue(r, deadletter.HeaderErrorReason), HeaderValue(r, deadletter.HeaderSourceOffset))
		}
	}
	stale := map[string]bool{}
	for _, d := range h.dec.all() {
		stale[d.Identity] = d.Stale != ""
	}
	if len(stale) != 3 || !stale["b@example.com"] || !stale["c@example.com"] || stale["e@example.com"] {
		t.Errorf("decisions (identity: stale) = %v; want b and c stale, e not, a and d never evaluated", stale)
	}
}

func TestReplayChecksTheOriginalRecordTimestamp(t *testing.T) {
	t.Parallel()
	now := time.Now()
	m := msg("tripline.dlq", 0, 0, oktaSignIn("e1", "a@example.com", "HIGH"))
	m.Time = now // the DLQ record is recent...
	m.Headers = []kafka.Header{{Key: deadletter.HeaderSourceTopic, Value: []byte("signins")},
		{Key: deadletter.HeaderSourceTimestamp, Value: []byte(now.Add(-72 * time.Hour).UTC().Format(time.RFC3339Nano))}} // ...its original is not
	h := newHarness(t, Config{Replay: &Replay{AcceptUnsigned: true}, MaxEventAge: 24 * time.Hour}, m)
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("tripline.dlq", 0) == 1 }); err != nil {
		t.Fatal(err)
	}
	if d := h.dec.all(); len(d) != 1 || !strings.Contains(d[0].Stale, "kafka record timestamp") {
		t.Errorf("decisions %+v, want one stale by the original record's timestamp", d)
	}
}

func TestDeadLettersAreSignedAndVerified(t *testing.T) {
	t.Parallel()
	key := keysOf([]byte("0123456789abcdef0123456789abcdef"), nil)
	bad := msg("signins", 0, 0, []byte("not json"))
	bad.Key = []byte("k")
	h := newHarness(t, Config{Keys: key}, bad)
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("signins", 0) == 1 }); err != nil {
		t.Fatal(err)
	}
	rec := h.dlq.records()[0]
	if err := deadletter.Verify(rec, key); err != nil {
		t.Fatalf("deadletter.Verify = %v", err)
	}
	if err := deadletter.Verify(rec, keysOf([]byte("another key, 16 bytes or more"), nil)); !errors.Is(err, signing.ErrOtherKey) {
		t.Errorf("another key: %v, want ErrOtherKey", err)
	}
	for name, change := range map[string]func(*kafka.Message){
		"value": func(m *kafka.Message) { m.Value = []byte(`{"forged":true}`) },
		"key":   func(m *kafka.Message) { m.Key = []byte("other") },
		"tripline header": func(m *kafka.Message) {
			HeaderCarrier{&m.Headers}.Set(deadletter.HeaderSourceTimestamp, "2020-01-01T00:00:00Z")
		},
	} {
		m := rec
		m.Headers = append([]kafka.Header(nil), rec.Headers...)
		change(&m)
		if err := deadletter.Verify(m, key); !errors.Is(err, signing.ErrBadSignature) {
			t.Errorf("changed %s: %v, want ErrBadSignature", name, err)
		}
	}
	if err := deadletter.Verify(msg("x", 0, 0, []byte("{}")), key); !errors.Is(err, signing.ErrUnsigned) {
		t.Errorf("unsigned: %v", err)
	}
}

// TestReplayRefusesBeforeDecoding: a replay refuses an unsigned record
// before decoding it, reports the refusal and its reason (OnOutcome), and
// leaves it where it is: in the dead-letter topic, not written back.
func TestReplayRefusesBeforeDecoding(t *testing.T) {
	t.Parallel()
	forged := msg("tripline.dlq", 0, 0, oktaSignIn("e1", "admin@example.com", "HIGH"))
	h := newHarness(t, Config{Replay: &Replay{}, Keys: keysOf([]byte("0123456789abcdef"), nil)}, forged)
	outcomes := &outcomeLog{}
	h.consumer.deps.OnOutcome = outcomes.hook
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("tripline.dlq", 0) == 1 }); err != nil {
		t.Fatal(err)
	}
	if h.dec.count() != 0 {
		t.Error("a refused record reached the decision service")
	}
	if recs := h.dlq.records(); len(recs) != 0 {
		t.Errorf("the refused record was written back: %v", recs)
	}
	if got := outcomes.all(); len(got) != 1 || got[0].Refused != "unsigned" || got[0].Offset != 0 {
		t.Errorf("outcomes %+v, want one refused unsigned", got)
	}
}

func TestBufferBytesBoundsWhatIsFetchedAhead(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var msgs []kafka.Message
		for i := range 20 {
			msgs = append(msgs, msg("signins", 0, int64(i), oktaSignIn(fmt.Sprint("e", i), fmt.Sprintf("u%d@example.com", i), "HIGH")))
		}
		size := len(msgs[0].Value) + 64
		release := make(chan struct{})
		h := newHarness(t, Config{BufferBytes: int64(3 * size)}, msgs...)
		h.dec.fn = func(ctx context.Context, _ int, d remediate.Decision) (remediate.Outcome, error) {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return remediate.Outcome{Decision: d, Result: remediate.ResultSuspended}, nil
		}
		stop := h.start(t)
		// Every goroutine of the consumer is blocked now: the decisions on
		// release, fetching on the budget. With room for 3, at most 3 are
		// held and one more fetched, waiting for room.
		synctest.Wait()
		if h.dec.count() == 0 {
			t.Error("no decision started")
		}
		if n := h.consumer.Stats().Consumed; n > 4 {
			t.Errorf("%d messages fetched while the budget holds 3", n)
		}
		close(release)
		waitFor(t, "everything committed", func() bool { return h.src.committedOffset("signins", 0) == 20 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBatchFailuresAreDeadLetteredItemByItem(t *testing.T) {
	t.Parallel()
	items := [][]byte{
		oktaSignIn("b1", "a@example.com", "HIGH"),
		[]byte(`{"uuid":"b2","eventType":"user.session.start","published":"` + time.Now().UTC().Format(time.RFC3339) + `","outcome":{"result":"SUCCESS"}}`), // no user
		oktaSignIn("b3", "c@example.com", "HIGH"),
	}
	batch := []byte(`{"eventType":"com.okta.event_hook","data":{"events":[` + string(items[0]) + `,` + string(items[1]) + `,` + string(items[2]) + `]}}`)
	h := newHarness(t, Config{}, msg("signins", 0, 0, batch))
	h.dec.fn = func(_ context.Context, _ int, d remediate.Decision) (remediate.Outcome, error) {
		if d.Identity == "c@example.com" {
			return remediate.Outcome{Decision: d, Result: remediate.ResultFailed}, &remediate.Failure{Class: remediate.ClassRetriesExhausted, Retryable: true, Attempts: 3, Err: errors.New("503")}
		}
		return remediate.Outcome{Decision: d, Result: remediate.ResultSuspended}, nil
	}
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("signins", 0) == 1 }); err != nil {
		t.Fatal(err)
	}
	recs := h.dlq.records()
	if len(recs) != 2 {
		t.Fatalf("dlq = %d records, want one per failed item", len(recs))
	}
	want := []struct{ index, class, reason, value string }{
		{"1", ClassDecode, "no_user", string(items[1])},
		{"2", remediate.ClassRetriesExhausted, "", string(items[2])},
	}
	for i, w := range want {
		r := recs[i]
		if HeaderValue(r, deadletter.HeaderBatchIndex) != w.index || HeaderValue(r, deadletter.HeaderErrorClass) != w.class || HeaderValue(r, deadletter.HeaderErrorReason) != w.reason || string(r.Value) != w.value {
			t.Errorf("record %d: index %q class %q reason %q value %q", i, HeaderValue(r, deadletter.HeaderBatchIndex), HeaderValue(r, deadletter.HeaderErrorClass), HeaderValue(r, deadletter.HeaderErrorReason), r.Value)
		}
	}
}
