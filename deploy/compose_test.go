package deploy_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const (
	composeFile          = "../docker-compose.yml"
	prometheusConfigFile = "prometheus/prometheus.yml"
)

// composeService is the part of a docker-compose service the test reads.
type composeService struct {
	Volumes []string `yaml:"volumes"`
}

// mounts returns the container paths of s's bind mounts, keyed by host path.
func (s composeService) mounts() map[string]string {
	out := map[string]string{}
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 {
			out[parts[0]] = parts[1]
		}
	}
	return out
}

func readCompose(t *testing.T) map[string]composeService {
	t.Helper()
	b, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", composeFile, err)
	}
	return c.Services
}

// TestPrometheusConfig loads the stack's prometheus.yml (loadPrometheusConfig:
// the keys it uses, checked as Prometheus checks them) and checks that
// docker-compose.yml mounts it and every rule file it loads
// (deploy/prometheus/alerts.yaml) where it looks for them.
func TestPrometheusConfig(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(prometheusConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadPrometheusConfig(b)
	if err != nil {
		t.Fatalf("%s: %v", prometheusConfigFile, err)
	}
	if len(cfg.ScrapeConfigs) == 0 {
		t.Errorf("%s scrapes nothing", prometheusConfigFile)
	}
	prom, ok := readCompose(t)["prometheus"]
	if !ok {
		t.Fatalf("%s has no prometheus service", composeFile)
	}
	mounts := prom.mounts()
	if got := mounts["./deploy/"+prometheusConfigFile]; got != "/etc/prometheus/prometheus.yml" {
		t.Errorf("%s mounts %s at %q, want /etc/prometheus/prometheus.yml", composeFile, prometheusConfigFile, got)
	}
	if got := mounts["./deploy/"+alertsFile]; !slices.Contains(cfg.RuleFiles, got) {
		t.Errorf("%s mounts %s at %q; %s loads the rule files %v", composeFile, alertsFile, got, prometheusConfigFile, cfg.RuleFiles)
	}
}

// TestGrafanaProvisioning checks that docker-compose.yml gives Grafana the
// provisioning files and the dashboard where the dashboard provider reads.
func TestGrafanaProvisioning(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("grafana/provisioning/dashboards/tripline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var prov struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	if err := yaml.Unmarshal(b, &prov); err != nil || len(prov.Providers) != 1 {
		t.Fatalf("dashboard provider: %v (%d providers, want 1)", err, len(prov.Providers))
	}
	graf, ok := readCompose(t)["grafana"]
	if !ok {
		t.Fatalf("%s has no grafana service", composeFile)
	}
	mounts := graf.mounts()
	if got := mounts["./deploy/grafana/provisioning"]; got != "/etc/grafana/provisioning" {
		t.Errorf("%s mounts the provisioning at %q, want /etc/grafana/provisioning", composeFile, got)
	}
	if got, dir := mounts["./deploy/"+dashboardFile], prov.Providers[0].Options.Path; got != dir+"/tripline.json" {
		t.Errorf("%s mounts the dashboard at %q, outside the provider's path %s", composeFile, got, dir)
	}
}
