package helm_test

import (
	"encoding/base64"
	"maps"
	"os"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// allOn turns every option on: a Secret from values with every key, rules
// from values with a corpus under testdata/, Kafka TLS, a PDB, KEDA, a
// ServiceMonitor, a PrometheusRule, the dashboard and a NetworkPolicy.
const allOn = `
config:
  TRIPLINE_KAFKA_BROKERS: "kafka-0.kafka:9093,kafka-1.kafka:9093"
  TRIPLINE_KAFKA_TOPICS: "siem.signins,okta.events=okta"
  TRIPLINE_KAFKA_GROUP_ID: tripline-prod
  TRIPLINE_OP_ACCOUNT_ID: ABCDEFGHIJKLMNOPQRSTUVWXYZ
  TRIPLINE_OP_CLIENT_ID: tripline
  TRIPLINE_DRY_RUN: "false"
secret:
  data:
    op-client-secret: test-op-client-secret-value
    dlq-signing-key: test-dlq-signing-key-value
    dlq-signing-key-previous: test-dlq-signing-key-previous-value
    kafka-sasl-password: test-kafka-sasl-password-value
    slack-bot-token: test-slack-bot-token-value
    slack-signing-secret: test-slack-signing-secret-value
    slack-webhook-url: https://hooks.slack.example/test-slack-webhook-url-value
    notify-webhook-url: https://hooks.example/test-notify-webhook-url-value
    notify-webhook-secret: test-notify-webhook-secret-value
    pagerduty-routing-key: test-pagerduty-routing-key-value
    notify-email-hash-key: test-notify-email-hash-key-value
kafkaTLS:
  existingSecret: kafka-client-tls
  clientCertificate: true
rules:
  files:
    protected.yaml: |
      emails: [breakglass@example.com]
    signin.yaml: |
      rules:
        - id: signin
          severity: low
          action: none
          when: 'true'
    testdata/benign/okta-ordinary.json: |
      {"eventType": "user.session.start"}
    testdata/okta-risky.json: |
      {"eventType": "user.session.start"}
  extraSources:
    - configMap:
        name: more-benign
        items:
          - {key: gws.json, path: testdata/benign/gws.json}
podDisruptionBudget:
  enabled: true
keda:
  enabled: true
  partitions: 6
  minReplicaCount: 2
  maxReplicaCount: 6
  lagThreshold: 50
  authenticationRef: kafka-trigger-auth
  extraMetadata:
    sasl: scram_sha512
    tls: enable
serviceMonitor:
  enabled: true
  labels:
    release: kube-prometheus-stack
prometheusRule:
  enabled: true
  labels:
    release: kube-prometheus-stack
grafanaDashboard:
  enabled: true
  annotations:
    grafana_folder: Security
networkPolicy:
  enabled: true
  namespaceSelector:
    matchLabels:
      kubernetes.io/metadata.name: monitoring
  podSelector:
    matchLabels:
      app.kubernetes.io/name: prometheus
`

// secretTable is every secret of tripline, by the chart's Secret key, with
// the variable that carries its file's path. TestSecretTableMatchesREADME
// checks it against the README's configuration table.
var secretTable = map[string]string{
	"op-client-secret":         "TRIPLINE_OP_CLIENT_SECRET_FILE",
	"dlq-signing-key":          "TRIPLINE_DLQ_SIGNING_KEY_FILE",
	"dlq-signing-key-previous": "TRIPLINE_DLQ_SIGNING_KEY_PREVIOUS_FILE",
	"kafka-sasl-password":      "TRIPLINE_KAFKA_SASL_PASSWORD_FILE",
	"slack-bot-token":          "TRIPLINE_SLACK_BOT_TOKEN_FILE",
	"slack-signing-secret":     "TRIPLINE_SLACK_SIGNING_SECRET_FILE",
	"slack-webhook-url":        "TRIPLINE_SLACK_WEBHOOK_URL_FILE",
	"notify-webhook-url":       "TRIPLINE_NOTIFY_WEBHOOK_URL_FILE",
	"notify-webhook-secret":    "TRIPLINE_NOTIFY_WEBHOOK_SECRET_FILE",
	"pagerduty-routing-key":    "TRIPLINE_PAGERDUTY_ROUTING_KEY_FILE",
	"notify-email-hash-key":    "TRIPLINE_NOTIFY_EMAIL_HASH_KEY_FILE",
}

// TestAllOptions renders the chart with every option on and checks each
// object.
func TestAllOptions(t *testing.T) {
	t.Parallel()
	r := render(t, values(t, allOn))
	r.decodeAll(t)
	want := []string{
		"ConfigMap/" + fullname + "-dashboard",
		"ConfigMap/" + fullname + "-rules",
		"ConfigMap/" + fullname + "-rules-testdata",
		"Deployment/" + fullname,
		"NetworkPolicy/" + fullname,
		"PodDisruptionBudget/" + fullname,
		"PrometheusRule/" + fullname,
		"ScaledObject/" + fullname,
		"Secret/" + fullname + "-secret",
		"Service/" + fullname,
		"ServiceAccount/" + fullname,
		"ServiceMonitor/" + fullname,
	}
	if got := r.keys(); !slices.Equal(got, want) {
		t.Errorf("rendered %v\nwant %v", got, want)
	}
	checkPod(t, r)
	d, c := r.deployment(t)
	if d.Spec.Replicas != nil {
		t.Errorf("replicas = %d with KEDA: the ScaledObject owns the count, and every upgrade would reset it", *d.Spec.Replicas)
	}
	if len(r.notes) == 0 || containsAny(r.notes, "WARNING", "DRY RUN", "EXAMPLE") {
		t.Errorf("NOTES warn about a complete configuration:\n%s", r.notes)
	}

	t.Run("kafka TLS", func(t *testing.T) {
		e := env(t, c)
		wantEnv := map[string]string{
			"TRIPLINE_KAFKA_TLS_ENABLED":   "true",
			"TRIPLINE_KAFKA_TLS_CA_FILE":   "/etc/tripline/kafka-tls/ca.crt",
			"TRIPLINE_KAFKA_TLS_CERT_FILE": "/etc/tripline/kafka-tls/tls.crt",
			"TRIPLINE_KAFKA_TLS_KEY_FILE":  "/etc/tripline/kafka-tls/tls.key",
		}
		for k, v := range wantEnv {
			if e[k] != v {
				t.Errorf("%s = %q, want %q", k, e[k], v)
			}
		}
		v := volumes(d)["kafka-tls"]
		if v.Secret == nil || v.Secret.SecretName != "kafka-client-tls" || len(v.Secret.Items) != 3 {
			t.Errorf("kafka-tls volume = %+v", v)
		}
		if m := mounts(c)["kafka-tls"]; m.MountPath != "/etc/tripline/kafka-tls" {
			t.Errorf("kafka-tls mount = %+v", m)
		}
	})

	t.Run("PDB", func(t *testing.T) {
		var pdb policyv1.PodDisruptionBudget
		r.decode(t, "PodDisruptionBudget/"+fullname, &pdb)
		if pdb.Spec.MaxUnavailable == nil || *pdb.Spec.MaxUnavailable != intstr.FromInt32(1) || pdb.Spec.MinAvailable != nil {
			t.Errorf("PDB spec = %+v, want maxUnavailable 1", pdb.Spec)
		}
		if !maps.Equal(pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels) {
			t.Errorf("PDB selects %v, the Deployment %v", pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels)
		}
	})

	t.Run("KEDA", func(t *testing.T) {
		var so scaledObject
		r.decode(t, "ScaledObject/"+fullname, &so)
		s := so.Spec
		if s.ScaleTargetRef.Name != d.Name || s.ScaleTargetRef.Kind != "Deployment" {
			t.Errorf("scaleTargetRef = %+v", s.ScaleTargetRef)
		}
		if s.MinReplicaCount == nil || *s.MinReplicaCount != 2 || s.MaxReplicaCount == nil || *s.MaxReplicaCount != 6 {
			t.Errorf("replicas %v..%v, want 2..6", s.MinReplicaCount, s.MaxReplicaCount)
		}
		var topics []string
		for _, tr := range s.Triggers {
			want := map[string]string{
				"bootstrapServers": "kafka-0.kafka:9093,kafka-1.kafka:9093", "consumerGroup": "tripline-prod",
				"lagThreshold": "50", "allowIdleConsumers": "false", "sasl": "scram_sha512", "tls": "enable",
			}
			for k, v := range want {
				if tr.Metadata[k] != v {
					t.Errorf("trigger %s = %q, want %q", k, tr.Metadata[k], v)
				}
			}
			if tr.Type != "kafka" || tr.AuthenticationRef == nil || tr.AuthenticationRef.Name != "kafka-trigger-auth" {
				t.Errorf("trigger %+v", tr)
			}
			topics = append(topics, tr.Metadata["topic"])
		}
		if !slices.Equal(topics, []string{"siem.signins", "okta.events"}) {
			t.Errorf("trigger topics %v, want the source topics without their format", topics)
		}
	})

	t.Run("ServiceMonitor", func(t *testing.T) {
		var sm serviceMonitor
		r.decode(t, "ServiceMonitor/"+fullname, &sm)
		if sm.Metadata.Labels["release"] != "kube-prometheus-stack" {
			t.Errorf("labels %v", sm.Metadata.Labels)
		}
		var svc corev1.Service
		r.decode(t, "Service/"+fullname, &svc)
		for k, v := range sm.Spec.Selector.MatchLabels {
			if svc.Labels[k] != v {
				t.Errorf("ServiceMonitor selects %s=%s, the Service has %v", k, v, svc.Labels)
			}
		}
		if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" || sm.Spec.Endpoints[0].Path != "/metrics" {
			t.Errorf("endpoints %+v", sm.Spec.Endpoints)
		}
		if !slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{namespace}) {
			t.Errorf("namespaceSelector %v", sm.Spec.NamespaceSelector)
		}
	})

	t.Run("PrometheusRule", func(t *testing.T) {
		var pr prometheusRule
		r.decode(t, "PrometheusRule/"+fullname, &pr)
		if pr.Metadata.Labels["release"] != "kube-prometheus-stack" {
			t.Errorf("labels %v", pr.Metadata.Labels)
		}
		src, err := os.ReadFile("../prometheus/alerts.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var alerts struct {
			Groups []ruleGroup `json:"groups"`
		}
		if err := strictDecode(src, &alerts); err != nil {
			t.Fatal(err)
		}
		got, _ := yaml.Marshal(pr.Spec.Groups)
		wantY, _ := yaml.Marshal(alerts.Groups)
		if string(got) != string(wantY) || len(alerts.Groups) == 0 {
			t.Errorf("PrometheusRule groups differ from deploy/prometheus/alerts.yaml's:\n%s\nwant\n%s", got, wantY)
		}
	})

	t.Run("dashboard", func(t *testing.T) {
		var cm corev1.ConfigMap
		r.decode(t, "ConfigMap/"+fullname+"-dashboard", &cm)
		if cm.Labels["grafana_dashboard"] != "1" || cm.Annotations["grafana_folder"] != "Security" {
			t.Errorf("labels %v, annotations %v", cm.Labels, cm.Annotations)
		}
		src, err := os.ReadFile("../grafana/tripline.json")
		if err != nil {
			t.Fatal(err)
		}
		if len(cm.Data) != 1 || cm.Data["tripline.json"] != string(src) {
			t.Errorf("dashboard ConfigMap data differs from deploy/grafana/tripline.json (keys %v)", slices.Collect(maps.Keys(cm.Data)))
		}
	})

	t.Run("NetworkPolicy", func(t *testing.T) {
		var np networkingv1.NetworkPolicy
		r.decode(t, "NetworkPolicy/"+fullname, &np)
		if !maps.Equal(np.Spec.PodSelector.MatchLabels, d.Spec.Selector.MatchLabels) {
			t.Errorf("applies to %v", np.Spec.PodSelector.MatchLabels)
		}
		if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) || len(np.Spec.Ingress) != 1 {
			t.Fatalf("spec %+v", np.Spec)
		}
		in := np.Spec.Ingress[0]
		if len(in.Ports) != 1 || in.Ports[0].Port == nil || *in.Ports[0].Port != intstr.FromString("metrics") {
			t.Errorf("ports %+v, want the metrics port only", in.Ports)
		}
		if len(in.From) != 1 || in.From[0].NamespaceSelector == nil || in.From[0].PodSelector == nil ||
			in.From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "monitoring" ||
			in.From[0].PodSelector.MatchLabels["app.kubernetes.io/name"] != "prometheus" {
			t.Errorf("from %+v, want Prometheus' pods in monitoring (one peer, both selectors)", in.From)
		}
	})
}

// TestRulesVolume checks the rules directory built from rules.files: the
// top-level files in one ConfigMap, testdata/ in another whose keys the
// projected volume maps back to their paths, the extra sources after them,
// all mounted as a directory.
func TestRulesVolume(t *testing.T) {
	t.Parallel()
	r := render(t, values(t, allOn))
	var top, nested corev1.ConfigMap
	r.decode(t, "ConfigMap/"+fullname+"-rules", &top)
	r.decode(t, "ConfigMap/"+fullname+"-rules-testdata", &nested)
	if got := slices.Sorted(maps.Keys(top.Data)); !slices.Equal(got, []string{"protected.yaml", "signin.yaml"}) {
		t.Errorf("rules ConfigMap keys %v", got)
	}
	if top.Data["protected.yaml"] != "emails: [breakglass@example.com]\n" {
		t.Errorf("protected.yaml = %q", top.Data["protected.yaml"])
	}
	if got := slices.Sorted(maps.Keys(nested.Data)); !slices.Equal(got, []string{"testdata__benign__okta-ordinary.json", "testdata__okta-risky.json"}) {
		t.Errorf("testdata ConfigMap keys %v", got)
	}
	d, c := r.deployment(t)
	v := volumes(d)["rules"]
	if v.Projected == nil || len(v.Projected.Sources) != 3 {
		t.Fatalf("rules volume = %+v, want a projected volume of three sources", v)
	}
	s := v.Projected.Sources
	if s[0].ConfigMap == nil || s[0].ConfigMap.Name != fullname+"-rules" || len(s[0].ConfigMap.Items) != 0 {
		t.Errorf("first source %+v: want the whole rules ConfigMap (so a new rule file needs no new item)", s[0])
	}
	wantItems := []corev1.KeyToPath{
		{Key: "testdata__benign__okta-ordinary.json", Path: "testdata/benign/okta-ordinary.json"},
		{Key: "testdata__okta-risky.json", Path: "testdata/okta-risky.json"},
	}
	if s[1].ConfigMap == nil || s[1].ConfigMap.Name != fullname+"-rules-testdata" || !slices.Equal(s[1].ConfigMap.Items, wantItems) {
		t.Errorf("second source %+v, want items %v", s[1], wantItems)
	}
	if s[2].ConfigMap == nil || s[2].ConfigMap.Name != "more-benign" {
		t.Errorf("third source %+v, want rules.extraSources", s[2])
	}
	if m := mounts(c)["rules"]; m.MountPath != "/etc/tripline/rules" || !m.ReadOnly || m.SubPath != "" {
		t.Errorf("rules mount %+v", m)
	}

	// An existing ConfigMap replaces the chart's.
	r = render(t, values(t, "rules:\n  existingConfigMap: my-rules\n"))
	if _, ok := r.docs["ConfigMap/"+fullname+"-rules"]; ok {
		t.Error("the chart created a rules ConfigMap next to rules.existingConfigMap")
	}
	d, _ = r.deployment(t)
	v = volumes(d)["rules"]
	if v.Projected == nil || len(v.Projected.Sources) != 1 || v.Projected.Sources[0].ConfigMap.Name != "my-rules" {
		t.Errorf("rules volume %+v, want my-rules", v)
	}
}

// TestSecretsAsFiles checks that every secret reaches the pod as a file
// from the Secret, passed as its *_FILE variable, and never as an
// environment value: with the Secret the chart creates and with an
// existing one.
func TestSecretsAsFiles(t *testing.T) {
	t.Parallel()
	allKeys := slices.Sorted(maps.Keys(secretTable))
	existing := "secret:\n  existingSecret: tripline-credentials\n  existingSecretKeys: [" + joinComma(allKeys) + "]\n"
	for name, tc := range map[string]struct {
		vals       string
		secretName string
	}{
		"chart's Secret":  {allOn, fullname + "-secret"},
		"existing Secret": {existing, "tripline-credentials"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			vals := values(t, tc.vals)
			r := render(t, vals)
			d, c := r.deployment(t)
			e := env(t, c)
			for key, fileVar := range secretTable {
				if got, want := e[fileVar], "/etc/tripline/secrets/"+key; got != want {
					t.Errorf("%s = %q, want %q", fileVar, got, want)
				}
				base := fileVar[:len(fileVar)-len("_FILE")]
				if _, ok := e[base]; ok {
					t.Errorf("%s is in the environment", base)
				}
			}
			v := volumes(d)["secrets"]
			if v.Secret == nil || v.Secret.SecretName != tc.secretName {
				t.Fatalf("secrets volume %+v, want Secret %s", v, tc.secretName)
			}
			if v.Secret.DefaultMode == nil || *v.Secret.DefaultMode != 0o440 {
				t.Errorf("secret files mode %v, want 0440", v.Secret.DefaultMode)
			}
			var items []string
			for _, it := range v.Secret.Items {
				if it.Key != it.Path {
					t.Errorf("item %+v", it)
				}
				items = append(items, it.Key)
			}
			if !slices.Equal(items, allKeys) {
				t.Errorf("secret items %v, want %v", items, allKeys)
			}
			if m := mounts(c)["secrets"]; m.MountPath != "/etc/tripline/secrets" || !m.ReadOnly {
				t.Errorf("secrets mount %+v", m)
			}
			_, created := r.docs["Secret/"+fullname+"-secret"]
			if created != (tc.secretName == fullname+"-secret") {
				t.Errorf("chart's Secret rendered: %t", created)
			}
			if !created {
				return
			}
			var sec corev1.Secret
			r.decode(t, "Secret/"+fullname+"-secret", &sec)
			data := vals["secret"].(map[string]any)["data"].(map[string]any)
			for key := range secretTable {
				if string(sec.Data[key]) != data[key] {
					t.Errorf("Secret %s = %q, want %q", key, sec.Data[key], data[key])
				}
				// No secret value anywhere but in the Secret.
				for doc, text := range r.docs {
					if doc == "Secret/"+fullname+"-secret" {
						continue
					}
					if containsAny(string(text), data[key].(string), base64.StdEncoding.EncodeToString([]byte(data[key].(string)))) {
						t.Errorf("the value of %s appears in %s", key, doc)
					}
				}
			}
		})
	}
}

// TestSecretsOnlyThoseGiven checks that only the keys given are mounted
// and passed: a *_FILE variable for a file that is not there would stop
// the consumer.
func TestSecretsOnlyThoseGiven(t *testing.T) {
	t.Parallel()
	r := render(t, values(t, "secret:\n  data:\n    op-client-secret: s3cret-value-for-test\n    slack-bot-token: \"\"\n"))
	d, c := r.deployment(t)
	e := env(t, c)
	for key, fileVar := range secretTable {
		if _, ok := e[fileVar]; ok != (key == "op-client-secret") {
			t.Errorf("%s passed: %t", fileVar, ok)
		}
	}
	if it := volumes(d)["secrets"].Secret.Items; len(it) != 1 || it[0].Key != "op-client-secret" {
		t.Errorf("items %v", it)
	}
	var sec corev1.Secret
	r.decode(t, "Secret/"+fullname+"-secret", &sec)
	if len(sec.Data) != 1 {
		t.Errorf("Secret keys %v, want op-client-secret only", slices.Collect(maps.Keys(sec.Data)))
	}
}
