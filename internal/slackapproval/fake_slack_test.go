package slackapproval_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fakeSlack is a Slack Web API and response_url endpoint on a real socket.
// The Web API lives under /api/ (pass APIURL() to the Notifier), response
// URLs under /hooks/.
type fakeSlack struct {
	t     *testing.T
	srv   *httptest.Server
	token string

	mu      sync.Mutex
	calls   []apiCall
	ts      int
	members []string          // usergroups.users.list answer
	fail    map[string]string // Web API method -> Slack error code
}

// apiCall is one request the fake received.
type apiCall struct {
	Method string     // "chat.postMessage", ..., or "hook"
	Form   url.Values // Web API form
	Path   string     // request path
	Hook   map[string]any
}

func newFakeSlack(t *testing.T, token string) *fakeSlack {
	t.Helper()
	f := &fakeSlack{t: t, token: token, fail: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSlack) APIURL() string     { return f.srv.URL + "/api/" }
func (f *fakeSlack) HookPrefix() string { return f.srv.URL + "/hooks/" }

func (f *fakeSlack) setMembers(m ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.members = m
}

func (f *fakeSlack) setFail(method, code string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if code == "" {
		delete(f.fail, method)
		return
	}
	f.fail[method] = code
}

// callsTo returns the calls to method, in order.
func (f *fakeSlack) callsTo(method string) []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apiCall
	for _, c := range f.calls {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

func (f *fakeSlack) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	if hook, ok := strings.CutPrefix(r.URL.Path, "/hooks/"); ok {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		f.record(apiCall{Method: "hook", Path: hook, Hook: body})
		_, _ = io.WriteString(w, "ok")
		return
	}
	method, ok := strings.CutPrefix(r.URL.Path, "/api/")
	if !ok || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		tok = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	}
	f.record(apiCall{Method: method, Form: r.PostForm, Path: r.URL.Path})

	f.mu.Lock()
	code := f.fail[method]
	members := f.members
	f.ts++
	ts := fmt.Sprintf("1760000000.%06d", f.ts)
	f.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	switch {
	case tok != f.token:
		code = "invalid_auth"
	case code == "ratelimited":
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	}
	if code != "" {
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": code})
		return
	}
	switch method {
	case "auth.test":
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "user_id": "UBOT", "team_id": "T1"})
	case "chat.postMessage":
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": "C0APPROVAL", "ts": ts})
	case "chat.update":
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": r.PostForm.Get("channel"), "ts": r.PostForm.Get("ts")})
	case "usergroups.users.list":
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "users": members})
	default:
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "unknown_method"})
	}
}

func (f *fakeSlack) record(c apiCall) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

// blocks decodes the "blocks" form field of a call into generic JSON.
func blocksOf(t *testing.T, c apiCall) []map[string]any {
	t.Helper()
	var b []map[string]any
	if err := json.Unmarshal([]byte(c.Form.Get("blocks")), &b); err != nil {
		t.Fatalf("%s blocks %q: %v", c.Method, c.Form.Get("blocks"), err)
	}
	return b
}

// blockIDs lists the block ids of blocks, in order.
func blockIDs(blocks []map[string]any) []string {
	var ids []string
	for _, b := range blocks {
		id, _ := b["block_id"].(string)
		ids = append(ids, id)
	}
	return ids
}
