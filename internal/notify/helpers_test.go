package notify_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tripline-dev/tripline/internal/notify"
)

// waitLimit bounds every wait on a condition; tests never sleep.
const waitLimit = 10 * time.Second

// request is one request a receiver got.
type request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
	At           time.Time
}

// reply is a receiver's answer to one request.
type reply struct {
	Status int
	Header map[string]string
	Body   string
	// Hang holds the request until the client gives up or release is
	// closed; Drop closes the connection without an answer.
	Hang, Drop bool
}

// receiver is a real HTTP server on a loopback socket that records every
// request and answers from a script (the last reply repeats; 200 when
// empty).
type receiver struct {
	*httptest.Server
	got     chan request
	release chan struct{}

	mu     sync.Mutex
	script []reply
	all    []request
}

func newReceiver(t *testing.T, script ...reply) *receiver {
	t.Helper()
	r := &receiver{got: make(chan request, 100), release: make(chan struct{}), script: script}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(func() {
		r.Release()
		r.Close()
	})
	return r
}

// Release lets every held request answer.
func (r *receiver) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.release:
	default:
		close(r.release)
	}
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	got := request{Method: req.Method, Path: req.URL.RequestURI(), Header: req.Header.Clone(), Body: body, At: time.Now()}
	r.mu.Lock()
	r.all = append(r.all, got)
	n := len(r.all)
	rep := reply{Status: http.StatusOK}
	if len(r.script) > 0 {
		rep = r.script[min(n, len(r.script))-1]
	}
	r.mu.Unlock()
	r.got <- got
	if rep.Hang {
		select {
		case <-req.Context().Done():
			return
		case <-r.release:
		}
	}
	if rep.Drop {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	for k, v := range rep.Header {
		w.Header().Set(k, v)
	}
	if rep.Status == 0 {
		rep.Status = http.StatusOK
	}
	w.WriteHeader(rep.Status)
	_, _ = io.WriteString(w, rep.Body)
}

// Count is how many requests arrived so far.
func (r *receiver) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.all)
}

// Requests returns a copy of the requests so far.
func (r *receiver) Requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.all...)
}

// next waits for the next request.
func (r *receiver) next(t *testing.T) request {
	t.Helper()
	select {
	case got := <-r.got:
		return got
	case <-time.After(waitLimit):
		t.Fatalf("no request within %s", waitLimit)
		return request{}
	}
}

// syncBuffer is a log sink safe for the Notifier's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// failure is one OnFailed call.
type failure struct {
	N    notify.Notification
	Sink string
	Err  error
}

// harness is a Notifier with its logs, metrics and failures captured.
type harness struct {
	*notify.Notifier
	logs    *syncBuffer
	reader  *sdkmetric.ManualReader
	failMu  sync.Mutex
	fails   []failure
	failed  chan failure
	closeMu sync.Once
}

// fastRetry retries quickly so tests stay fast.
func fastRetry() notify.RetryConfig {
	return notify.RetryConfig{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond, MaxElapsed: waitLimit, MaxAttempts: 4}
}

// start builds a Notifier from cfg (loopback http allowed, fast retries
// unless set) and closes it at the end of the test.
func start(t *testing.T, cfg notify.Config) *harness {
	t.Helper()
	h := &harness{logs: &syncBuffer{}, reader: sdkmetric.NewManualReader(), failed: make(chan failure, 100)}
	cfg.AllowInsecureLoopback = true
	if cfg.Retry == (notify.RetryConfig{}) {
		cfg.Retry = fastRetry()
	}
	cfg.OnFailed = func(n notify.Notification, sink string, err error) {
		f := failure{n, sink, err}
		h.failMu.Lock()
		h.fails = append(h.fails, f)
		h.failMu.Unlock()
		h.failed <- f
	}
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	meter := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader)).Meter("test")
	n, err := notify.New(cfg, logger, meter, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.Notifier = n
	t.Cleanup(func() { h.close(t) })
	return h
}

// close closes the Notifier (once) and fails the test if it did not drain.
func (h *harness) close(t *testing.T) {
	t.Helper()
	h.closeMu.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := h.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

// failures returns the OnFailed calls so far.
func (h *harness) failures() []failure {
	h.failMu.Lock()
	defer h.failMu.Unlock()
	return append([]failure(nil), h.fails...)
}

// nextFailure waits for the next OnFailed call.
func (h *harness) nextFailure(t *testing.T) failure {
	t.Helper()
	select {
	case f := <-h.failed:
		return f
	case <-time.After(waitLimit):
		t.Fatalf("OnFailed not called within %s; logs:\n%s", waitLimit, h.logs)
		return failure{}
	}
}

// counter reads the value of a counter series from the ManualReader.
func (h *harness) counter(t *testing.T, name string, kv ...string) int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect metrics: %v", err)
	}
	want := make([]attribute.KeyValue, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		want = append(want, attribute.String(kv[i], kv[i+1]))
	}
	set := attribute.NewSet(want...)
	var total int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				t.Fatalf("%s is %T, want an int64 sum", name, m.Data)
			}
			for _, dp := range sum.DataPoints {
				if dp.Attributes.Equals(&set) {
					total += dp.Value
				}
			}
		}
	}
	return total
}

// metricsText is every metric name, attribute and value, for leak checks.
func (h *harness) metricsText(t *testing.T) string {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collect metrics: %v", err)
	}
	var b strings.Builder
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			b.WriteString(m.Name + " ")
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range sum.DataPoints {
					b.WriteString(dp.Attributes.Encoded(attribute.DefaultEncoder()) + "\n")
				}
			}
		}
	}
	return b.String()
}

// waitFor polls cond until it holds or waitLimit passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// sample is a typical action notification.
func sample() notify.Notification {
	return notify.Notification{
		Type: notify.TypeAction, RuleID: "impossible_travel", Action: "suspend", UserID: "OPUSER7QX",
		Email: "Alice@Example.com", Result: "suspended", Reason: "sign-in from two continents within 5m",
		EventID: "evt-123", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
	}
}

const (
	testSecret  = "whsec_tripline_test_0123456789"
	testHashKey = "email-hash-key-0123456789"
)
