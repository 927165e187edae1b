package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/demo"
	"github.com/tripline-dev/tripline/internal/eventtest"
	"github.com/tripline-dev/tripline/internal/kafkaio"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/pipeline"
)

const e2eRules = eventtest.RiskyRule

var oktaSignIn = eventtest.OktaSignIn

type e2e struct {
	t     *testing.T
	sb    *demo.Sandbox
	cfg   config.Config
	spans *tracetest.SpanRecorder
}

func newE2E(t *testing.T, topic string, seed opsim.Seed) *e2e {
	t.Helper()
	sb, err := demo.StartSandbox(demo.SandboxConfig{Topics: []string{topic}, Seed: seed, Generate: 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	dir := t.TempDir()
	if err := eventtest.WriteRulesDir(dir, e2eRules); err != nil {
		t.Fatal(err)
	}
	return &e2e{t: t, sb: sb, cfg: sb.Config("e2e", dir, topic), spans: tracetest.NewSpanRecorder()}
}

func (e *e2e) produce(topic string, msgs ...kafka.Message) {
	e.t.Helper()
	w := &kafka.Writer{Addr: kafka.TCP(e.sb.Broker().Addr()), Topic: topic, Balancer: &kafka.Hash{}, BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	if err := w.WriteMessages(e.t.Context(), msgs...); err != nil {
		e.t.Fatal(err)
	}
}

// run starts Main and returns a stop function that ends it and returns Run's error.
func (e *e2e) run() (*app.Main, func() error) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(e.t.Context())
	m, err := app.NewMain(ctx, e.cfg, app.Options{Log: io.Discard, SpanProcessor: e.spans, Lookup: func(string) (string, bool) { return "", false }})
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	return m, func() error {
		cancel()
		err := <-done
		m.Close()
		return err
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *e2e) state(email string) string {
	u, ok := e.sb.Sim().UserByEmail(email)
	if !ok {
		return "missing"
	}
	return u.State
}

func (e *e2e) suspendCalls() []opsim.Request {
	var out []opsim.Request
	for _, r := range e.sb.Sim().Requests() {
		if strings.HasSuffix(r.Path, ":suspend") {
			out = append(out, r)
		}
	}
	return out
}

func (e *e2e) deadLetters(n int) []kafka.Message {
	e.t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{e.sb.Broker().Addr()}, GroupID: "dlq-reader-" + e.t.Name(), Topic: e.cfg.Kafka.DLQTopic,
		StartOffset: kafka.FirstOffset, SessionTimeout: 6 * time.Second, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(e.t.Context(), 20*time.Second)
	defer cancel()
	var out []kafka.Message
	for len(out) < n {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			e.t.Fatalf("read DLQ: got %d of %d records: %v", len(out), n, err)
		}
		out = append(out, m)
	}
	return out
}

func TestEndToEndRiskyBenignAndMalformed(t *testing.T) {
	e := newE2E(t, "signins", opsim.Seed{})
	traceID := "4bf92f3577b34da6a3ce929d0e0e4736"
	e.produce("signins",
		kafka.Message{Key: []byte("a"), Value: oktaSignIn("r1", "user00001@example.com", "HIGH"),
			Headers: []kafka.Header{{Key: "traceparent", Value: []byte("00-" + traceID + "-00f067aa0ba902b7-01")}}},
		kafka.Message{Key: []byte("b"), Value: oktaSignIn("b1", "user00002@example.com", "LOW")},
		kafka.Message{Key: []byte("c"), Value: []byte(`{"eventType": "user.session.start", `)},
	)
	m, stop := e.run()
	waitFor(t, "the risky user to be suspended and 3 offsets committed", func() bool {
		return e.state("user00001@example.com") == "SUSPENDED" && m.Stats().Committed >= 3
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if s := e.state("user00002@example.com"); s != "ACTIVE" {
		t.Errorf("benign user is %s", s)
	}
	if calls := e.suspendCalls(); len(calls) != 1 || !strings.HasPrefix(calls[0].UserAgent, "tripline/") {
		t.Errorf("suspend calls = %+v, want exactly one, with a tripline User-Agent", calls)
	}
	d := e.deadLetters(1)[0]
	if string(d.Key) != "c" || pipeline.HeaderValue(d, pipeline.HeaderErrorClass) != "decode" || pipeline.HeaderValue(d, pipeline.HeaderErrorReason) != "invalid_json" || pipeline.HeaderValue(d, pipeline.HeaderSourceTopic) != "signins" {
		t.Errorf("dlq record: key %q headers %v", d.Key, d.Headers)
	}
	// The producer's trace reaches the 1Password call.
	var httpSpan bool
	for _, s := range e.spans.Ended() {
		if strings.HasPrefix(s.Name(), "HTTP POST") && s.SpanContext().TraceID().String() == traceID {
			httpSpan = true
		}
	}
	if !httpSpan {
		t.Error("no HTTP POST span in the producer's trace")
	}
}

func TestEndToEndRateLimitThenSuccess(t *testing.T) {
	e := newE2E(t, "signins", opsim.Seed{})
	e.sb.Sim().SetFaults(opsim.Faults{"suspend": {Rate429: 1, RetryAfter: 1}})
	e.produce("signins", kafka.Message{Value: oktaSignIn("r1", "user00003@example.com", "CRITICAL")})
	_, stop := e.run()
	waitFor(t, "a 429", func() bool {
		for _, c := range e.suspendCalls() {
			if c.Status == 429 {
				return true
			}
		}
		return false
	})
	start := time.Now()
	e.sb.Sim().SetFaults(opsim.Faults{})
	waitFor(t, "the user to be suspended", func() bool { return e.state("user00003@example.com") == "SUSPENDED" })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 10*time.Second {
		t.Error("took too long after the rate limit lifted")
	}
}

// TestEndToEnd5xxStormIsDeadLetteredAsRetryableWithoutParking: with the
// retry topic turned off, a decision whose retry budget runs out is
// dead-lettered at once, marked retryable.
func TestEndToEnd5xxStormIsDeadLetteredAsRetryableWithoutParking(t *testing.T) {
	e := newE2E(t, "signins", opsim.Seed{})
	e.cfg.Kafka.RetryTopic = ""
	e.cfg.Retry.MaxElapsed = time.Second
	e.cfg.Retry.MaxAttempts = 3
	e.sb.Sim().SetFaults(opsim.Faults{"suspend": {Rate503: 1}})
	e.produce("signins", kafka.Message{Value: oktaSignIn("r1", "user00004@example.com", "HIGH")})
	m, stop := e.run()
	waitFor(t, "the message to be committed", func() bool { return m.Stats().Committed >= 1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	d := e.deadLetters(1)[0]
	if pipeline.HeaderValue(d, pipeline.HeaderErrorClass) != "retries_exhausted" || pipeline.HeaderValue(d, pipeline.HeaderRetryable) != "true" || pipeline.HeaderValue(d, pipeline.HeaderAttempts) != "3" {
		t.Errorf("dlq headers = %v", d.Headers)
	}
}

func TestEndToEndRefusedSuspensionIsDeadLettered(t *testing.T) {
	seed := opsim.Seed{Users: []opsim.UserSeed{{Email: "owner@example.com", Role: "owner"}}}
	e := newE2E(t, "signins", seed)
	e.produce("signins", kafka.Message{Value: oktaSignIn("r1", "owner@example.com", "HIGH")}, kafka.Message{Value: oktaSignIn("r2", "nobody@elsewhere.example", "HIGH")})
	m, stop := e.run()
	waitFor(t, "both messages to be committed", func() bool { return m.Stats().Committed >= 2 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	classes := map[string]bool{}
	for _, d := range e.deadLetters(2) {
		classes[pipeline.HeaderValue(d, pipeline.HeaderErrorClass)] = true
	}
	if !classes["cannot_suspend"] || !classes["user_not_found"] {
		t.Errorf("dlq classes = %v, want cannot_suspend and user_not_found", classes)
	}
	if e.state("owner@example.com") != "ACTIVE" {
		t.Error("last owner was suspended")
	}
}

func TestEndToEndRestartSkipsNothing(t *testing.T) {
	e := newE2E(t, "signins", opsim.Seed{})
	e.sb.Sim().SetFaults(opsim.Faults{"suspend": {Latency: 30 * time.Millisecond}})
	e.cfg.MaxInFlight = 2 // so that the stop comes mid-stream
	var msgs []kafka.Message
	for i := 1; i <= 20; i++ {
		msgs = append(msgs, kafka.Message{Key: []byte{byte(i)}, Value: oktaSignIn(fmt.Sprint("r", i), fmt.Sprintf("user%05d@example.com", i), "HIGH")})
	}
	e.produce("signins", msgs...)
	m, stop := e.run()
	waitFor(t, "some suspensions", func() bool { return len(e.suspendCalls()) >= 3 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	first := len(e.suspendCalls())
	if first >= 20 {
		t.Fatalf("the first run finished the stream (%d calls): the stop was not mid-stream", first)
	}
	t.Logf("first run stopped mid-stream: %d suspend calls, %d offsets committed", first, m.Stats().Committed)
	e.sb.Sim().SetFaults(opsim.Faults{})
	e.cfg.MaxInFlight = 64
	_, stop = e.run()
	waitFor(t, "all 20 users suspended", func() bool {
		for i := 1; i <= 20; i++ {
			if e.state(fmt.Sprintf("user%05d@example.com", i)) != "SUSPENDED" {
				return false
			}
		}
		return true
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(e.suspendCalls()); n != 20 {
		t.Errorf("%d suspend calls for 20 risky users over both runs, want exactly 20", n)
	}
}

// TestEndToEndUsersAPIOutageHealsItself: the Users API answers 503 to
// everything for ten retry budgets (a 10-minute outage against the default
// one-minute budget, scaled down: a 0.5 s budget and a 5 s outage) while
// 20 risky sign-ins arrive. Each decision is retried, parked on the retry
// topic, re-driven with growing delays and parked again; the source offsets
// are committed meanwhile and the instance stays ready. Once the API is
// back, every risky user is suspended, once, and nothing is in the DLQ.
func TestEndToEndUsersAPIOutageHealsItself(t *testing.T) {
	e := newE2E(t, "signins", opsim.Seed{})
	e.cfg.Retry.MaxElapsed, e.cfg.Retry.InitialInterval, e.cfg.Retry.MaxInterval = 500*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond
	e.cfg.Retry.ParkInitial, e.cfg.Retry.ParkIntervalMax = 250*time.Millisecond, time.Second
	m, stop := e.run()
	waitFor(t, "the directory loaded", m.Directory().Ready)
	e.sb.Sim().SetFaults(opsim.Faults{opsim.EndpointAny: {Rate503: 1}})
	outage := time.Now()
	e.produce("signins", riskyMessages(1, 20)...)
	waitFor(t, "every source offset committed with its decision parked", func() bool {
		st := m.Stats()
		return st.Parked >= 20 && committed(t, e, "signins") == 20
	})
	if _, err := m.Ready(t.Context()); err != nil {
		t.Errorf("not ready during the outage: %v", err)
	}
	time.Sleep(time.Until(outage.Add(5 * time.Second))) // the outage lasts its whole length
	parkedDuring := m.Stats().Parked
	e.sb.Sim().SetFaults(opsim.Faults{})
	waitFor(t, "every risky user suspended", func() bool {
		for i := 1; i <= 20; i++ {
			if e.state(fmt.Sprintf("user%05d@example.com", i)) != "SUSPENDED" {
				return false
			}
		}
		return true
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if parkedDuring < 40 {
		t.Errorf("%d parks during the outage: want each decision re-driven and parked again", parkedDuring)
	}
	if n := topicSize(t, e, e.cfg.Kafka.DLQTopic); n != 0 {
		t.Errorf("%d records in the DLQ, want 0", n)
	}
	ok := 0
	for _, r := range e.suspendCalls() {
		if r.Status == 200 {
			ok++
		}
	}
	if ok != 20 {
		t.Errorf("%d successful suspend calls for 20 users, want 20", ok)
	}
}

// committed is how many records of topic the consumer's group committed.
func committed(t *testing.T, e *e2e, topic string) int64 {
	return sumBounds(t, e, topic, func(b kafkaio.Bound) int64 { return b.Next })
}

// topicSize is how many records topic holds.
func topicSize(t *testing.T, e *e2e, topic string) int64 {
	return sumBounds(t, e, topic, func(b kafkaio.Bound) int64 { return b.End })
}

func sumBounds(t *testing.T, e *e2e, topic string, f func(kafkaio.Bound) int64) int64 {
	bounds, err := e.sb.Conn().PartitionBounds(t.Context(), topic, e.cfg.Kafka.GroupID)
	if err != nil {
		return -1
	}
	var n int64
	for _, b := range bounds {
		n += f(b)
	}
	return n
}
