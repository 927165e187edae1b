package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/eventtest"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/rules"
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
	exec     *funcExecutor
	rec      *memRecorder
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
		src: newMemSource(msgs...), dlq: &memDLQ{}, rec: &memRecorder{},
		exec: &funcExecutor{fn: func(_ context.Context, _ int, req remediate.Request) (remediate.Outcome, error) {
			return remediate.Outcome{Request: req, User: remediate.User{ID: "U-" + req.Identity}, Result: remediate.ResultSuspended}, nil
		}},
		spans: tracetest.NewSpanRecorder(),
	}
	if cfg.Retry.InitialInterval == 0 {
		cfg.Retry = RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, MaxElapsed: 2 * time.Second, MaxAttempts: 4}
	}
	if cfg.CommitInterval == 0 {
		cfg.CommitInterval = 10 * time.Millisecond
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	h.consumer, err = New(cfg, Deps{
		Source: h.src, DeadLetters: h.dlq, Decoder: dec, Rules: set, Executor: h.exec, Recorder: h.rec,
		Tracer: tp.Tracer("test"), Propagator: propagation.TraceContext{},
	})
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

func TestRiskyEventIsSuspendedAndCommitted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{},
		msg("signins", 0, 0, oktaSignIn("e1", "Dana@Example.com", "HIGH")),
		msg("signins", 0, 1, oktaSignIn("e2", "lee@example.com", "LOW")),
	)
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("signins", 0) == 2 }); err != nil {
		t.Fatal(err)
	}
	if h.exec.count() != 1 || h.exec.calls[0].Identity != "dana@example.com" || h.exec.calls[0].RuleID != "risky_success" {
		t.Fatalf("executor calls = %+v, want one suspend of dana@example.com", h.exec.calls)
	}
	recs := h.rec.all()
	if len(recs) != 1 || recs[0].Result != "suspended" || recs[0].UserID != "U-dana@example.com" || recs[0].TraceID == "" {
		t.Errorf("audit = %+v", recs)
	}
	if n := len(h.dlq.records()); n != 0 {
		t.Errorf("dlq has %d records, want 0", n)
	}
}

func TestShadowDecisionIsRecordedNotExecuted(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}, msg("signins", 0, 0, oktaSignIn("e1", "ann@example.com", "MEDIUM")))
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("signins", 0) == 1 }); err != nil {
		t.Fatal(err)
	}
	if h.exec.count() != 0 {
		t.Errorf("shadow decision executed")
	}
	if recs := h.rec.all(); len(recs) != 1 || recs[0].Result != "shadow" || recs[0].Mode != "shadow" {
		t.Errorf("audit = %+v", recs)
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
		HeaderSourceTopic: "signins", HeaderSourcePartition: "2", HeaderSourceOffset: "7",
		HeaderErrorClass: ClassDecode, HeaderErrorReason: "invalid_json", HeaderAttempts: "1", HeaderRetryable: "false", "origin": "siem",
	}
	for k, v := range want {
		if got := HeaderValue(d, k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if tp := HeaderValue(d, "traceparent"); len(tp) != 55 || tp[3:35] != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("traceparent = %q, want the producer's trace", tp)
	}
	if HeaderValue(d, HeaderFirstFailure) == "" || HeaderValue(d, HeaderErrorMessage) == "" {
		t.Error("first failure time or message missing")
	}
	if h.exec.count() != 1 {
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

func TestTransientFailuresAreRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}, msg("signins", 0, 0, oktaSignIn("e1", "a@example.com", "HIGH")))
	h.exec.fn = func(_ context.Context, n int, req remediate.Request) (remediate.Outcome, error) {
		if n < 3 {
			return remediate.Outcome{Request: req, Result: remediate.ResultFailed}, retryableErr{after: 20 * time.Millisecond}
		}
		return remediate.Outcome{Request: req, User: remediate.User{ID: "U1"}, Result: remediate.ResultSuspended}, nil
	}
	start := time.Now()
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("signins", 0) == 1 }); err != nil {
		t.Fatal(err)
	}
	if h.exec.count() != 3 {
		t.Errorf("attempts = %d, want 3", h.exec.count())
	}
	if el := time.Since(start); el < 40*time.Millisecond {
		t.Errorf("finished in %s: Retry-After of 20ms was not honoured twice", el)
	}
	if len(h.dlq.records()) != 0 {
		t.Error("recovered failure was dead-lettered")
	}
}

func TestExhaustedRetriesAreDeadLetteredAsRetryable(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}, msg("signins", 0, 0, oktaSignIn("e1", "a@example.com", "HIGH")), msg("signins", 0, 1, oktaSignIn("e2", "b@example.com", "HIGH")))
	h.exec.fn = func(_ context.Context, n int, req remediate.Request) (remediate.Outcome, error) {
		if req.Identity == "a@example.com" {
			return remediate.Outcome{Request: req, Result: remediate.ResultFailed}, retryableErr{}
		}
		return remediate.Outcome{Request: req, Result: remediate.ResultSuspended}, nil
	}
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("signins", 0) == 2 }); err != nil {
		t.Fatal(err)
	}
	recs := h.dlq.records()
	if len(recs) != 1 {
		t.Fatalf("dlq = %d records, want 1", len(recs))
	}
	if HeaderValue(recs[0], HeaderErrorClass) != ClassRetriesExhausted || HeaderValue(recs[0], HeaderRetryable) != "true" || HeaderValue(recs[0], HeaderAttempts) != "4" || HeaderValue(recs[0], HeaderRuleID) != "risky_success" {
		t.Errorf("headers = %v", recs[0].Headers)
	}
	if h.exec.count() != 5 {
		t.Errorf("calls = %d, want 4 attempts for a and 1 for b", h.exec.count())
	}
}

func TestPermanentFailuresAreClassified(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err   error
		class string
	}{
		{fmt.Errorf("x: %w", remediate.ErrUserNotFound), ClassUserNotFound},
		{fmt.Errorf("x: %w", remediate.ErrCannotSuspend), ClassCannotSuspend},
		{fmt.Errorf("x: %w", remediate.ErrPermissionDenied), ClassPermissionDenied},
		{errors.New("400 bad request"), ClassAPIError},
	} {
		h := newHarness(t, Config{}, msg("signins", 0, 0, oktaSignIn("e1", "a@example.com", "HIGH")))
		h.exec.fn = func(context.Context, int, remediate.Request) (remediate.Outcome, error) {
			return remediate.Outcome{}, tc.err
		}
		if err := h.runUntil(t, func() bool { return h.src.committedOffset("signins", 0) == 1 }); err != nil {
			t.Fatal(err)
		}
		recs := h.dlq.records()
		if len(recs) != 1 || HeaderValue(recs[0], HeaderErrorClass) != tc.class {
			t.Errorf("%v: dlq = %v, want class %s", tc.err, recs, tc.class)
		}
		if h.exec.count() != 1 {
			t.Errorf("%v: permanent error retried (%d calls)", tc.err, h.exec.count())
		}
		if a := h.rec.all(); len(a) != 1 || a[0].Result != "failed" {
			t.Errorf("audit = %+v", a)
		}
	}
}

func TestPanicIsDeadLettered(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{}, msg("signins", 0, 0, oktaSignIn("e1", "a@example.com", "HIGH")), msg("signins", 0, 1, oktaSignIn("e2", "b@example.com", "LOW")))
	h.exec.fn = func(context.Context, int, remediate.Request) (remediate.Outcome, error) { panic("bug") }
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("signins", 0) == 2 }); err != nil {
		t.Fatal(err)
	}
	if recs := h.dlq.records(); len(recs) != 1 || HeaderValue(recs[0], HeaderErrorClass) != ClassPanic {
		t.Errorf("dlq = %v", recs)
	}
}

func TestPartitionsCommitEverythingInOrder(t *testing.T) {
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
	if h.exec.count() != 4*perPartition/50 {
		t.Errorf("suspends = %d, want %d", h.exec.count(), 4*perPartition/50)
	}
	// Order within a partition: the executor saw each partition's risky users in offset order.
	last := map[string]int{}
	for _, c := range h.exec.calls {
		var p, i int
		fmt.Sscanf(c.Identity, "u%d-%d@", &p, &i)
		key := strconv.Itoa(p)
		if i < last[key] {
			t.Fatalf("partition %d out of order: %d after %d", p, i, last[key])
		}
		last[key] = i
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
	h.exec.fn = func(ctx context.Context, _ int, req remediate.Request) (remediate.Outcome, error) {
		select { // the API hangs past the grace period
		case <-release:
		case <-ctx.Done():
		}
		return remediate.Outcome{Request: req, Result: remediate.ResultFailed}, ctx.Err()
	}
	defer close(release)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.consumer.Run(ctx) }()
	for h.exec.count() == 0 {
		time.Sleep(time.Millisecond)
	}
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
	for _, want := range []string{"process signins", "normalize", "rules.evaluate", "remediate.suspend"} {
		if !names[want] {
			t.Errorf("span %q missing; got %v", want, names)
		}
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
	if len(d.Value) != 0 || HeaderValue(d, HeaderValueOmitted) != "too_large" || HeaderValue(d, HeaderValueSize) != "2097152" || len(HeaderValue(d, HeaderValueSHA256)) != 64 {
		t.Errorf("value %d bytes, headers %v", len(d.Value), d.Headers)
	}
	if HeaderValue(d, HeaderErrorReason) != "too_large" || HeaderValue(d, HeaderSourceOffset) != "0" {
		t.Errorf("reason %q offset %q", HeaderValue(d, HeaderErrorReason), HeaderValue(d, HeaderSourceOffset))
	}
	if h.exec.count() != 1 {
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
	if h.exec.count() != 1 {
		t.Errorf("calls = %d", h.exec.count())
	}
}

func TestFetchFailingPastTheBudgetStops(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{FetchRetry: 300 * time.Millisecond})
	h.src.fetchErrs = -1
	err := h.runUntil(t, func() bool { return false })
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Run = %v, want the fetch error after the budget", err)
	}
}

func TestRedeliveredMessagesNeverMoveTheOffsetBack(t *testing.T) {
	t.Parallel()
	// After a rejoin the broker hands out offsets 0 and 1 again.
	h := newHarness(t, Config{CommitBatch: 1},
		msg("signins", 0, 0, oktaSignIn("e1", "a@example.com", "LOW")),
		msg("signins", 0, 1, oktaSignIn("e2", "b@example.com", "LOW")),
		msg("signins", 0, 2, oktaSignIn("e3", "c@example.com", "LOW")),
		msg("signins", 0, 0, oktaSignIn("e1", "a@example.com", "LOW")),
		msg("signins", 0, 1, oktaSignIn("e2", "b@example.com", "LOW")),
	)
	if err := h.runUntil(t, func() bool { return h.consumer.Stats().Consumed == 5 && h.consumer.Stats().Committed == 5 }); err != nil {
		t.Fatal(err) // memSource fails a commit that moves backwards
	}
	if got := h.src.committedOffset("signins", 0); got != 3 {
		t.Errorf("committed = %d, want 3", got)
	}
}
