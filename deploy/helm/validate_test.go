package helm_test

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
)

// TestRenderRefuses checks that rendering fails, with a message that names
// the value and the fix, on values that would deploy something broken or
// unsafe.
func TestRenderRefuses(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		vals string
		want string
	}{
		"termination grace not above the shutdown grace": {
			"shutdownGraceSeconds: 30\nterminationGracePeriodSeconds: 30\n",
			"terminationGracePeriodSeconds (30) must be above shutdownGraceSeconds (30)",
		},
		"termination grace below the shutdown grace": {
			"shutdownGraceSeconds: 60\nterminationGracePeriodSeconds: 45\n",
			"set it to at least 61",
		},
		"KEDA beyond the partitions": {
			"config: {TRIPLINE_KAFKA_BROKERS: k:9092, TRIPLINE_KAFKA_TOPICS: t}\nkeda: {enabled: true, partitions: 3, maxReplicaCount: 4}\n",
			"keda.maxReplicaCount (4) exceeds keda.partitions (3)",
		},
		"KEDA without partitions": {
			"config: {TRIPLINE_KAFKA_BROKERS: k:9092, TRIPLINE_KAFKA_TOPICS: t}\nkeda: {enabled: true}\n",
			"keda.partitions: set it",
		},
		"KEDA scaling to zero": {
			"config: {TRIPLINE_KAFKA_BROKERS: k:9092, TRIPLINE_KAFKA_TOPICS: t}\nkeda: {enabled: true, partitions: 3, minReplicaCount: 0}\n",
			"keda.minReplicaCount must be at least 1",
		},
		"KEDA without topics": {
			"config: {TRIPLINE_KAFKA_BROKERS: k:9092}\nkeda: {enabled: true, partitions: 3}\n",
			"keda.topics: set them",
		},
		"KEDA without brokers": {
			"config: {TRIPLINE_KAFKA_TOPICS: t}\nkeda: {enabled: true, partitions: 3}\n",
			"keda.bootstrapServers: set it",
		},
		"a secret in config": {
			"config: {TRIPLINE_OP_CLIENT_SECRET: hunter2hunter2}\n",
			"config.TRIPLINE_OP_CLIENT_SECRET: a secret never goes in config",
		},
		"a secret file in config": {
			"config: {TRIPLINE_SLACK_BOT_TOKEN_FILE: /x}\n",
			"put it in the Secret, key slack-bot-token",
		},
		"a chart-owned setting in config": {
			"config: {TRIPLINE_HTTP_ADDR: \"127.0.0.1:9464\"}\n",
			"config.TRIPLINE_HTTP_ADDR: set by the chart",
		},
		"a number in config": {
			"config: {TRIPLINE_KAFKA_COMMIT_BATCH: 500}\n",
			"TRIPLINE_KAFKA_COMMIT_BATCH",
		},
		"not a tripline setting": {
			"config: {HTTP_PROXY: \"http://proxy:3128\"}\n",
			"HTTP_PROXY",
		},
		"an unknown secret key": {
			"secret: {data: {op-client-secrt: x}}\n",
			`unknown key "op-client-secrt"`,
		},
		"an unknown existing secret key": {
			"secret: {existingSecret: s, existingSecretKeys: [op-client-secret, sasl-password]}\n",
			`unknown key "sasl-password"`,
		},
		"rules without protected.yaml": {
			"rules: {files: {a.yaml: \"rules: []\"}}\n",
			"rules.files has no protected.yaml",
		},
		"rules in a subdirectory other than testdata": {
			"rules: {files: {protected.yaml: \"allow_empty: true\", more/a.yaml: \"rules: []\"}}\n",
			`"more/a.yaml": only testdata/ may have subdirectories`,
		},
		"a kubelet name in rules": {
			"rules: {files: {protected.yaml: \"allow_empty: true\", ..data: x}}\n",
			"belong to the kubelet",
		},
		"rules from values and a ConfigMap": {
			"rules: {existingConfigMap: r, files: {protected.yaml: \"allow_empty: true\"}}\n",
			"set files or existingConfigMap, not both",
		},
		"a NetworkPolicy open to all": {
			"networkPolicy: {enabled: true}\n",
			"networkPolicy: set namespaceSelector and/or podSelector",
		},
		"a PDB with both bounds": {
			"podDisruptionBudget: {enabled: true, maxUnavailable: 1, minAvailable: 1}\n",
			"set maxUnavailable or minAvailable, not both",
		},
		"a misspelt value": {
			"replicas: 3\n",
			"replicas",
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := renderErr(t, values(t, tc.vals))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("render error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestTerminationGrace checks the termination grace derived from the
// shutdown grace, and one set explicitly above it.
func TestTerminationGrace(t *testing.T) {
	t.Parallel()
	for vals, want := range map[string]int64{
		"shutdownGraceSeconds: 60\n":                                     75,
		"shutdownGraceSeconds: 60\nterminationGracePeriodSeconds: 61\n":  61,
		"shutdownGraceSeconds: 10\nterminationGracePeriodSeconds: 120\n": 120,
		"terminationGracePeriodSeconds: 0\nshutdownGraceSeconds: 120\n":  135,
	} {
		d, c := render(t, values(t, vals)).deployment(t)
		if got := d.Spec.Template.Spec.TerminationGracePeriodSeconds; got == nil || *got != want {
			t.Errorf("%q: terminationGracePeriodSeconds = %v, want %d", vals, got, want)
		}
		if grace := env(t, c)["TRIPLINE_SHUTDOWN_GRACE"]; !strings.HasSuffix(grace, "s") {
			t.Errorf("TRIPLINE_SHUTDOWN_GRACE = %q", grace)
		}
	}
}

// TestLint lints the chart as `helm lint --strict` would, with the default
// values and with every option on: no error and no warning.
func TestLint(t *testing.T) {
	t.Parallel()
	for name, vals := range map[string]string{"defaults": "", "all options": allOn} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := lint.All(chartDir, values(t, vals), namespace, false)
			for _, m := range l.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("lint: %s", m.Error())
				} else {
					t.Logf("lint: %s", m.Error())
				}
			}
		})
	}
}

// TestMonitoringCopies checks that the chart's copies of the alerting
// rules and the dashboard are the files deploy/'s own tests check:
// deploy/prometheus/alerts.yaml and deploy/grafana/tripline.json are the
// one source of truth (Helm reads only files inside the chart).
func TestMonitoringCopies(t *testing.T) {
	t.Parallel()
	for copyPath, src := range map[string]string{
		chartDir + "/files/alerts.yaml":   "../prometheus/alerts.yaml",
		chartDir + "/files/tripline.json": "../grafana/tripline.json",
	} {
		a, err := os.ReadFile(copyPath)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("deploy/helm/%s differs from deploy/%s: edit the latter, then copy it (cp deploy/%s deploy/helm/%s)", copyPath, src[3:], src[3:], copyPath)
		}
	}
}
