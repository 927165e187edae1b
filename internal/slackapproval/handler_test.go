package slackapproval_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/slackapproval"
)

func TestApproveRecordsAndUpdatesMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ref, blocks := e.post("pa-1")
	e.clock.Advance(3 * time.Minute)

	e.press(click{user: "UALICE", action: slackapproval.ActionApprove, id: "pa-1", ref: ref, blocks: blocks})

	o, ok := e.decider.outcome("pa-1")
	if !ok || !o.Approved || o.By != "UALICE" {
		t.Fatalf("decider outcome = %+v, %v; want approved by UALICE", o, ok)
	}
	updates := e.slack.callsTo("chat.update")
	if len(updates) != 1 {
		t.Fatalf("chat.update calls = %d, want 1", len(updates))
	}
	u := updates[0]
	if u.Form.Get("channel") != ref.Channel || u.Form.Get("ts") != ref.TS {
		t.Errorf("chat.update channel/ts = %s/%s, want %s/%s", u.Form.Get("channel"), u.Form.Get("ts"), ref.Channel, ref.TS)
	}
	got := blocksOf(t, u)
	if ids := blockIDs(got); !slices.Equal(ids, []string{slackapproval.BlockSummary, slackapproval.BlockStatus}) {
		t.Errorf("updated block ids = %v, want summary then status, no buttons", ids)
	}
	for _, b := range got {
		if b["type"] == "actions" {
			t.Errorf("updated message still has an actions block: %v", b)
		}
	}
	if !strings.Contains(u.Form.Get("blocks"), "alice@example.com") {
		t.Errorf("updated message lost the summary: %s", u.Form.Get("blocks"))
	}
	if want := "Approved by <@UALICE> at 12:03 UTC"; !strings.Contains(u.Form.Get("text"), want) {
		t.Errorf("update text = %q, want it to contain %q", u.Form.Get("text"), want)
	}
	if h := e.hooksFor("UALICE"); len(h) != 0 {
		t.Errorf("winner got ephemeral answers %v, want none", h)
	}
}

func TestDenyUpdatesMessage(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ref, blocks := e.post("pa-2")
	e.clock.Advance(90 * time.Second)

	e.press(click{user: "UBOB", action: slackapproval.ActionDeny, id: "pa-2", ref: ref, blocks: blocks})

	if o, _ := e.decider.outcome("pa-2"); o.Approved || o.By != "UBOB" {
		t.Fatalf("decider outcome = %+v, want denied by UBOB", o)
	}
	updates := e.slack.callsTo("chat.update")
	if len(updates) != 1 || !strings.Contains(updates[0].Form.Get("text"), "Denied by <@UBOB> at 12:01 UTC") {
		t.Fatalf("chat.update = %+v, want one saying denied by UBOB at 12:01 UTC", updates)
	}
}

// TestRefusedRequests: every request that fails a check is refused with
// the right status, and neither the Decider nor Slack hears of it.
func TestRefusedRequests(t *testing.T) {
	t.Parallel()
	ref := slackapproval.MessageRef{Channel: "C0APPROVAL", TS: "1760000000.000001"}
	valid := click{user: "UALICE", action: slackapproval.ActionApprove, id: "pa-1", ref: ref}
	tests := []struct {
		name   string
		build  func(e *env) *http.Request
		status int
	}{
		{"forged signature", func(e *env) *http.Request {
			body := e.payloadBody(valid)
			ts := e.unix(0)
			return e.request(body, ts, slackapproval.Sign("not-the-signing-secret", ts, body))
		}, http.StatusUnauthorized},
		{"body changed after signing", func(e *env) *http.Request {
			body := e.payloadBody(valid)
			ts := e.unix(0)
			sig := slackapproval.Sign(testSecret, ts, body)
			return e.request(bytes.Replace(body, []byte("approve"), []byte("deny"), 1), ts, sig)
		}, http.StatusUnauthorized},
		{"random signature", func(e *env) *http.Request {
			return e.request(e.payloadBody(valid), e.unix(0), "v0="+strings.Repeat("ab", 32))
		}, http.StatusUnauthorized},
		{"signature without v0 prefix", func(e *env) *http.Request {
			body := e.payloadBody(valid)
			ts := e.unix(0)
			return e.request(body, ts, strings.TrimPrefix(slackapproval.Sign(testSecret, ts, body), "v0="))
		}, http.StatusUnauthorized},
		{"truncated signature", func(e *env) *http.Request {
			body := e.payloadBody(valid)
			ts := e.unix(0)
			return e.request(body, ts, slackapproval.Sign(testSecret, ts, body)[:40])
		}, http.StatusUnauthorized},
		{"stale timestamp 301s", func(e *env) *http.Request {
			body := e.payloadBody(valid)
			ts := e.unix(-301)
			return e.request(body, ts, slackapproval.Sign(testSecret, ts, body))
		}, http.StatusUnauthorized},
		{"future timestamp 301s", func(e *env) *http.Request {
			body := e.payloadBody(valid)
			ts := e.unix(301)
			return e.request(body, ts, slackapproval.Sign(testSecret, ts, body))
		}, http.StatusUnauthorized},
		{"timestamp not a number", func(e *env) *http.Request {
			body := e.payloadBody(valid)
			return e.request(body, "yesterday", slackapproval.Sign(testSecret, "yesterday", body))
		}, http.StatusUnauthorized},
		{"missing signature header", func(e *env) *http.Request {
			return e.request(e.payloadBody(valid), e.unix(0), "")
		}, http.StatusUnauthorized},
		{"missing timestamp header", func(e *env) *http.Request {
			body := e.payloadBody(valid)
			return e.request(body, "", slackapproval.Sign(testSecret, e.unix(0), body))
		}, http.StatusUnauthorized},
		{"GET", func(e *env) *http.Request {
			req := e.signed(nil)
			req.Method = http.MethodGet
			return req
		}, http.StatusMethodNotAllowed},
		{"PUT", func(e *env) *http.Request {
			req := e.signed(e.payloadBody(valid))
			req.Method = http.MethodPut
			return req
		}, http.StatusMethodNotAllowed},
		{"JSON body", func(e *env) *http.Request {
			req := e.signed([]byte(`{"type":"block_actions"}`))
			req.Header.Set("Content-Type", "application/json")
			return req
		}, http.StatusUnsupportedMediaType},
		{"oversized body", func(e *env) *http.Request {
			return e.signed(oversized())
		}, http.StatusRequestEntityTooLarge},
		{"oversized body without length", func(e *env) *http.Request {
			req := e.signed(nil)
			req.Body = io.NopCloser(bytes.NewReader(oversized()))
			req.ContentLength = -1
			return req
		}, http.StatusRequestEntityTooLarge},
		{"no payload field", func(e *env) *http.Request {
			return e.signed([]byte("command=%2Fapprove&text=pa-1"))
		}, http.StatusBadRequest},
		{"two payload fields", func(e *env) *http.Request {
			body := e.payloadBody(valid)
			return e.signed(append(append(body, '&'), body...))
		}, http.StatusBadRequest},
		{"payload not JSON", func(e *env) *http.Request {
			return e.signed([]byte("payload=%7Bnot+json"))
		}, http.StatusBadRequest},
		{"payload without trigger_id", func(e *env) *http.Request {
			return e.signed([]byte(`payload=` + urlEscape(`{"type":"block_actions","user":{"id":"UALICE"},"container":{"channel_id":"C1","message_ts":"1.2"},"actions":[{"action_id":"tripline_approve","value":"pa-1","action_ts":"1.5"}]}`)))
		}, http.StatusBadRequest},
		{"payload with a non-user clicker", func(e *env) *http.Request {
			return e.signed(e.payloadBody(click{user: "<!channel>", action: slackapproval.ActionApprove, id: "pa-1", ref: ref}))
		}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			e.decider.add("pa-1", start.Add(time.Hour))
			status, _ := e.do(tt.build(e))
			if status != tt.status {
				t.Errorf("status = %d, want %d", status, tt.status)
			}
			if n := e.decider.callCount(); n != 0 {
				t.Errorf("Decider called %d times, want 0", n)
			}
			if n := e.slack.total(); n != 0 {
				t.Errorf("Slack received %d calls, want 0", n)
			}
		})
	}
}

func TestMethodNotAllowedSaysPOST(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	resp, err := e.srv.Client().Get(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodPost {
		t.Errorf("GET: status %d, Allow %q; want 405 and POST", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// TestClockWindowEdges: exactly MaxClockSkew away, either way, is accepted.
func TestClockWindowEdges(t *testing.T) {
	t.Parallel()
	for _, offset := range []int64{-300, 300} {
		t.Run(strconv.FormatInt(offset, 10), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			ref, blocks := e.post("pa-1")
			body := e.payloadBody(click{user: "UALICE", action: slackapproval.ActionApprove, id: "pa-1", ref: ref, blocks: blocks})
			ts := e.unix(offset)
			if status, b := e.do(e.request(body, ts, slackapproval.Sign(testSecret, ts, body))); status != http.StatusOK {
				t.Fatalf("status = %d %q, want 200", status, b)
			}
			if e.decider.callCount() != 1 {
				t.Errorf("Decider calls = %d, want 1", e.decider.callCount())
			}
		})
	}
}

// TestSlackDocVectorThroughHandler: Slack's worked example passes the
// signature check (and is then refused as a slash command, 400), while the
// same request with one signature digit changed is refused as forged.
func TestSlackDocVectorThroughHandler(t *testing.T) {
	t.Parallel()
	const (
		docSecret = "8f742231b10e8888abcd99yyyzzz85a5"
		docTS     = "1531420618"
		docBody   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
		docSig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
		forgedSig = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b504"
	)
	e := newEnv(t, func(c *slackapproval.HandlerConfig) { c.SigningSecret = docSecret })
	e.clock.Advance(time.Unix(1531420618, 0).Add(time.Minute).Sub(e.clock.Now()))
	if status, _ := e.do(e.request([]byte(docBody), docTS, docSig)); status != http.StatusBadRequest {
		t.Errorf("documented example: status %d, want 400 (signature accepted, not an interaction)", status)
	}
	if status, _ := e.do(e.request([]byte(docBody), docTS, forgedSig)); status != http.StatusUnauthorized {
		t.Errorf("forged example: status %d, want 401", status)
	}
}

// TestReplayRefused: a captured request sent again is refused by payload
// id, even when it is re-stamped and re-signed (as only Slack could), and
// the Decider hears of it once.
func TestReplayRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ref, blocks := e.post("pa-1")
	body := e.payloadBody(click{user: "UALICE", action: slackapproval.ActionApprove, id: "pa-1", ref: ref, blocks: blocks})
	ts := e.unix(0)
	sig := slackapproval.Sign(testSecret, ts, body)

	if status, _ := e.do(e.request(body, ts, sig)); status != http.StatusOK {
		t.Fatalf("first request: status %d, want 200", status)
	}
	e.clock.Advance(time.Minute)
	if status, _ := e.do(e.request(body, ts, sig)); status != http.StatusConflict {
		t.Errorf("replayed request: status %d, want 409", status)
	}
	ts2 := e.unix(0)
	if status, _ := e.do(e.request(body, ts2, slackapproval.Sign(testSecret, ts2, body))); status != http.StatusConflict {
		t.Errorf("re-signed replay: status %d, want 409", status)
	}
	if n := e.decider.callCount(); n != 1 {
		t.Errorf("Decider calls = %d, want 1", n)
	}
	if n := len(e.slack.callsTo("chat.update")); n != 1 {
		t.Errorf("chat.update calls = %d, want 1", n)
	}
}

func TestNonApproverRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ref, blocks := e.post("pa-1")

	e.press(click{user: "UMALLORY", action: slackapproval.ActionApprove, id: "pa-1", ref: ref, blocks: blocks})

	if n := e.decider.callCount(); n != 0 {
		t.Errorf("Decider calls = %d, want 0", n)
	}
	if n := len(e.slack.callsTo("chat.update")); n != 0 {
		t.Errorf("chat.update calls = %d, want 0", n)
	}
	hooks := e.hooksFor("UMALLORY")
	if len(hooks) != 1 {
		t.Fatalf("ephemeral answers = %v, want 1", hooks)
	}
	if hooks[0]["response_type"] != "ephemeral" || hooks[0]["replace_original"] != false ||
		!strings.Contains(hooks[0]["text"].(string), "Only tripline approvers") {
		t.Errorf("ephemeral answer = %v", hooks[0])
	}
	if !strings.Contains(e.logs.String(), "not an approver") {
		t.Errorf("refusal not logged: %s", e.logs.String())
	}
}

// TestGroupApprovers: members of the approver group may answer; the listing
// is cached for GroupRefreshInterval; non-members are refused.
func TestGroupApprovers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *slackapproval.HandlerConfig) {
		c.Approvers = nil
		c.ApproverGroup = "SAPPROVERS"
		c.GroupRefreshInterval = 5 * time.Minute
	})
	e.slack.setMembers("UCAROL", "UERIN")

	ref, blocks := e.post("pa-1")
	e.press(click{user: "UCAROL", action: slackapproval.ActionApprove, id: "pa-1", ref: ref, blocks: blocks})
	if o, ok := e.decider.outcome("pa-1"); !ok || o.By != "UCAROL" {
		t.Fatalf("group member's answer not recorded: %+v", o)
	}
	lists := e.slack.callsTo("usergroups.users.list")
	if len(lists) != 1 || lists[0].Form.Get("usergroup") != "SAPPROVERS" {
		t.Fatalf("usergroups.users.list calls = %+v, want one for SAPPROVERS", lists)
	}

	ref2, blocks2 := e.post("pa-2")
	e.clock.Advance(4 * time.Minute)
	e.press(click{user: "UDAVE", action: slackapproval.ActionApprove, id: "pa-2", ref: ref2, blocks: blocks2})
	if _, ok := e.decider.outcome("pa-2"); ok || len(e.hooksFor("UDAVE")) != 1 {
		t.Errorf("non-member's answer: recorded %v, ephemeral %v; want refused", ok, e.hooksFor("UDAVE"))
	}
	if n := len(e.slack.callsTo("usergroups.users.list")); n != 1 {
		t.Errorf("listings within the refresh interval = %d, want 1 (cached)", n)
	}

	e.slack.setMembers("UCAROL", "UERIN", "UDAVE")
	e.clock.Advance(2 * time.Minute)
	e.press(click{user: "UDAVE", action: slackapproval.ActionDeny, id: "pa-2", ref: ref2, blocks: blocks2})
	if o, ok := e.decider.outcome("pa-2"); !ok || o.By != "UDAVE" || o.Approved {
		t.Errorf("newly added member's denial: %+v, %v", o, ok)
	}
	if n := len(e.slack.callsTo("usergroups.users.list")); n != 2 {
		t.Errorf("listings after the refresh interval = %d, want 2", n)
	}
}

// TestGroupListingFailsClosed: while the group cannot be listed its members
// are refused (and told to retry); explicit approvers still answer.
func TestGroupListingFailsClosed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *slackapproval.HandlerConfig) {
		c.Approvers = []string{"UALICE"}
		c.ApproverGroup = "SAPPROVERS"
	})
	e.slack.setMembers("UCAROL")
	e.slack.setFail("usergroups.users.list", "missing_scope")
	ref, blocks := e.post("pa-1")

	e.press(click{user: "UCAROL", action: slackapproval.ActionApprove, id: "pa-1", ref: ref, blocks: blocks})
	if n := e.decider.callCount(); n != 0 {
		t.Fatalf("Decider calls = %d, want 0", n)
	}
	if h := e.hooksFor("UCAROL"); len(h) != 1 || !strings.Contains(h[0]["text"].(string), "could not check") {
		t.Errorf("ephemeral = %v, want a try-again answer", h)
	}

	e.press(click{user: "UALICE", action: slackapproval.ActionApprove, id: "pa-1", ref: ref, blocks: blocks})
	if o, ok := e.decider.outcome("pa-1"); !ok || o.By != "UALICE" {
		t.Errorf("explicit approver during group outage: %+v, %v", o, ok)
	}
}

// TestFirstAnswerWins: two approvers click at once; one answer is
// recorded, the message is updated once, and the other approver is told
// who answered first and when.
func TestFirstAnswerWins(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ref, blocks := e.post("pa-1")
	e.clock.Advance(3 * time.Minute)

	reqs := []*http.Request{
		e.signed(e.payloadBody(click{user: "UALICE", action: slackapproval.ActionApprove, id: "pa-1", ref: ref, blocks: blocks})),
		e.signed(e.payloadBody(click{user: "UBOB", action: slackapproval.ActionDeny, id: "pa-1", ref: ref, blocks: blocks})),
	}
	var wg sync.WaitGroup
	statuses := make([]int, len(reqs))
	for i, req := range reqs {
		wg.Go(func() {
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Errorf("click %d: %v", i, err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	if !slices.Equal(statuses, []int{200, 200}) {
		t.Fatalf("statuses = %v, want both 200", statuses)
	}

	won, ok := e.decider.outcome("pa-1")
	if !ok {
		t.Fatal("no answer recorded")
	}
	loser, want := "UBOB", "already approved by <@UALICE> at 12:03 UTC"
	if won.By == "UBOB" {
		loser, want = "UALICE", "already denied by <@UBOB> at 12:03 UTC"
	}
	if n := len(e.slack.callsTo("chat.update")); n != 1 {
		t.Errorf("chat.update calls = %d, want 1", n)
	}
	if h := e.hooksFor(won.By); len(h) != 0 {
		t.Errorf("winner %s got ephemeral answers %v", won.By, h)
	}
	h := e.hooksFor(loser)
	if len(h) != 1 || !strings.Contains(h[0]["text"].(string), want) {
		t.Errorf("loser %s got %v, want one ephemeral containing %q", loser, h, want)
	}

	// A later click changes nothing either.
	e.clock.Advance(time.Minute)
	e.press(click{user: won.By, action: slackapproval.ActionDeny, id: "pa-1", ref: ref, blocks: blocks})
	if o, _ := e.decider.outcome("pa-1"); o != won {
		t.Errorf("outcome changed to %+v", o)
	}
	if n := len(e.slack.callsTo("chat.update")); n != 1 {
		t.Errorf("chat.update calls after a late click = %d, want 1", n)
	}
}

func TestExpiredAndUnknownAnswers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ref, blocks := e.post("pa-1")
	e.clock.Advance(11 * time.Minute)

	e.press(click{user: "UALICE", action: slackapproval.ActionApprove, id: "pa-1", ref: ref, blocks: blocks})
	e.press(click{user: "UBOB", action: slackapproval.ActionApprove, id: "pa-404", ref: ref, blocks: blocks})

	if _, ok := e.decider.outcome("pa-1"); ok {
		t.Error("expired action was decided")
	}
	if n := len(e.slack.callsTo("chat.update")); n != 0 {
		t.Errorf("chat.update calls = %d, want 0", n)
	}
	if h := e.hooksFor("UALICE"); len(h) != 1 || !strings.Contains(h[0]["text"].(string), "expired: it was denied and never executed") {
		t.Errorf("expired answer = %v", h)
	}
	if h := e.hooksFor("UBOB"); len(h) != 1 || !strings.Contains(h[0]["text"].(string), "does not know this request") {
		t.Errorf("unknown answer = %v", h)
	}
}

// TestForeignResponseURLNotCalled: a response_url outside the configured
// prefixes is never requested; the ephemeral answer goes in the HTTP body.
func TestForeignResponseURLNotCalled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ref, blocks := e.post("pa-1")
	body := e.payloadBody(click{user: "UMALLORY", action: slackapproval.ActionApprove, id: "pa-1", ref: ref, blocks: blocks,
		responseURL: "http://127.0.0.1:1/hooks/elsewhere"})
	status, resp := e.do(e.signed(body))
	if status != http.StatusOK {
		t.Fatalf("status = %d", status)
	}
	var answer map[string]any
	if err := json.Unmarshal([]byte(resp), &answer); err != nil || answer["response_type"] != "ephemeral" {
		t.Errorf("HTTP answer = %q (%v), want an ephemeral message", resp, err)
	}
	if n := len(e.slack.callsTo("hook")); n != 0 {
		t.Errorf("hooks called %d times", n)
	}
}

func TestIgnoredPayloads(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, p := range []string{
		`{"type":"view_closed","trigger_id":"t"}`,
		`{"type":"block_actions","trigger_id":"t","user":{"id":"UALICE"},"container":{"channel_id":"C1","message_ts":"1.2"},"actions":[{"action_id":"someone_elses_button","value":"x","action_ts":"1.5"}]}`,
	} {
		if status, _ := e.do(e.signed([]byte("payload=" + urlEscape(p)))); status != http.StatusOK {
			t.Errorf("%s: status %d, want 200", p, status)
		}
	}
	if e.decider.callCount() != 0 || e.slack.total() != 0 {
		t.Errorf("ignored payloads reached the Decider (%d) or Slack (%d)", e.decider.callCount(), e.slack.total())
	}
}

func TestHandlerCheck(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *slackapproval.HandlerConfig) {
		c.Approvers = nil
		c.ApproverGroup = "SAPPROVERS"
	})
	if err := e.handler.Check(t.Context()); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("Check with an empty group = %v, want an error", err)
	}
	e.slack.setMembers("UCAROL")
	if err := e.handler.Check(t.Context()); err != nil {
		t.Errorf("Check = %v", err)
	}
	e.slack.setFail("usergroups.users.list", "no_such_subteam")
	err := e.handler.Check(t.Context())
	var apiErr *slackapproval.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != "no_such_subteam" || apiErr.Retryable() {
		t.Errorf("Check with a bad group = %v, want a non-retryable APIError no_such_subteam", err)
	}
}

func TestNewHandlerRefusesEmptySigningSecret(t *testing.T) {
	t.Parallel()
	n, err := slackapproval.NewNotifier(slackapproval.NotifierConfig{BotToken: testToken, Channel: "C1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := newFakeDecider(time.Now)
	_, err = slackapproval.NewHandler(slackapproval.HandlerConfig{Approvers: []string{"UALICE"}}, d, n, nil)
	if err == nil || !strings.Contains(err.Error(), "signing secret is empty") {
		t.Fatalf("NewHandler without a signing secret = %v, want a refusal", err)
	}
}

func TestHandlerConfigValidate(t *testing.T) {
	t.Parallel()
	n, err := slackapproval.NewNotifier(slackapproval.NotifierConfig{BotToken: testToken, Channel: "C1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = slackapproval.NewHandler(slackapproval.HandlerConfig{
		SigningSecret:       "",
		Approvers:           []string{"alice", "UALICE"},
		ApproverGroup:       "@security",
		ResponseURLPrefixes: []string{"http://hooks.example.com/", "https://hooks.slack.com"},
		Timeout:             -time.Second,
	}, nil, n, nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"signing secret is empty", `approver "alice" is not a Slack user id`, `"@security" is not a Slack user group id`,
		"plain http is allowed only to a loopback host", `"https://hooks.slack.com" must end in /`, "timeout -1s is negative", "decider is nil",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	_, err = slackapproval.NewHandler(slackapproval.HandlerConfig{SigningSecret: "s"}, newFakeDecider(time.Now), n, nil)
	if err == nil || !strings.Contains(err.Error(), "no approvers") {
		t.Errorf("no approvers: %v", err)
	}
}

// TestSecretsNeverLeak drives every failure path that could print a
// credential (forged and stale requests, Slack refusing the token, a dead
// response_url, transport failures) with Debug logging on, and checks that
// neither the bot token, the signing secret nor a response_url appears in
// a log line or an error.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	dead := newFakeSlack(t, testToken)
	deadHooks := dead.HookPrefix()
	dead.srv.Close()
	e := newEnv(t, func(c *slackapproval.HandlerConfig) {
		c.ResponseURLPrefixes = append(c.ResponseURLPrefixes, deadHooks)
	})
	logger := slog.New(slog.NewJSONHandler(e.logs, nil))
	var errs []error

	ref, blocks := e.post("pa-1")
	body := e.payloadBody(click{user: "UALICE", action: slackapproval.ActionApprove, id: "pa-1", ref: ref, blocks: blocks})
	ts := e.unix(0)
	e.do(e.request(body, ts, slackapproval.Sign("wrong", ts, body)))
	e.do(e.request(body, e.unix(-400), slackapproval.Sign(testSecret, e.unix(-400), body)))

	// A non-approver whose response_url is dead: the failure is logged.
	deadURL := deadHooks + "T1/123/secret-webhook-path"
	e.press(click{user: "UMALLORY", action: slackapproval.ActionApprove, id: "pa-1", ref: ref, blocks: blocks, responseURL: deadURL})

	// Slack refuses the token while the message is updated: logged too.
	e.slack.setFail("chat.update", "invalid_auth")
	e.press(click{user: "UALICE", action: slackapproval.ActionApprove, id: "pa-1", ref: ref, blocks: blocks})

	e.slack.setFail("chat.postMessage", "invalid_auth")
	_, err := e.notifier.Post(t.Context(), e.action("pa-2"))
	errs = append(errs, err)
	errs = append(errs, e.notifier.Expired(t.Context(), ref, e.action("pa-1"), e.clock.Now()))

	gone, err := slackapproval.NewNotifier(slackapproval.NotifierConfig{BotToken: testToken, Channel: "C1", APIURL: dead.APIURL()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	errs = append(errs, gone.Check(t.Context()))
	_, err = gone.Post(t.Context(), e.action("pa-3"))
	errs = append(errs, err)

	_, err = slackapproval.NewNotifier(slackapproval.NotifierConfig{BotToken: testSecret, Channel: "C1"}, nil)
	errs = append(errs, err)

	logger.Info("effective config",
		"notifier", slackapproval.NotifierConfig{BotToken: testToken, Channel: "C1"},
		"handler", slackapproval.HandlerConfig{SigningSecret: testSecret, Approvers: []string{"UALICE"}})

	logs := e.logs.String()
	for _, leak := range []string{testToken, testSecret, "secret-webhook-path", e.slack.HookPrefix() + "U"} {
		if strings.Contains(logs, leak) {
			t.Errorf("logs contain %q:\n%s", leak, logs)
		}
		for _, err := range errs {
			if err == nil {
				t.Errorf("expected an error, got nil")
				continue
			}
			if strings.Contains(err.Error(), leak) {
				t.Errorf("error %q contains %q", err, leak)
			}
		}
	}
	for _, want := range []string{"does not match the body", "more than 5 minutes", "not an approver", "invalid_auth", "ephemeral answer failed"} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q (the path was not exercised):\n%s", want, logs)
		}
	}
}

// unix returns the fake clock's unix time plus offset seconds, as the
// timestamp header carries it.
func (e *env) unix(offset int64) string {
	return strconv.FormatInt(e.clock.Now().Unix()+offset, 10)
}

func oversized() []byte {
	return []byte("payload=" + strings.Repeat("a", slackapproval.MaxBodyBytes))
}

func urlEscape(s string) string {
	return strings.NewReplacer("%", "%25", "&", "%26", "+", "%2B", "=", "%3D", " ", "+").Replace(s)
}
