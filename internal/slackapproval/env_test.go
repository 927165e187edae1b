package slackapproval_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/fakeclock"
	"github.com/tripline-dev/tripline/internal/slackapproval"
)

const (
	testToken  = "xoxb-1111-2222-bot-token-under-test"
	testSecret = "tripline-test-signing-secret"
)

// start is 2026-10-01 12:00 UTC, so messages say "12:03 UTC" and the like.
var start = time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is a Handler and Notifier wired to a fake Slack and a fake Decider,
// with the Handler served on a real socket.
type env struct {
	t        *testing.T
	clock    *fakeclock.Clock
	slack    *fakeSlack
	decider  *fakeDecider
	notifier *slackapproval.Notifier
	handler  *slackapproval.Handler
	srv      *httptest.Server
	logs     *syncBuffer
	clicks   int
}

func newEnv(t *testing.T, mutate func(*slackapproval.HandlerConfig)) *env {
	t.Helper()
	e := &env{t: t, clock: fakeclock.New(start), logs: &syncBuffer{}}
	e.slack = newFakeSlack(t, testToken)
	e.decider = newFakeDecider(e.clock.Now)
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n, err := slackapproval.NewNotifier(slackapproval.NotifierConfig{
		BotToken: testToken,
		Channel:  "C0APPROVAL",
		APIURL:   e.slack.APIURL(),
	}, nil)
	if err != nil {
		t.Fatalf("NewNotifier: %v", err)
	}
	cfg := slackapproval.HandlerConfig{
		SigningSecret:       testSecret,
		Approvers:           []string{"UALICE", "UBOB"},
		ResponseURLPrefixes: []string{e.slack.HookPrefix()},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	h, err := slackapproval.NewHandler(cfg, e.decider, n, logger, slackapproval.WithClock(e.clock.Now))
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	e.notifier, e.handler = n, h
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

// action is a pending action created now that expires in 10 minutes.
func (e *env) action(id string) slackapproval.Action {
	return slackapproval.Action{
		ID:        id,
		RuleID:    "impossible_travel",
		UserID:    "WXYZ1234ABCD5678",
		UserEmail: "alice@example.com",
		Reason:    "sign-in from two countries 5 minutes apart",
		EventID:   "evt-42",
		TraceID:   "4bf92f3577b34da6a3ce929d0e0e4736",
		CreatedAt: e.clock.Now(),
		ExpiresAt: e.clock.Now().Add(10 * time.Minute),
	}
}

// post registers id with the Decider and posts its request through the
// Notifier, returning where it landed and the blocks Slack received.
func (e *env) post(id string) (slackapproval.MessageRef, json.RawMessage) {
	e.t.Helper()
	a := e.action(id)
	e.decider.add(id, a.ExpiresAt)
	ref, err := e.notifier.Post(e.t.Context(), a)
	if err != nil {
		e.t.Fatalf("Post: %v", err)
	}
	posts := e.slack.callsTo("chat.postMessage")
	return ref, json.RawMessage(posts[len(posts)-1].Form.Get("blocks"))
}

// click describes one button press.
type click struct {
	user, action, id string
	ref              slackapproval.MessageRef
	blocks           json.RawMessage
	trigger          string // default: unique per click
	responseURL      string // default: a hook named after the user
}

// payloadBody builds the form body Slack sends for c.
func (e *env) payloadBody(c click) []byte {
	e.t.Helper()
	e.clicks++
	if c.trigger == "" {
		c.trigger = "trigger-" + strconv.Itoa(e.clicks)
	}
	if c.responseURL == "" {
		c.responseURL = e.slack.HookPrefix() + c.user
	}
	p := map[string]any{
		"type":         "block_actions",
		"trigger_id":   c.trigger,
		"response_url": c.responseURL,
		"user":         map[string]any{"id": c.user, "username": strings.ToLower(c.user)},
		"team":         map[string]any{"id": "T1"},
		"container": map[string]any{
			"type": "message", "channel_id": c.ref.Channel, "message_ts": c.ref.TS,
		},
		"channel": map[string]any{"id": c.ref.Channel},
		"message": map[string]any{"type": "message", "ts": c.ref.TS, "blocks": c.blocks},
		"actions": []map[string]any{{
			"type": "button", "action_id": c.action, "block_id": slackapproval.BlockActions,
			"value": c.id, "action_ts": strconv.FormatInt(e.clock.Now().Unix(), 10) + "." + strconv.Itoa(100000+e.clicks),
		}},
	}
	raw, err := json.Marshal(p)
	if err != nil {
		e.t.Fatal(err)
	}
	return []byte(url.Values{"payload": {string(raw)}}.Encode())
}

// signed builds a correctly signed callback request for body, stamped with
// the fake clock's time.
func (e *env) signed(body []byte) *http.Request {
	e.t.Helper()
	ts := strconv.FormatInt(e.clock.Now().Unix(), 10)
	return e.request(body, ts, slackapproval.Sign(testSecret, ts, body))
}

func (e *env) request(body []byte, ts, sig string) *http.Request {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), http.MethodPost, e.srv.URL, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if ts != "" {
		req.Header.Set(slackapproval.HeaderTimestamp, ts)
	}
	if sig != "" {
		req.Header.Set(slackapproval.HeaderSignature, sig)
	}
	return req
}

// do sends req over the socket and returns the status and body.
func (e *env) do(req *http.Request) (int, string) {
	e.t.Helper()
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("callback request: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// press sends a signed click and requires a 200.
func (e *env) press(c click) {
	e.t.Helper()
	if status, body := e.do(e.signed(e.payloadBody(c))); status != http.StatusOK {
		e.t.Fatalf("click by %s: status %d %q", c.user, status, body)
	}
}

// hooksFor returns the texts of the ephemeral answers sent to user's
// response_url.
func (e *env) hooksFor(user string) []map[string]any {
	var out []map[string]any
	for _, c := range e.slack.callsTo("hook") {
		if c.Path == user {
			out = append(out, c.Hook)
		}
	}
	return out
}
