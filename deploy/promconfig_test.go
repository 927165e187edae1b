package deploy_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// promConfig is the part of a Prometheus configuration file that
// deploy/prometheus/prometheus.yml uses. loadPrometheusConfig decodes it
// strictly: a key outside it fails the check (Prometheus refuses keys it
// does not know too; one it knows but this struct does not is refused
// here until it is added, with the checks Prometheus makes of it). This
// keeps the Prometheus server's module graph (its service discovery pulls
// the AWS, Azure and Google SDKs) out of deploy/.
type promConfig struct {
	Global        promGlobal     `yaml:"global"`
	RuleFiles     []string       `yaml:"rule_files"`
	ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
}

type promGlobal struct {
	ScrapeInterval     string `yaml:"scrape_interval"`
	ScrapeTimeout      string `yaml:"scrape_timeout"`
	EvaluationInterval string `yaml:"evaluation_interval"`
}

type scrapeConfig struct {
	JobName        string         `yaml:"job_name"`
	ScrapeInterval string         `yaml:"scrape_interval"`
	ScrapeTimeout  string         `yaml:"scrape_timeout"`
	MetricsPath    string         `yaml:"metrics_path"`
	Scheme         string         `yaml:"scheme"`
	StaticConfigs  []staticConfig `yaml:"static_configs"`
}

type staticConfig struct {
	Targets []string          `yaml:"targets"`
	Labels  map[string]string `yaml:"labels"`
}

// Prometheus's defaults for the global intervals (config.DefaultGlobalConfig).
const (
	defaultScrapeInterval = model.Duration(60e9)
	defaultScrapeTimeout  = model.Duration(10e9)
)

// rulePathPattern is the pattern Prometheus requires of a rule_files entry:
// a glob only in its last path element (config.patRulePath).
var rulePathPattern = regexp.MustCompile(`^[^*]*(\*[^/]*)?$`)

// loadPrometheusConfig decodes b and checks it the way config.LoadFile
// checks these keys: unknown keys, durations in Prometheus's syntax, a
// scrape timeout no longer than its interval (globally and per job, with
// Prometheus's defaults and inheritance), rule file paths, a non-empty and
// unique job_name, the scheme, and static targets that are host:port
// addresses (Prometheus refuses URLs there) with valid label names and values.
func loadPrometheusConfig(b []byte) (*promConfig, error) {
	var c promConfig
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	var errs []error
	interval, err := duration("global scrape_interval", c.Global.ScrapeInterval, defaultScrapeInterval)
	errs = append(errs, err)
	timeout, err := duration("global scrape_timeout", c.Global.ScrapeTimeout, 0)
	errs = append(errs, err)
	_, err = duration("global evaluation_interval", c.Global.EvaluationInterval, 0)
	errs = append(errs, err)
	if timeout > interval {
		errs = append(errs, errors.New("global scrape timeout greater than scrape interval"))
	}
	if timeout == 0 {
		timeout = min(defaultScrapeTimeout, interval)
	}
	for _, rf := range c.RuleFiles {
		if !rulePathPattern.MatchString(rf) {
			errs = append(errs, fmt.Errorf("invalid rule file path %q", rf))
		}
	}
	jobs := map[string]bool{}
	for _, sc := range c.ScrapeConfigs {
		errs = append(errs, sc.check(interval, timeout))
		if jobs[sc.JobName] {
			errs = append(errs, fmt.Errorf("found multiple scrape configs with job name %q", sc.JobName))
		}
		jobs[sc.JobName] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &c, nil
}

// check checks one scrape config; interval and timeout are the global ones
// it inherits.
func (sc scrapeConfig) check(interval, timeout model.Duration) error {
	if sc.JobName == "" {
		return errors.New("job_name is empty")
	}
	var errs []error
	jobInterval, err := duration("job "+sc.JobName+" scrape_interval", sc.ScrapeInterval, interval)
	errs = append(errs, err)
	jobTimeout, err := duration("job "+sc.JobName+" scrape_timeout", sc.ScrapeTimeout, 0)
	errs = append(errs, err)
	if jobTimeout > jobInterval {
		errs = append(errs, fmt.Errorf("scrape timeout greater than scrape interval for scrape config with job name %q", sc.JobName))
	}
	if sc.Scheme != "" && sc.Scheme != "http" && sc.Scheme != "https" {
		errs = append(errs, fmt.Errorf("job %s: scheme %q, want http or https", sc.JobName, sc.Scheme))
	}
	if sc.MetricsPath != "" && !strings.HasPrefix(sc.MetricsPath, "/") {
		errs = append(errs, fmt.Errorf("job %s: metrics_path %q does not start with /", sc.JobName, sc.MetricsPath))
	}
	if len(sc.StaticConfigs) == 0 {
		errs = append(errs, fmt.Errorf("job %s: no static_configs, so no target", sc.JobName))
	}
	for _, st := range sc.StaticConfigs {
		if len(st.Targets) == 0 {
			errs = append(errs, fmt.Errorf("job %s: a static config with no target", sc.JobName))
		}
		for _, target := range st.Targets {
			errs = append(errs, checkTarget(sc.JobName, target))
		}
		for name, value := range st.Labels {
			if !model.UTF8Validation.IsValidLabelName(name) {
				errs = append(errs, fmt.Errorf("job %s: %q is not a valid label name", sc.JobName, name))
			}
			if !model.LabelValue(value).IsValid() {
				errs = append(errs, fmt.Errorf("job %s: %q is not a valid label value", sc.JobName, value))
			}
		}
	}
	return errors.Join(errs...)
}

// checkTarget refuses what Prometheus refuses in a static target (a URL,
// config.CheckTargetAddress) and, since a target without a port would be
// scraped on the scheme's default port rather than the consumer's, anything
// but host:port with a numeric port.
func checkTarget(job, target string) error {
	if strings.Contains(target, "/") {
		return fmt.Errorf("job %s: %q is not a valid hostname", job, target)
	}
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return fmt.Errorf("job %s: target %q: %w", job, target, err)
	}
	if n, err := strconv.Atoi(port); host == "" || err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("job %s: target %q is not host:port", job, target)
	}
	return nil
}

// duration parses s in Prometheus's duration syntax; an empty s is def.
// Prometheus refuses a negative duration and ignores a zero one (the
// default applies), and so does duration.
func duration(what, s string, def model.Duration) (model.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := model.ParseDuration(s)
	if err != nil {
		return def, fmt.Errorf("%s: %w", what, err)
	}
	if d == 0 {
		return def, nil
	}
	return d, nil
}

// TestLoadPrometheusConfigRefuses checks that loadPrometheusConfig refuses
// what Prometheus's config.LoadFile refuses in the keys prometheus.yml uses,
// and accepts what it accepts.
func TestLoadPrometheusConfigRefuses(t *testing.T) {
	t.Parallel()
	const good = `
global:
  scrape_interval: 15s
  evaluation_interval: 15s
rule_files:
  - /etc/prometheus/alerts.yaml
  - /etc/prometheus/rules/*.yaml
scrape_configs:
  - job_name: tripline
    static_configs:
      - targets: ["opsim:8080", "[::1]:8080"]
        labels: {env: dev}
`
	// A job's interval below the global timeout: Prometheus caps the
	// inherited timeout at the interval and accepts it.
	const inherited = "global:\n  scrape_timeout: 10s\nscrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    static_configs:\n      - targets: [\"a:1\"]\n"
	for _, doc := range []string{good, inherited} {
		if _, err := loadPrometheusConfig([]byte(doc)); err != nil {
			t.Errorf("a valid configuration refused: %v\n%s", err, doc)
		}
	}
	for name, doc := range map[string]string{
		"unknown top-level key": "scrape_config:\n  - job_name: a\n",
		"unknown global key":    "global:\n  scrape_intervall: 15s\n",
		"unknown job key":       "scrape_configs:\n  - job_name: a\n    static_config:\n      - targets: [\"a:1\"]\n",
		"bad duration":          "global:\n  scrape_interval: 15\n",
		"fractional duration":   "global:\n  evaluation_interval: 1.5m\n",
		"global timeout":        "global:\n  scrape_interval: 5s\n  scrape_timeout: 10s\n",
		"job timeout":           "scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n    static_configs:\n      - targets: [\"a:1\"]\n",
		"rule path glob in dir": "rule_files:\n  - /etc/*/alerts.yaml\n",
		"empty job name":        "scrape_configs:\n  - static_configs:\n      - targets: [\"a:1\"]\n",
		"duplicate job":         "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [\"a:1\"]\n  - job_name: a\n    static_configs:\n      - targets: [\"b:1\"]\n",
		"url target":            "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [\"http://a:1/metrics\"]\n",
		"target without port":   "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [\"opsim\"]\n",
		"bad scheme":            "scrape_configs:\n  - job_name: a\n    scheme: ftp\n    static_configs:\n      - targets: [\"a:1\"]\n",
		"empty label name":      "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: [\"a:1\"]\n        labels: {\"\": x}\n",
		"targets not a list":    "scrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: a:1\n",
	} {
		if _, err := loadPrometheusConfig([]byte(doc)); err == nil {
			t.Errorf("%s: accepted:\n%s", name, doc)
		}
	}
}
