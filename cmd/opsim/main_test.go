package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a goroutine-safe writer that reports the listen URL.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	url chan string
}

var listenLine = regexp.MustCompile(`listening on (http://\S+)`)

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	if m := listenLine.FindSubmatch(p); m != nil {
		select {
		case b.url <- string(m[1]):
		default:
		}
	}
	return n, err
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start runs the command in the background and returns its base URL and
// a function that stops it and returns the exit code.
func start(t *testing.T, args ...string) (string, *lockedBuffer, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	stderr := &lockedBuffer{url: make(chan string, 1)}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), &bytes.Buffer{}, stderr)
	}()
	select {
	case u := <-stderr.url:
		return u, stderr, func() int { cancel(); return <-done }
	case code := <-done:
		cancel()
		t.Fatalf("run exited with %d: %s", code, stderr.String())
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("no listen line: %s", stderr.String())
	}
	return "", nil, nil
}

// token posts a client_credentials request and returns the status and body.
func token(t *testing.T, base, path, id, secret string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+path,
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

func TestRunDefaults(t *testing.T) {
	t.Parallel()
	base, stderr, stop := start(t, "--generate", "3")
	status, body := token(t, base, "/v1beta1/users/oauth2/token", "tripline-dev", "opsim-dev-secret")
	if status != 200 || body["access_token"] == "" {
		t.Fatalf("token: %d %v", status, body)
	}
	out := stderr.String()
	for _, want := range []string{"client id tripline-dev secret opsim-dev-secret (defaults)", "curl -s -u 'tripline-dev:opsim-dev-secret'", "(3 users)"} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

func TestRunSeedAndFlags(t *testing.T) {
	t.Parallel()
	faults := filepath.Join(t.TempDir(), "faults.json")
	if err := os.WriteFile(faults, []byte(`{"list":{"rate_503":1}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	base, stderr, stop := start(t, "--seed", "testdata/seed.json", "--client-id", "ci", "--client-secret", "shh", "--faults", faults)
	defer stop()
	if status, _ := token(t, base, "/v1/oauth/token", "ci", "shh"); status != 200 {
		t.Fatalf("flag client: %d", status)
	}
	if status, _ := token(t, base, "/v1/oauth/token", "tripline-readonly", "opsim-readonly-secret"); status != 200 {
		t.Fatalf("seed client: %d", status)
	}
	out := stderr.String()
	if strings.Contains(out, "shh") || !strings.Contains(out, "account TRIPLINEDEVACCOUNT00000001 (6 users)") {
		t.Fatalf("banner:\n%s", out)
	}
	_, body := token(t, base, "/v1/oauth/token", "ci", "shh")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/v1/accounts/TRIPLINEDEVACCOUNT00000001/users", nil)
	req.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 503 {
		t.Fatalf("faults file not applied: %d", res.StatusCode)
	}
}

func TestRunBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dup := write("dup.json", `{"users":[{"id":"A","email":"a@x"},{"id":"A","email":"b@x"}]}`)
	syntax := write("syntax.json", "{\n\"users\": [\n}")
	unknown := write("unknown.json", `{"userz":[]}`)
	badFaults := write("faults.json", `{"get":{"rate_500":3}}`)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"duplicate id", []string{"--seed", dup}, []string{"seed file " + dup, `duplicate id "A"`}},
		{"syntax", []string{"--seed", syntax}, []string{"seed file " + syntax, "line 3"}},
		{"unknown key", []string{"--seed", unknown}, []string{"seed file " + unknown, `unknown field "userz"`}},
		{"missing", []string{"--seed", filepath.Join(dir, "nope.json")}, []string{"nope.json", "no such file"}},
		{"bad faults", []string{"--faults", badFaults}, []string{"faults file " + badFaults, "rate_500 3 not in 0..1"}},
		{"bad account", []string{"--account", "lower"}, []string{`account "lower"`}},
		{"bad flag", []string{"--nope"}, []string{"flag provided but not defined"}},
		{"extra args", []string{"serve"}, []string{"unexpected arguments"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			code := run(t.Context(), append([]string{"--listen", "127.0.0.1:0"}, tc.args...), &bytes.Buffer{}, &stderr)
			if code != 2 {
				t.Fatalf("exit %d, want 2: %s", code, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q: %s", w, stderr.String())
				}
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	t.Parallel()
	var stdout bytes.Buffer
	if code := run(t.Context(), []string{"--help"}, &stdout, &bytes.Buffer{}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	out := stdout.String()
	for _, name := range []string{"listen", "seed", "generate", "account", "client-id", "client-secret", "faults",
		"strict-user-agent", "reject-large-page-size", "wrong-account-status", "eam-status", "eam-code", "eam-message"} {
		if !strings.Contains(out, "--"+name) || !strings.Contains(out, "example: --"+name) {
			t.Errorf("help lacks --%s or its example", name)
		}
	}
	if !strings.Contains(out, "(default 127.0.0.1:8787)") {
		t.Errorf("help lacks listen default:\n%s", out)
	}
}
