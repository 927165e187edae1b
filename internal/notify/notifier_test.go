package notify_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/tripline-dev/tripline/internal/notify"
	"github.com/tripline-dev/tripline/internal/secret"
)

// notifyReturns calls Notify and fails the test if it does not return
// promptly: Notify must never wait for a sink.
func notifyReturns(t *testing.T, h *harness, n notify.Notification) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Notify(context.Background(), n)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatalf("Notify blocked on a slow sink")
	}
}

func TestFullQueueDropsWithoutBlocking(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, reply{Hang: true}, reply{Status: 200})
	cfg := webhookConfig(rcv.URL)
	cfg.QueueSize = 1
	cfg.Timeout = waitLimit // the held request must not time out while the test runs
	h := start(t, cfg)

	first := sample()
	first.EventID = "evt-1"
	notifyReturns(t, h, first)
	rcv.next(t) // the sink goroutine is now stuck on the held request
	second := sample()
	second.EventID = "evt-2"
	notifyReturns(t, h, second) // fills the queue of 1
	third := sample()
	third.EventID = "evt-3"
	notifyReturns(t, h, third) // finds it full

	if got := h.counter(t, "tripline_notifications_dropped", "sink", "webhook", "reason", "queue_full"); got != 1 {
		t.Errorf("dropped{queue_full} = %d, want 1", got)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, `"reason":"queue_full"`) || !strings.Contains(logs, `"event_id":"evt-3"`) {
		t.Errorf("queue_full drop not logged with its event:\n%s", logs)
	}
	if len(h.failures()) != 0 {
		t.Errorf("OnFailed called for a queue_full drop (it runs on the caller's goroutine)")
	}
	rcv.Release()
	h.close(t)
	if got := h.counter(t, "tripline_notifications_sent", "sink", "webhook", "type", "action"); got != 2 {
		t.Errorf("sent = %d, want 2 (the held one and the queued one)", got)
	}
	if got := rcv.Count(); got != 2 {
		t.Errorf("got %d requests, want 2", got)
	}
}

func TestCloseDrainsQueue(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	h := start(t, webhookConfig(rcv.URL))
	for range 20 {
		h.Notify(t.Context(), sample())
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitLimit)
	defer cancel()
	if err := h.Close(ctx); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if got := rcv.Count(); got != 20 {
		t.Errorf("Close returned with %d of 20 notifications delivered", got)
	}
	if err := h.Close(ctx); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	h.Notify(t.Context(), sample())
	if got := h.counter(t, "tripline_notifications_dropped", "sink", "webhook", "reason", "closed"); got != 1 {
		t.Errorf("Notify after Close: dropped{closed} = %d, want 1", got)
	}
}

func TestCloseOutOfTimeDropsTheRest(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, reply{Hang: true})
	cfg := webhookConfig(rcv.URL)
	cfg.Timeout = time.Minute
	h := start(t, cfg)
	for range 3 {
		h.Notify(t.Context(), sample())
	}
	rcv.next(t) // one held in flight, two queued
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // no time at all to drain
	err := h.Close(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v, want the context's error", err)
	}
	// Close returned: every sink goroutine has ended.
	if got := h.counter(t, "tripline_notifications_dropped", "sink", "webhook", "reason", "shutdown"); got != 3 {
		t.Errorf("dropped{shutdown} = %d, want 3", got)
	}
	if got := len(h.failures()); got != 3 {
		t.Errorf("OnFailed called %d times, want 3", got)
	}
}

// TestCloseLeavesNoGoroutine is not parallel: it counts goroutines.
func TestCloseLeavesNoGoroutine(t *testing.T) {
	rcv := newReceiver(t, reply{Status: 503}, reply{Status: 200})
	tr := &http.Transport{}
	before := runtime.NumGoroutine()
	for range 3 {
		n, err := notify.New(notify.Config{
			AllowInsecureLoopback: true, Retry: fastRetry(),
			Webhook:   webhookConfig(rcv.URL).Webhook,
			PagerDuty: notify.PagerDutyConfig{RoutingKey: "R0UTINGKEY0000000000000000000000", URL: rcv.URL},
			Slack:     notify.SlackConfig{WebhookURL: secret.Value(rcv.URL + "/services/T/B/X")},
		}, nil, nil, &http.Client{Transport: tr})
		if err != nil {
			t.Fatal(err)
		}
		n.Notify(t.Context(), sample())
		n.Notify(t.Context(), notify.Notification{Type: notify.TypeBreakerOpen, Scope: "global"})
		if err := n.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	tr.CloseIdleConnections()
	waitFor(t, "goroutines back to their number before", func() bool {
		tr.CloseIdleConnections()
		return runtime.NumGoroutine() <= before
	})
}

func TestNotifyTakesTraceFromContextAndSetsTime(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	h := start(t, webhookConfig(rcv.URL))
	tid, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	sid, _ := trace.SpanIDFromHex("b7ad6b7169203331")
	ctx := trace.ContextWithSpanContext(t.Context(), trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid}))
	before := time.Now().Add(-time.Second)
	n := sample()
	n.TraceID = ""
	h.Notify(ctx, n)
	got := rcv.next(t)
	if !strings.Contains(string(got.Body), `"trace_id":"0af7651916cd43dd8448eb211c80319c"`) {
		t.Errorf("trace id not taken from ctx: %s", got.Body)
	}
	var ts string
	if _, after, ok := strings.Cut(string(got.Body), `"time":"`); ok {
		ts, _, _ = strings.Cut(after, `"`)
	}
	when, err := time.Parse(time.RFC3339, ts)
	if err != nil || when.Before(before) {
		t.Errorf("time %q: want now in RFC 3339 (%v)", ts, err)
	}
}

func TestInvalidTypeIsCountedNotSent(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	h := start(t, webhookConfig(rcv.URL))
	h.Notify(t.Context(), notify.Notification{Type: "suspended"})
	h.close(t)
	if rcv.Count() != 0 {
		t.Errorf("an invalid notification was sent")
	}
	if got := h.counter(t, "tripline_notifications_dropped", "sink", "all", "reason", "invalid"); got != 1 {
		t.Errorf("dropped{invalid} = %d, want 1", got)
	}
}

func TestNoSinkIsANoop(t *testing.T) {
	t.Parallel()
	n, err := notify.New(notify.Config{}, slog.New(slog.DiscardHandler), sdkmetric.NewMeterProvider().Meter("t"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := n.Sinks(); len(s) != 0 {
		t.Errorf("Sinks = %v", s)
	}
	n.Notify(t.Context(), sample())
	if err := n.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkNotify measures what enforcement pays per notification: the
// enqueue (hash, redaction, id), whatever the sink does.
func BenchmarkNotify(b *testing.B) {
	rcv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer rcv.Close()
	n, err := notify.New(notify.Config{
		AllowInsecureLoopback: true, QueueSize: 1 << 16, EmailHashKey: testHashKey,
		Webhook: notify.WebhookConfig{URL: secret.Value(rcv.URL), Secret: testSecret},
	}, nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	nt := sample()
	nt.Reason = "entra reports leaked credentials for alice@example.com (leakedCredentials), event entra:0a1b2c3d"
	for b.Loop() {
		n.Notify(ctx, nt)
	}
	b.StopTimer()
	cctx, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	_ = n.Close(cctx) // the backlog is dropped, not measured
}
