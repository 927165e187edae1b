package secret

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	const sec = "s3cr/t+k3y=&x"
	basic := base64.StdEncoding.EncodeToString([]byte("app:" + sec))
	oauthBasic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape("app") + ":" + url.QueryEscape(sec)))
	secrets := []Value{Value(sec), Value("app:" + sec), Value(url.QueryEscape("app") + ":" + url.QueryEscape(sec)), ""}
	tests := []struct{ in, want string }{
		{"", ""},
		{"invalid_client", "invalid_client"},
		{"bad secret " + sec + " here", "bad secret [redacted] here"},
		{"form client_id=app&cs=" + url.QueryEscape(sec), "form client_id=app&cs=[redacted]"},
		{"lower " + strings.ToLower(url.QueryEscape(sec)), "lower [redacted]"},
		{"path " + url.PathEscape(sec), "path [redacted]"},
		{"b64 " + base64.StdEncoding.EncodeToString([]byte(sec)), "b64 [redacted]"},
		{"b64url " + base64.RawURLEncoding.EncodeToString([]byte(sec)), "b64url [redacted]"},
		{"header " + basic, "header [redacted]"},
		{"header " + oauthBasic, "header [redacted]"},
		{`json "s3cr/t+k3y=\u0026x"`, `json "[redacted]"`},
		{"Authorization: Bearer tok-9f8e7d6c5b", "Authorization: Bearer [redacted]"},
		{"authorization=basic%20QWxhZGRpbjpvcGVu", "authorization=basic%20[redacted]"},
		{"missing bearer token", "missing bearer token"},
		{`WWW-Authenticate: Basic realm="api"`, `WWW-Authenticate: Basic realm="api"`},
		{`{"access_token":"abc.def","token_type":"Bearer"}`, `{"access_token":"[redacted]","token_type":"Bearer"}`},
		{"grant_type=client_credentials&client_secret=hunter2&scope=openid", "grant_type=client_credentials&client_secret=[redacted]&scope=openid"},
		{"refresh_token: r-123, id_token=x", "refresh_token: [redacted], id_token=[redacted]"},
		{"page_token=abc next_page_token=def", "page_token=abc next_page_token=def"},
	}
	for _, tt := range tests {
		got := Redact(tt.in, secrets...)
		if got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again := Redact(got, secrets...); again != got {
			t.Errorf("Redact is not idempotent on %q: %q", got, again)
		}
		for _, form := range []string{sec, basic, oauthBasic} {
			if strings.Contains(got, form) {
				t.Errorf("Redact(%q) = %q still holds %q", tt.in, got, form)
			}
		}
	}
	if got := Redact("nothing to hide"); got != "nothing to hide" {
		t.Errorf("Redact without secrets = %q", got)
	}
}

func BenchmarkRedact(b *testing.B) {
	msg := strings.Repeat("an error message from a server, ", 6)
	for b.Loop() {
		Redact(msg, "client-secret-value", "tok-0123456789", "tok-9876543210")
	}
}
