package config

import (
	"maps"
	"strings"
	"testing"
)

// TestSASLPlainNeedsTLS checks that SASL PLAIN, which sends the password in
// clear, is refused without TLS unless allow_plaintext says the network is
// trusted, and that SCRAM without TLS is accepted.
func TestSASLPlainNeedsTLS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		refused bool
	}{
		{"plain without TLS", map[string]string{"TRIPLINE_KAFKA_SASL_MECHANISM": "plain"}, true},
		{"plain without TLS, allow_plaintext false", map[string]string{"TRIPLINE_KAFKA_SASL_MECHANISM": "plain", "TRIPLINE_KAFKA_SASL_ALLOW_PLAINTEXT": "false"}, true},
		{"plain without TLS, allow_plaintext", map[string]string{"TRIPLINE_KAFKA_SASL_MECHANISM": "plain", "TRIPLINE_KAFKA_SASL_ALLOW_PLAINTEXT": "true"}, false},
		{"plain with TLS", map[string]string{"TRIPLINE_KAFKA_SASL_MECHANISM": "plain", "TRIPLINE_KAFKA_TLS_ENABLED": "true"}, false},
		{"plain with a CA file (TLS on)", map[string]string{"TRIPLINE_KAFKA_SASL_MECHANISM": "plain", "TRIPLINE_KAFKA_TLS_CA_FILE": "/etc/ca.pem"}, false},
		{"scram-sha-256 without TLS", map[string]string{"TRIPLINE_KAFKA_SASL_MECHANISM": "scram-sha-256"}, false},
		{"scram-sha-512 without TLS", map[string]string{"TRIPLINE_KAFKA_SASL_MECHANISM": "scram-sha-512"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := validEnv()
			delete(env, "TRIPLINE_KAFKA_SASL_MECHANISM")
			maps.Copy(env, tt.env)
			_, err := Load("", mapLookup(env))
			if !tt.refused {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, want := range []string{
				"kafka.sasl.mechanism (TRIPLINE_KAFKA_SASL_MECHANISM)", "in clear",
				"TRIPLINE_KAFKA_TLS_ENABLED", "scram-sha-512", "kafka.sasl.allow_plaintext (TRIPLINE_KAFKA_SASL_ALLOW_PLAINTEXT=true)",
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not mention %q: %v", want, err)
				}
			}
		})
	}
	if d := (EnvVar{Key: "kafka.sasl.allow_plaintext"}).DefaultValue(); d != "false" {
		t.Errorf("kafka.sasl.allow_plaintext default = %q, want false", d)
	}
}
