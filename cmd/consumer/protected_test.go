package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/rules"
)

// TestProtectedIdentitiesMustNotVanish checks the consumer's side of the
// protected-identities guard: it refuses to start without protected.yaml,
// logs and exports the number of entries (tripline_protected_entries), and
// refuses a reload that deletes the file, keeping the list and counting the
// rejection (tripline_rules_reloads_total{result="rejected"}).
func TestProtectedIdentitiesMustNotVanish(t *testing.T) {
	e := newE2E(t, "signins", opsim.Seed{})
	file := filepath.Join(e.cfg.Rules.Dir, rules.ProtectedFile)
	noEnv := func(string) (string, bool) { return "", false }

	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if m, err := app.NewMain(t.Context(), e.cfg, app.Options{Log: &syncBuffer{}, Lookup: noEnv}); !errors.Is(err, rules.ErrNoProtected) ||
		!strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "allow_empty: true") {
		if m != nil {
			m.Close()
		}
		t.Fatalf("NewMain without %s: %v; want ErrNoProtected naming the file and allow_empty", rules.ProtectedFile, err)
	}

	if err := os.WriteFile(file, []byte("emails: [breakglass@example.com]\ndomains: [admins.example.com]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	m, err := app.NewMain(t.Context(), e.cfg, app.Options{Log: logs, Lookup: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if l := logLine(t, logs, "rules loaded"); l["level"] != "INFO" || l["protected_entries"] != 2.0 {
		t.Errorf("start log line %v, want INFO with protected_entries 2", l)
	}
	if got := scrapeValue(t, m, "tripline_protected_entries", ""); got != 2 {
		t.Errorf("tripline_protected_entries = %v, want 2", got)
	}

	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if err := m.Rules().Reload(); !errors.Is(err, rules.ErrNoProtected) {
		t.Fatalf("reload after deleting %s: %v; want ErrNoProtected", file, err)
	}
	if entry, ok := m.Rules().Current().Protected().Match("", "root@admins.example.com"); !ok {
		t.Error("root@admins.example.com is no longer protected after the rejected reload")
	} else if entry != "domain admins.example.com" {
		t.Errorf("root@admins.example.com protected by %q", entry)
	}
	if l := logLine(t, logs, "rules reload rejected, keeping the current rules"); l["level"] != "ERROR" ||
		!strings.Contains(l["error"].(string), "no protected identities") || l["protected_entries"] != 2.0 {
		t.Errorf("rejection log line %v, want ERROR naming the reason, with protected_entries 2", l)
	}
	if got := scrapeValue(t, m, "tripline_protected_entries", ""); got != 2 {
		t.Errorf("tripline_protected_entries after the rejected reload = %v, want 2", got)
	}
	if got := scrapeValue(t, m, "tripline_rules_reloads_total", `result="rejected"`); got != 1 {
		t.Errorf(`tripline_rules_reloads_total{result="rejected"} = %v, want 1`, got)
	}
}

// logLine returns the last JSON log line of logs whose msg is msg; it fails
// the test if there is none.
func logLine(t *testing.T, logs *syncBuffer, msg string) map[string]any {
	t.Helper()
	var found map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l map[string]any
		if json.Unmarshal(sc.Bytes(), &l) == nil && l["msg"] == msg {
			found = l
		}
	}
	if found == nil {
		t.Fatalf("no log line %q in:\n%s", msg, logs.String())
	}
	return found
}

// scrapeValue reads Main's metrics as Prometheus would and returns the
// value of the series name whose labels contain label ("" for any); it
// fails the test if there is no such series.
func scrapeValue(t *testing.T, m *app.Main, name, label string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		line = strings.TrimSpace(line)
		i := strings.LastIndexByte(line, ' ') // no timestamps: the value is last
		if i < 0 || strings.HasPrefix(line, "#") {
			continue
		}
		series, value := line[:i], line[i+1:]
		if (series != name && !strings.HasPrefix(series, name+"{")) || !strings.Contains(series, label) {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return v
	}
	t.Fatalf("no series %s{%s} in the metrics:\n%s", name, label, rec.Body.String())
	return 0
}
