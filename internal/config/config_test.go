package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mapLookup(m map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func validEnv() map[string]string {
	return map[string]string{
		"TRIPLINE_KAFKA_TOPICS":         "signins,okta.events=okta",
		"TRIPLINE_OP_ACCOUNT_ID":        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		"TRIPLINE_OP_CLIENT_ID":         "client",
		"TRIPLINE_OP_CLIENT_SECRET":     "s3cret-value",
		"TRIPLINE_KAFKA_BROKERS":        "k1:9092, k2:9092",
		"TRIPLINE_KAFKA_COMMIT_BATCH":   "50",
		"TRIPLINE_RETRY_MAX_ELAPSED":    "5s",
		"TRIPLINE_DRY_RUN":              "true",
		"TRIPLINE_KAFKA_SASL_MECHANISM": "scram-sha-512",
		"TRIPLINE_KAFKA_SASL_USERNAME":  "u",
		"TRIPLINE_KAFKA_SASL_PASSWORD":  "sasl-pass-value",
	}
}

func TestLoadFromEnv(t *testing.T) {
	t.Parallel()
	cfg, err := Load("", mapLookup(validEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Kafka.Brokers, "|"); got != "k1:9092|k2:9092" {
		t.Errorf("brokers = %q", got)
	}
	specs := cfg.TopicSpecs()
	if len(specs) != 2 || specs[1] != (TopicSpec{Name: "okta.events", Format: "okta"}) {
		t.Errorf("topic specs = %+v", specs)
	}
	if cfg.Kafka.CommitBatch != 50 || cfg.Retry.MaxElapsed != 5*time.Second || !cfg.DryRun {
		t.Errorf("overrides not applied: %+v", cfg)
	}
}

func TestFileThenEnvOverride(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "tripline.yaml")
	secretPath := filepath.Join(dir, "secret")
	os.WriteFile(secretPath, []byte("from-file\n"), 0o600)
	yaml := fmt.Sprintf("kafka:\n  group_id: from-file\n  topics: [a]\nonepassword:\n  account_id: ABCDEFGHIJKLMNOPQRSTUVWXYZ\n  client_id: c\n  client_secret_file: %s\n", secretPath)
	os.WriteFile(path, []byte(yaml), 0o600)
	cfg, err := Load(path, mapLookup(map[string]string{"TRIPLINE_KAFKA_GROUP_ID": "from-env"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Kafka.GroupID != "from-env" || cfg.OnePassword.ClientSecret.Reveal() != "from-file" {
		t.Errorf("group %q secret ok=%v", cfg.Kafka.GroupID, cfg.OnePassword.ClientSecret.Reveal() == "from-file")
	}
}

func TestUnknownFileKeyRefused(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("kafka:\n  brokerz: [x]\n"), 0o600)
	_, err := Load(path, mapLookup(nil))
	if err == nil || !strings.Contains(err.Error(), "brokerz") {
		t.Fatalf("want an error naming the unknown key, got %v", err)
	}
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"TRIPLINE_KAFKA_BROKERS":        "no-port",
		"TRIPLINE_KAFKA_DLQ_TOPIC":      "signins",
		"TRIPLINE_KAFKA_TOPICS":         "signins",
		"TRIPLINE_OP_API_VERSION":       "v2",
		"TRIPLINE_KAFKA_SASL_MECHANISM": "gssapi",
		"TRIPLINE_LOG_LEVEL":            "loud",
		"TRIPLINE_KAFKA_COMMIT_BATCH":   "lots",
	}
	_, err := Load("", mapLookup(env))
	if err == nil {
		t.Fatal("want errors")
	}
	// The parse error comes first and stops validation of a half-set config.
	if !strings.Contains(err.Error(), "TRIPLINE_KAFKA_COMMIT_BATCH") {
		t.Errorf("parse error not reported: %v", err)
	}
	delete(env, "TRIPLINE_KAFKA_COMMIT_BATCH")
	_, err = Load("", mapLookup(env))
	for _, want := range []string{"kafka.brokers", "kafka.dlq_topic", "onepassword.api_version", "kafka.sasl.mechanism", "log.level", "onepassword.account_id", "onepassword.client_secret", "TRIPLINE_OP_ACCOUNT_ID"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	t.Parallel()
	cfg, err := Load("", mapLookup(validEnv()))
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "%v %+v %#v %s", cfg, cfg, cfg, cfg.OnePassword.ClientSecret)
	j, _ := json.Marshal(cfg)
	sb.Write(j)
	slog.New(slog.NewJSONHandler(&sb, nil)).Info("config", "config", cfg, "secret", cfg.Kafka.SASL.Password)
	for _, secret := range []string{"s3cret-value", "sasl-pass-value"} {
		if strings.Contains(sb.String(), secret) {
			t.Errorf("secret %q printed: %s", secret, sb.String())
		}
	}
	if !strings.Contains(sb.String(), "[redacted]") {
		t.Error("redacted marker missing")
	}
}

func TestEnvDefaultValues(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"TRIPLINE_KAFKA_BROKERS":         "127.0.0.1:9092",
		"TRIPLINE_KAFKA_COMMIT_INTERVAL": "1s",
		"TRIPLINE_KAFKA_COMMIT_BATCH":    "1000",
		"TRIPLINE_DRY_RUN":               "false",
		"TRIPLINE_OP_API_VERSION":        "v1beta1",
		"TRIPLINE_OP_CLIENT_SECRET":      "",
		"TRIPLINE_RETRY_MAX_ELAPSED":     "1m0s",
	}
	for _, v := range Env() {
		if w, ok := want[v.Name]; ok && v.DefaultValue() != w {
			t.Errorf("%s default = %q, want %q", v.Name, v.DefaultValue(), w)
		}
	}
}

// TestExampleConfigLoads keeps deploy/tripline.example.yaml valid.
func TestExampleConfigLoads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	kafkaPass := filepath.Join(dir, "kafka-password")
	opSecret := filepath.Join(dir, "op-secret")
	os.WriteFile(kafkaPass, []byte("pw"), 0o600)
	os.WriteFile(opSecret, []byte("secret"), 0o600)
	cfg, err := Load("../../deploy/tripline.example.yaml", mapLookup(map[string]string{
		"TRIPLINE_KAFKA_SASL_PASSWORD_FILE": kafkaPass,
		"TRIPLINE_OP_CLIENT_SECRET_FILE":    opSecret,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.DryRun || cfg.Kafka.SASL.Mechanism != "scram-sha-512" || len(cfg.TopicSpecs()) != 2 || cfg.TopicSpecs()[1].Format != "okta" {
		t.Errorf("example config = %+v", cfg)
	}
}

func TestBreakerGlobal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in     string
		count  int
		window time.Duration
		bad    bool
	}{
		{"20/10m", 20, 10 * time.Minute, false},
		{" 5 / 1h ", 5, time.Hour, false},
		{"0", 0, 0, false},
		{"", 0, 0, true},
		{"20", 0, 0, true},
		{"0/10m", 0, 0, true},
		{"20/0s", 0, 0, true},
		{"20/200h", 0, 0, true},
		{"x/10m", 0, 0, true},
	} {
		c := Default()
		c.Breaker.Global = tc.in
		n, w, err := c.BreakerGlobal()
		if (err != nil) != tc.bad || n != tc.count || w != tc.window {
			t.Errorf("BreakerGlobal(%q) = %d, %s, %v", tc.in, n, w, err)
		}
	}
	c := Default()
	c.Breaker.Global = "lots"
	c.Kafka.StateTopic = c.Kafka.DLQTopic
	err := c.Validate()
	for _, key := range []string{"breaker.global (TRIPLINE_BREAKER_GLOBAL)", "kafka.state_topic (TRIPLINE_KAFKA_STATE_TOPIC)"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Validate did not report %s: %v", key, err)
		}
	}
}
