package onepassword_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/tripline-dev/tripline/internal/onepassword"
)

const (
	testAccount = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	testSecret  = "s3cr3t-value-never-printed"
)

func TestNewBaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		baseURL  string
		region   string
		insecure bool
		wantErr  string
	}{
		{name: "https accepted", baseURL: "https://api.1password.com"},
		{name: "https with path prefix", baseURL: "https://proxy.example/op/"},
		{name: "region default", baseURL: ""},
		{name: "region eu", region: "eu"},
		{name: "region unknown", region: "us", wantErr: "region"},
		{name: "http non-loopback refused", baseURL: "http://api.1password.com", insecure: true, wantErr: "loopback"},
		{name: "http private address refused", baseURL: "http://10.0.0.1:8080", insecure: true, wantErr: "loopback"},
		{name: "http loopback without flag refused", baseURL: "http://127.0.0.1:8080", wantErr: "AllowInsecureLoopback"},
		{name: "http loopback with flag", baseURL: "http://127.0.0.1:8080", insecure: true},
		{name: "http 127/8 with flag", baseURL: "http://127.9.9.9", insecure: true},
		{name: "http ipv6 loopback with flag", baseURL: "http://[::1]:9000", insecure: true},
		{name: "http localhost with flag", baseURL: "http://localhost:9000", insecure: true},
		{name: "http localhost lookalike refused", baseURL: "http://localhost.evil.example", insecure: true, wantErr: "loopback"},
		{name: "other scheme refused", baseURL: "ftp://api.1password.com", wantErr: "scheme"},
		{name: "userinfo refused", baseURL: "https://u:p@api.1password.com", wantErr: "credentials"},
		{name: "query refused", baseURL: "https://api.1password.com?x=1", wantErr: "query"},
		{name: "no host refused", baseURL: "https://", wantErr: "no host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := onepassword.New(t.Context(), onepassword.Config{
				BaseURL: tt.baseURL, Region: tt.region, AllowInsecureLoopback: tt.insecure,
				AccountID: testAccount, ClientID: "id", ClientSecret: testSecret,
			})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("New: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("New error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := onepassword.New(t.Context(), onepassword.Config{
		BaseURL: "http://example.com", APIVersion: "v2", AccountID: "lowercase", Timeout: -1,
	})
	if err == nil {
		t.Fatal("New accepted an invalid config")
	}
	for _, want := range []string{"loopback", "api version", "account id", "client id", "client secret", "timeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	t.Parallel()
	cfg := onepassword.Config{AccountID: testAccount, ClientID: "id", ClientSecret: testSecret}
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%10.3s", "%T %v"} {
		out = append(out, fmt.Sprintf(verb, cfg), fmt.Sprintf(verb, &cfg), fmt.Sprintf(verb, cfg.ClientSecret))
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(b))

	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	logger.Info("config", "cfg", cfg, "secret", cfg.ClientSecret)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("config", "cfg", cfg, "secret", cfg.ClientSecret)
	out = append(out, logs.String())

	for _, s := range out {
		if strings.Contains(s, testSecret) || strings.Contains(s, fmt.Sprintf("%x", testSecret)) {
			t.Fatalf("secret printed: %s", s)
		}
	}
	if !strings.Contains(logs.String(), `"ClientSecret":"[redacted]"`) {
		t.Errorf("slog JSON output lacks the redacted secret: %s", logs.String())
	}
	if got := cfg.ClientSecret.Reveal(); got != testSecret {
		t.Errorf("Reveal = %q", got)
	}
	if got := fmt.Sprint(onepassword.Secret("")); got != "" {
		t.Errorf("empty secret prints %q", got)
	}
}
