package telemetry

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestLoggerAddsTraceIDs(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	tel, err := Setup(t.Context(), Config{ServiceName: "test", SpanProcessor: rec})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(t.Context())
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := tel.Tracer("t").Start(t.Context(), "op")
	log.InfoContext(ctx, "hello")
	span.End()
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	if line["trace_id"] != span.SpanContext().TraceID().String() {
		t.Errorf("trace_id = %v, want %s", line["trace_id"], span.SpanContext().TraceID())
	}
	if len(rec.Ended()) != 1 {
		t.Errorf("recorded %d spans, want 1", len(rec.Ended()))
	}
}

func TestMetricsServedInPrometheusFormat(t *testing.T) {
	t.Parallel()
	tel, err := Setup(t.Context(), Config{ServiceName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := tel.Meter("m").Int64Counter("tripline_test_things")
	c.Add(t.Context(), 3)
	srv := httptest.NewServer(tel.MetricsHandler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "tripline_test_things_total 3") {
		t.Errorf("metric missing:\n%s", body)
	}
}

func TestNoExporterWithoutEndpoint(t *testing.T) {
	t.Parallel()
	tel, err := Setup(t.Context(), Config{ServiceName: "test", Lookup: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tel.Destination, "nowhere") {
		t.Errorf("destination = %q", tel.Destination)
	}
	tel2, err := Setup(t.Context(), Config{ServiceName: "test", Lookup: func(k string) (string, bool) {
		if k == "OTEL_EXPORTER_OTLP_ENDPOINT" {
			return "http://127.0.0.1:4318", true
		}
		return "", false
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tel2.Destination, "127.0.0.1:4318") {
		t.Errorf("destination = %q", tel2.Destination)
	}
	_, err = NewLogger(io.Discard, "loud", "json")
	if err == nil {
		t.Error("bad level accepted")
	}
}
