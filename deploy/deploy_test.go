// Package deploy_test checks the monitoring files of deploy/: every PromQL
// expression of the Grafana dashboard and of the Prometheus alerting rules
// parses, and uses only series tripline exports (metrics.txt, itself checked
// against a scrape of the running consumer by cmd/consumer's
// TestMetricsListMatchesScrape). It is a module of its own so that the
// Prometheus packages stay out of tripline's build, and it imports only
// Prometheus's PromQL and rule-file parsers (promql/parser, model/rulefmt):
// its config package would bring the service discoveries' module graph
// (AWS, Azure and Google SDKs, client-go), so prometheus.yml is checked by
// loadPrometheusConfig instead.
package deploy_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

const (
	metricsFile   = "metrics.txt"
	alertsFile    = "prometheus/alerts.yaml"
	dashboardFile = "grafana/tripline.json"
)

var promql = parser.NewParser(parser.Options{})

// exported reads metrics.txt: one series name a line, # comments and blank
// lines skipped.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open(metricsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			names[line] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatalf("%s lists no metric", metricsFile)
	}
	return names
}

// seriesNames returns the metric names expr selects. A selector that names
// no metric, or picks names by a pattern, cannot be checked and is an
// error.
func seriesNames(expr parser.Expr) ([]string, error) {
	var names []string
	var err error
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name != labels.MetricName {
				continue
			}
			if m.Type != labels.MatchEqual {
				err = fmt.Errorf("selector %s picks metric names by a pattern", vs)
				return err
			}
			name = m.Value
		}
		if name == "" {
			err = fmt.Errorf("selector %s names no metric", vs)
			return err
		}
		names = append(names, name)
		return nil
	})
	return names, err
}

// checkExpr parses expr and checks that each series it uses is exported;
// where says which expression it is in failures.
func checkExpr(t *testing.T, where, expr string, known map[string]bool) []string {
	t.Helper()
	parsed, err := promql.ParseExpr(expr)
	if err != nil {
		t.Errorf("%s: %v\n\t%s", where, err, expr)
		return nil
	}
	names, err := seriesNames(parsed)
	if err != nil {
		t.Errorf("%s: %v", where, err)
	}
	if len(names) == 0 {
		t.Errorf("%s: uses no tripline series: %s", where, expr)
	}
	for _, n := range names {
		if !known[n] {
			t.Errorf("%s: %s is not a series tripline exports (%s)", where, n, metricsFile)
		}
	}
	return names
}

func TestAlertRules(t *testing.T) {
	t.Parallel()
	known := exported(t)
	groups, errs := rulefmt.ParseFile(alertsFile, false, model.UTF8Validation, promql, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, err := range errs {
		t.Errorf("%v", err)
	}
	if groups == nil {
		t.FailNow()
	}
	alerts := 0
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			where := fmt.Sprintf("%s: group %s: %s%s", alertsFile, g.Name, r.Alert, r.Record)
			checkExpr(t, where, r.Expr, known)
			if r.Alert == "" {
				continue
			}
			alerts++
			for _, a := range []string{"summary", "description"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("%s: no %s annotation", where, a)
				}
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", where, s)
			}
		}
	}
	if alerts == 0 {
		t.Errorf("%s holds no alert", alertsFile)
	}
}

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type variable struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Query string `json:"query"`
}

type panel struct {
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	Targets    []struct {
		RefID      string      `json:"refId"`
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // of a collapsed row
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// grafanaVars are the Grafana variables the queries may use, with what
// the test puts in their place before parsing.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")

var leftoverVar = regexp.MustCompile(`\$\{?\w+`)

// The datasource every panel and query must use: the dashboard's
// "datasource" variable of type prometheus, so the dashboard works both
// provisioned and imported.
var wantDatasource = datasource{Type: "prometheus", UID: "${datasource}"}

func TestDashboardQueries(t *testing.T) {
	t.Parallel()
	known := exported(t)
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if !slices.Contains(d.Templating.List, variable{Name: "datasource", Type: "datasource", Query: "prometheus"}) {
		t.Errorf("%s: no datasource variable of type prometheus", dashboardFile)
	}
	used := map[string]bool{}
	queries := 0
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", dashboardFile, p.Title)
			}
			if p.Datasource == nil || *p.Datasource != wantDatasource {
				t.Errorf("%s: panel %q datasource %+v, want %+v", dashboardFile, p.Title, p.Datasource, wantDatasource)
			}
			for _, q := range p.Targets {
				where := fmt.Sprintf("%s: panel %q query %s", dashboardFile, p.Title, q.RefID)
				if q.Datasource != nil && *q.Datasource != wantDatasource {
					t.Errorf("%s: datasource %+v, want %+v", where, *q.Datasource, wantDatasource)
				}
				expr := grafanaVars.Replace(q.Expr)
				if v := leftoverVar.FindString(expr); v != "" {
					t.Errorf("%s: unknown variable %s", where, v)
					continue
				}
				queries++
				for _, n := range checkExpr(t, where, expr, known) {
					used[n] = true
				}
			}
		}
	}
	walk(d.Panels)
	if queries == 0 {
		t.Fatalf("%s has no query", dashboardFile)
	}
	// Every exported family is on the dashboard, but for the one that
	// Prometheus never sees (counted at shutdown, once /metrics is gone).
	shown := map[string]bool{}
	for n := range used {
		shown[family(n, known)] = true
	}
	for n := range known {
		if f := family(n, known); !shown[f] && f != "tripline_token_revocations_total" {
			t.Errorf("%s: no panel shows %s", dashboardFile, f)
		}
	}
}

// family is the name of the histogram series is a part of (_bucket, _sum,
// _count of a histogram in known), or series itself.
func family(series string, known map[string]bool) string {
	for _, s := range []string{"_bucket", "_sum", "_count"} {
		if f, ok := strings.CutSuffix(series, s); ok && known[f+"_bucket"] {
			return f
		}
	}
	return series
}
