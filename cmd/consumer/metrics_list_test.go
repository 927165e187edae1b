package main

import (
	"bufio"
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/eventtest"
	"github.com/tripline-dev/tripline/internal/opsim"
)

// metricsList is the list of exported series the dashboard and the alerting
// rules are checked against (deploy's own test).
const metricsList = "../../deploy/metrics.txt"

// unobservable are the series of metricsList this test cannot make appear,
// each with the reason. They may be absent from the scrape; when present
// they are still checked like the others.
var unobservable = map[string]string{
	// Counted when a fetch from the broker fails; the embedded broker has no
	// way to fail a fetch short of stopping it, and kafka-go's partition
	// reader retries most broker errors itself before FetchMessage returns
	// one.
	"tripline_fetch_errors_total": "no fetch failure can be injected into the embedded broker",
	// Counted only when a sink refuses, keeps failing or has no room; the
	// test's webhook accepts everything.
	"tripline_notifications_dropped_total": "the test's notification webhook drops nothing",
}

// atShutdown are the series recorded only once Run has returned (the token
// revocation in Close), after /metrics stopped serving: this test reads them
// from the metrics handler directly, as Close would leave them.
var atShutdown = []string{"tripline_token_revocations_total"}

// probeRule makes one event fail at run time (reading a key of a missing
// object), so that a rule error is counted and dead-lettered.
const probeRule = `
  - id: metrics_probe
    description: fails at run time on the probe user's sign-ins only
    severity: info
    mode: shadow
    action: none
    when: user_email == "user00003@example.com" && raw.no_such_object.key == "x"
`

// TestMetricsListMatchesScrape runs the consumer against the sandbox, drives
// traffic that makes every instrument record (a risky sign-in suspended, a
// malformed message and a rule error dead-lettered, a suspension retried,
// parked on the retry topic and re-driven, the token revoked at shutdown)
// and checks deploy/metrics.txt against the Prometheus scrape both ways:
// every listed series appears (but for the unobservable ones), and every
// tripline_ series of the scrape is listed.
func TestMetricsListMatchesScrape(t *testing.T) {
	listed := readMetricsList(t, metricsList)
	for name := range unobservable {
		if !slices.Contains(listed, name) {
			t.Errorf("%s is allowlisted as unobservable but not in %s: drop it from the allowlist", name, metricsList)
		}
	}
	for _, name := range atShutdown {
		if !slices.Contains(listed, name) {
			t.Errorf("%s is read at shutdown but not in %s", name, metricsList)
		}
	}

	e := newE2E(t, "signins", opsim.Seed{})
	rulesDir := t.TempDir()
	if err := eventtest.WriteRulesDir(rulesDir, e2eRules+probeRule); err != nil {
		t.Fatal(err)
	}
	e.cfg.Rules.Dir = rulesDir
	e.cfg.HTTPAddr = freeAddr(t)
	e.cfg.Retry.InitialInterval, e.cfg.Retry.MaxInterval, e.cfg.Retry.MaxElapsed = 20*time.Millisecond, 50*time.Millisecond, 300*time.Millisecond
	e.cfg.Retry.ParkInitial, e.cfg.Retry.ParkIntervalMax = 100*time.Millisecond, time.Second
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer hook.Close()
	e.cfg.Notify.WebhookURL, e.cfg.Notify.WebhookSecret, e.cfg.Notify.AllowInsecureLoopback = config.Secret(hook.URL), "metrics-test-webhook-secret", true

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	m, err := app.NewMain(ctx, e.cfg, app.Options{Log: &syncBuffer{}, Lookup: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	stopped := false
	defer func() { // a failure before the orderly stop below
		if !stopped {
			cancel()
			<-done
			m.Close()
		}
	}()
	waitFor(t, "the directory loaded", m.Directory().Ready)

	// user00002's suspensions fail (503) until the decision is parked.
	parked, ok := e.sb.Sim().UserByEmail(eventtest.UserEmail(2))
	if !ok {
		t.Fatal("the simulator has no user00002")
	}
	e.sb.Sim().SetFaults(opsim.Faults{opsim.EndpointSuspend + ":" + parked.ID: {Rate503: 1}})
	e.produce("signins",
		kafka.Message{Key: []byte("1"), Value: oktaSignIn("m1", eventtest.UserEmail(1), "HIGH")},
		kafka.Message{Key: []byte("2"), Value: oktaSignIn("m2", eventtest.UserEmail(2), "HIGH")},
		kafka.Message{Key: []byte("3"), Value: oktaSignIn("m3", eventtest.UserEmail(3), "LOW")},
		kafka.Message{Key: []byte("4"), Value: []byte(`{"eventType": "user.session.start", `)},
	)
	waitFor(t, "user00001 suspended and user00002's decision parked", func() bool {
		return e.state(eventtest.UserEmail(1)) == "SUSPENDED" && m.Stats().Parked >= 1
	})
	e.sb.Sim().SetFaults(opsim.Faults{})
	waitFor(t, "user00002 suspended once re-driven", func() bool { return e.state(eventtest.UserEmail(2)) == "SUSPENDED" })

	// Every observable series shows up in the scrape: wait for it (counters
	// are exported as they are recorded), then report what is missing.
	base := "http://" + e.cfg.HTTPAddr
	var want []string
	for _, name := range listed {
		if _, skip := unobservable[name]; !skip && !slices.Contains(atShutdown, name) {
			want = append(want, name)
		}
	}
	var scraped map[string]bool
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := httpGet(base + "/metrics")
		if code != http.StatusOK {
			t.Fatalf("GET /metrics = %d: %s", code, body)
		}
		scraped = seriesNames(body)
		if len(missing(want, scraped)) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, name := range missing(want, scraped) {
		t.Errorf("%s is listed in %s but not in the scrape of /metrics", name, metricsList)
	}

	cancel()
	stopped = true
	if err := <-done; err != nil {
		m.Close()
		t.Fatal(err)
	}
	// What Close does first, alone, so the metrics handler can still be
	// read before Close shuts telemetry down.
	m.RevokeToken()
	rec := httptest.NewRecorder()
	m.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	final := seriesNames(rec.Body.String())
	for _, name := range missing(atShutdown, final) {
		t.Errorf("%s is listed in %s but not in the metrics after shutdown", name, metricsList)
	}
	maps.Copy(final, scraped)
	checkListed(t, final, listed)
	if err := m.Close(); err != nil {
		t.Error(err)
	}
}

var metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// readMetricsList reads the names of path: one a line, # comments and
// blank lines skipped. A malformed or repeated name fails the test.
func readMetricsList(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case !metricName.MatchString(line):
			t.Errorf("%s:%d: %q is not a metric name", path, n, line)
		case slices.Contains(names, line):
			t.Errorf("%s:%d: %s listed twice", path, n, line)
		default:
			names = append(names, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatalf("%s lists no metric", path)
	}
	return names
}

// seriesNames returns the series names of a Prometheus text exposition.
func seriesNames(text string) map[string]bool {
	names := map[string]bool{}
	for line := range strings.Lines(text) {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names
}

func missing(want []string, got map[string]bool) []string {
	var out []string
	for _, name := range want {
		if !got[name] {
			out = append(out, name)
		}
	}
	return out
}

// checkListed fails for every tripline_ series of scraped (the live scrape
// and the one after shutdown) that listed lacks.
func checkListed(t *testing.T, scraped map[string]bool, listed []string) {
	t.Helper()
	var extra []string
	for name := range scraped {
		if strings.HasPrefix(name, "tripline_") && !slices.Contains(listed, name) {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	for _, name := range extra {
		t.Errorf("%s is exported but not listed in %s: add it (and to the dashboard and alerts if it deserves)", name, metricsList)
	}
}
