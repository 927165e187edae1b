package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/eventtest"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/secret"
	"github.com/tripline-dev/tripline/internal/slackapproval"
)

const (
	slackToken   = "xoxb-e2e-test-token"
	slackSecret  = "e2e-slack-signing-secret"
	slackChannel = "C0APPROVALS"
)

// slackAPI is a fake Slack Web API: it records the methods called and
// answers chat.postMessage, chat.update, auth.test and
// usergroups.users.list.
type slackAPI struct {
	mu    sync.Mutex
	calls []url.Values
	names []string
}

func (f *slackAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/api/")
	r.ParseForm()
	f.mu.Lock()
	f.calls, f.names = append(f.calls, r.PostForm), append(f.names, method)
	n := len(f.calls)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("Authorization") != "Bearer "+slackToken && r.PostForm.Get("token") != slackToken {
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	switch method {
	case "auth.test":
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "user_id": "UBOT"})
	case "chat.postMessage", "chat.update":
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": slackChannel, "ts": fmt.Sprintf("1760000000.%06d", n)})
	default:
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "unknown_method"})
	}
}

func (f *slackAPI) methods() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.names...)
}

// TestEndToEndApprovalInSlack: the approval request is posted to the
// channel with Approve and Deny buttons; a forged click is refused; a
// non-approver's click changes nothing; the approver's click has the
// consumer carry the action out once and the message updated.
func TestEndToEndApprovalInSlack(t *testing.T) {
	e := newE2E(t, "signins", opsim.Seed{})
	if err := eventtest.WriteRulesDir(e.cfg.Rules.Dir, approveRule); err != nil {
		t.Fatal(err)
	}
	api := &slackAPI{}
	fake := httptest.NewServer(api)
	defer fake.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	e.cfg.ApprovalAddr = addr
	e.cfg.Slack = config.Slack{BotToken: slackToken, SigningSecret: slackSecret, ApprovalChannel: slackChannel,
		Approvers: []string{"UAPPROVER1"}, APIURL: fake.URL + "/api/"}
	ctx, cancel := context.WithCancel(t.Context())
	m, err := app.NewMain(ctx, e.cfg, app.Options{Log: io.Discard, Lookup: func(string) (string, bool) { return "", false }})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		m.Close()
	}()
	e.produce("signins", kafka.Message{Value: oktaSignIn("r1", "user00006@example.com", "HIGH")})
	a := pendingFor(t, m, "user00006@example.com")
	waitFor(t, "the request posted and recorded", func() bool { _, ok := m.Ledger().ApprovalMessage(a.ID); return ok })
	api.mu.Lock()
	post := api.calls[len(api.calls)-1]
	api.mu.Unlock()
	if post.Get("channel") != slackChannel || !strings.Contains(post.Get("blocks"), `"value":"`+a.ID+`"`) || !strings.Contains(post.Get("blocks"), slackapproval.ActionApprove) {
		t.Errorf("chat.postMessage form %v", post)
	}
	click := func(user, signing string, n int) int {
		p := map[string]any{
			"type": "block_actions", "trigger_id": fmt.Sprintf("trig-%d", n), "user": map[string]string{"id": user},
			"container": map[string]string{"channel_id": slackChannel, "message_ts": "1760000000.000001"},
			"message":   map[string]any{"blocks": []any{}},
			"actions":   []map[string]string{{"action_id": slackapproval.ActionApprove, "value": a.ID, "action_ts": fmt.Sprintf("1760000001.%06d", n)}},
		}
		raw, _ := json.Marshal(p)
		body := "payload=" + url.QueryEscape(string(raw))
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/slack/interactivity", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(slackapproval.HeaderTimestamp, ts)
		req.Header.Set(slackapproval.HeaderSignature, slackapproval.Sign(secret.Value(signing), ts, []byte(body)))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	waitFor(t, "the listener up", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if code := click("UAPPROVER1", "not-the-secret", 1); code != http.StatusUnauthorized {
		t.Errorf("forged click: %d, want 401", code)
	}
	if code := click("UOUTSIDER", slackSecret, 2); code != http.StatusOK {
		t.Errorf("non-approver's click: %d", code)
	}
	if got, _ := m.Ledger().Approval(a.ID); got.State != remediate.ApprovalPending || len(e.suspendCalls()) != 0 {
		t.Fatalf("after refused clicks: %+v, %d suspend calls", got, len(e.suspendCalls()))
	}
	if code := click("UAPPROVER1", slackSecret, 3); code != http.StatusOK {
		t.Errorf("approver's click: %d", code)
	}
	waitFor(t, "the action carried out", func() bool { got, _ := m.Ledger().Approval(a.ID); return got.Result != "" })
	got, _ := m.Ledger().Approval(a.ID)
	if got.State != remediate.ApprovalApproved || got.DecidedBy != "UAPPROVER1" || got.Channel != "slack" || got.Result != remediate.ResultSuspended {
		t.Errorf("approval %+v", got)
	}
	if len(e.suspendCalls()) != 1 || e.state("user00006@example.com") != "SUSPENDED" {
		t.Errorf("%d suspend calls, user %s", len(e.suspendCalls()), e.state("user00006@example.com"))
	}
	waitFor(t, "the message updated", func() bool { return strings.Contains(fmt.Sprint(api.methods()), "chat.update") })
}
