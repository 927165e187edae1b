package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
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

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func httpGet(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestEndToEndOperatorSurface checks what an operator relies on: the audit
// topic, /metrics, /healthz, /readyz, and that no secret reaches the logs,
// spans, metrics or DLQ headers.
func TestEndToEndOperatorSurface(t *testing.T) {
	const secret = "s3cr3t-0f-the-oauth-app"
	seed := opsim.Seed{Clients: []opsim.ClientSeed{{ID: "ops-client", Secret: secret}}}
	e := newE2E(t, "signins", seed)
	e.cfg.Kafka.AuditTopic = "tripline.audit"
	e.cfg.HTTPAddr = freeAddr(t)
	e.produce("signins",
		kafka.Message{Value: oktaSignIn("r1", "user00005@example.com", "HIGH")},
		kafka.Message{Value: []byte(`[1,2,3]`)},
	)
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(t.Context())
	m, err := app.NewMain(ctx, e.cfg, app.Options{Log: logs, SpanProcessor: e.spans, Lookup: func(string) (string, bool) { return "", false }})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	base := "http://" + e.cfg.HTTPAddr
	waitFor(t, "both messages committed", func() bool { return m.Stats().Committed >= 2 })
	waitFor(t, "readyz", func() bool { code, _ := httpGet(base + "/readyz"); return code == 200 })
	if code, _ := httpGet(base + "/healthz"); code != 200 {
		t.Errorf("healthz = %d", code)
	}
	_, metrics := httpGet(base + "/metrics")
	for _, want := range []string{
		`tripline_decisions_total{action="suspend",mode="enforce",outcome="suspended",rule="risky_success"} 1`,
		`tripline_breaker_open{scope="global"} 0`,
		`tripline_dlq_records_total{class="decode"} 1`,
		`tripline_messages_consumed_total{topic="signins"} 2`,
		`tripline_api_latency_seconds_bucket`,
		`tripline_consumer_lag`,
		`tripline_rules_reloads_total{result="loaded"} 1`,
		`tripline_rules_reloads_total{result="rejected"} 0`,
		`tripline_directory_users 20`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	m.Close()

	// The audit topic holds the action, keyed by event id.
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{e.sb.Broker().Addr()}, GroupID: "audit-reader", Topic: "tripline.audit",
		StartOffset: kafka.FirstOffset, SessionTimeout: 6 * time.Second, MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	rctx, rcancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer rcancel()
	am, err := r.ReadMessage(rctx)
	if err != nil {
		t.Fatalf("read audit topic: %v", err)
	}
	var rec remediate.Record
	if err := json.Unmarshal(am.Value, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Result != "suspended" || rec.RuleID != "risky_success" || rec.UserEmail != "user00005@example.com" || rec.UserID == "" || rec.TraceID == "" || string(am.Key) != rec.EventID {
		t.Errorf("audit record = %+v (key %q)", rec, am.Key)
	}

	// No secret anywhere an operator or attacker could read.
	var surfaces strings.Builder
	surfaces.WriteString(logs.String())
	surfaces.WriteString(metrics)
	for _, s := range e.spans.Ended() {
		fmt.Fprintf(&surfaces, "%s %v %v\n", s.Name(), s.Attributes(), s.Events())
		for _, a := range s.Attributes() {
			if strings.Contains(a.Value.Emit(), "@example.com") {
				t.Errorf("span %s attribute %s carries an email", s.Name(), a.Key)
			}
		}
	}
	for _, d := range e.deadLetters(1) {
		fmt.Fprintf(&surfaces, "%v\n", d.Headers)
	}
	if strings.Contains(surfaces.String(), secret) {
		t.Error("the client secret leaked into logs, metrics, spans or DLQ headers")
	}
	if !strings.Contains(logs.String(), `"client_secret":"[redacted]"`) {
		t.Error("the effective configuration was not logged with the secret redacted")
	}
	if strings.Contains(metrics, "@example.com") {
		t.Error("a metric label carries an email")
	}
}

func TestEndToEndStartupFailsClearly(t *testing.T) {
	e := newE2E(t, "signins", opsim.Seed{})
	e.cfg.Kafka.Topics = []string{"signins", "no.such.topic"}
	_, err := app.NewMain(t.Context(), e.cfg, app.Options{Log: io.Discard, Lookup: func(string) (string, bool) { return "", false }})
	if err == nil || !strings.Contains(err.Error(), "no.such.topic") {
		t.Errorf("want an error naming the missing topic, got %v", err)
	}
	e.cfg.Kafka.Topics = []string{"signins"}
	e.cfg.OnePassword.ClientSecret = "wrong"
	m, err := app.NewMain(t.Context(), e.cfg, app.Options{Log: io.Discard, Lookup: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	err = m.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "onepassword") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("want a permanent credentials error that names the settings and not the secret, got %v", err)
	}
}
