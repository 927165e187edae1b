//go:build kafka

package kafka

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/kafkatest"
	"github.com/tripline-dev/tripline/internal/opsim"
)

// TestReliabilitySecrets runs the consumer process with a known OAuth
// client secret, a known SASL password and a known dead-letter signing key
// and looks for any of them (and the Basic credentials built from the
// client secret) in every log line, span
// (exported over OTLP/HTTP to a local receiver), the /metrics page and
// every DLQ record.
//
// The test brokers do not speak SASL, so the SASL password is checked on a
// run that loads it, logs its start-up configuration and then fails to
// connect; the full run goes without SASL.
func TestReliabilitySecrets(t *testing.T) {
	const clientID, clientSecret, saslPassword = "tripline-secrets", "ops-SECRET-7f3c9e1d2b5a", "sasl-SECRET-4a8b6c2e9d"
	basic := base64.StdEncoding.EncodeToString([]byte(clientID + ":" + clientSecret))
	secrets := []string{clientSecret, saslPassword, basic, dlqSigningKey}
	leaks := func(where, text string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				i := strings.Index(text, s)
				t.Errorf("%s contains the secret %q: ...%s...", where, s, text[max(i-200, 0):min(i+len(s)+50, len(text))])
			}
		}
	}
	brokers := kafkatest.Brokers(t)
	s := startSim(t, opsim.Seed{Clients: []opsim.ClientSeed{{ID: clientID, Secret: clientSecret}}}, 20)
	w := newWorld(t, brokers, 3, s)
	w.env["TRIPLINE_LOG_LEVEL"] = "debug"

	// SASL: loaded, logged redacted at start-up, then the connection fails.
	// SCRAM, since tripline refuses PLAIN without TLS at start-up, before
	// anything is logged.
	w.env["TRIPLINE_KAFKA_SASL_MECHANISM"] = "scram-sha-512"
	w.env["TRIPLINE_KAFKA_SASL_USERNAME"] = "tripline"
	w.env["TRIPLINE_KAFKA_SASL_PASSWORD"] = saslPassword
	p := w.start("consumer-sasl")
	err := p.waitExit(t, 90*time.Second)
	saslOut := p.stderr.String()
	if err == nil {
		t.Errorf("consumer with SASL against a plaintext broker exited 0")
	}
	if !strings.Contains(saslOut, `"msg":"starting tripline"`) || !strings.Contains(saslOut, `"password":"[redacted]"`) {
		t.Errorf("no start-up line with the SASL password redacted:\n%s", lastBytes(saslOut, 4096))
	}
	leaks("the output of the SASL run", saslOut)
	for _, k := range []string{"TRIPLINE_KAFKA_SASL_MECHANISM", "TRIPLINE_KAFKA_SASL_USERNAME", "TRIPLINE_KAFKA_SASL_PASSWORD"} {
		delete(w.env, k)
	}

	// Full run: OTLP receiver, /metrics, token and suspend faults so error
	// paths log too.
	var otlpMu sync.Mutex
	var otlp []byte
	recv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		otlpMu.Lock()
		otlp = append(otlp, b...)
		otlpMu.Unlock()
	}))
	defer recv.Close()
	metricsAddr := freeAddr(t)
	w.env["TRIPLINE_HTTP_ADDR"] = metricsAddr
	w.env["OTEL_EXPORTER_OTLP_ENDPOINT"] = recv.URL
	w.env["OTEL_BSP_SCHEDULE_DELAY"] = "200"
	s.SetFaults(opsim.Faults{opsim.EndpointToken: {Rate503: 0.5}, opsim.EndpointSuspend: {Rate500: 0.3}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w.produce(ctx,
		kafka.Message{Key: []byte("risky"), Value: oktaSignIn("s1", userEmail(1), "HIGH")},
		kafka.Message{Key: []byte("malformed"), Value: []byte(`{"eventType": "user.session.start", `)},
		kafka.Message{Key: []byte("stranger"), Value: oktaSignIn("s2", "nobody@elsewhere.example", "HIGH")},
	)
	p = w.start("consumer")
	relWait(t, 90*time.Second, "the risky user suspended and every message committed", w.drained([]string{userEmail(1)}), p)
	s.RevokeAllTokens() // the next call re-authenticates: one more token exchange
	w.produce(ctx, kafka.Message{Key: []byte("risky2"), Value: oktaSignIn("s3", userEmail(2), "CRITICAL")})
	relWait(t, 60*time.Second, "the second risky user suspended after the revocation", w.drained([]string{userEmail(1), userEmail(2)}), p)
	metrics := scrape(t, "http://"+metricsAddr+"/metrics")
	p.stop(t, 30*time.Second)

	out := p.stderr.String()
	if !strings.Contains(out, `"client_secret":"[redacted]"`) {
		t.Errorf("start-up line does not show the client secret redacted")
	}
	leaks("the consumer's output", out)
	if !strings.Contains(metrics, "tripline") {
		t.Errorf("/metrics has no tripline metric:\n%s", lastBytes(metrics, 2048))
	}
	leaks("/metrics", metrics)
	otlpMu.Lock()
	spans := string(otlp)
	otlpMu.Unlock()
	if len(spans) == 0 {
		t.Error("no span reached the OTLP receiver, so spans were not checked")
	}
	leaks("the exported spans", spans)
	dl := w.deadLetters()
	if len(dl) != 2 {
		t.Errorf("DLQ holds %d records (%v), want the malformed one and the stranger", len(dl), classCounts(dl))
	}
	var dlqText strings.Builder
	for _, m := range dl {
		dlqText.Write(m.Key)
		dlqText.Write(m.Value)
		for _, h := range m.Headers {
			fmt.Fprintf(&dlqText, "%s=%s\n", h.Key, h.Value)
		}
	}
	leaks("the DLQ records", dlqText.String())
	leaked := t.Failed()
	risky := []string{userEmail(1), userEmail(2)}
	f := figures{events: 4, risky: len(risky), suspended: s.suspended(risky), dlq: len(dl)}
	f.committedAtEnd = w.assertCommittedAtEnd(4)
	c := s.calls()
	assertOneCallEach(t, c, f.suspended)
	f.callsPerRisky = c.perRisky(f.suspended)
	f.wronglySuspended = w.assertNoneWronglySuspended(risky)
	report(t, "secrets", f, "log_bytes=%d sasl_run_log_bytes=%d metrics_bytes=%d otlp_bytes=%d token_statuses=%v suspend_statuses=%v leaks=%d",
		len(out), len(saslOut), len(metrics), len(spans), s.statusCounts("token"), s.statusCounts("suspend"), btoi(leaked))
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// freeAddr returns a loopback address with a port free at the time of the call.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// scrape GETs url and returns the body, failing on any error.
func scrape(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape %s: status %d, %v", url, resp.StatusCode, err)
	}
	return string(b)
}
