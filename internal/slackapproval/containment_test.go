package slackapproval_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/fakeclock"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/slackapproval"
)

// ledgerStore is a remediate.Store that hands each write to its ledger at
// once, as the state topic does.
type ledgerStore struct{ l *remediate.Ledger }

func (s *ledgerStore) Put(_ context.Context, key string, value []byte, signature string) error {
	s.l.Apply(key, value, signature)
	return nil
}

// users is a fake 1Password account: the directory and the Users API.
type users struct {
	mu     sync.Mutex
	byID   map[string]remediate.User
	states map[string]string
}

func (u *users) Lookup(_ context.Context, identity string) (remediate.User, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, x := range u.byID {
		if x.ID == identity || strings.EqualFold(x.Email, identity) {
			return x, nil
		}
	}
	return remediate.User{}, fmt.Errorf("lookup %s: %w", identity, remediate.ErrUserNotFound)
}

func (u *users) LoadedAt() time.Time { return time.Time{} }

func (u *users) set(id, state string) (remediate.User, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if state != "" {
		u.states[id] = state
	}
	x := u.byID[id]
	x.State = u.states[id]
	return x, nil
}

func (u *users) state(id string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.states[id]
}

func (u *users) GetUser(_ context.Context, id string) (remediate.User, error) { return u.set(id, "") }
func (u *users) SuspendUser(_ context.Context, id string) (remediate.User, error) {
	return u.set(id, remediate.StateSuspended)
}
func (u *users) ReactivateUser(_ context.Context, id string) (remediate.User, error) {
	return u.set(id, remediate.StateActive)
}

// answerLog is the AnswerWriter: it keeps each answer and has the decision
// service apply it at once, as a running consumer would.
type answerLog struct {
	svc *remediate.Service

	mu      sync.Mutex
	written []remediate.Answer
}

func (a *answerLog) WriteAnswer(ctx context.Context, ans remediate.Answer) (remediate.Answer, error) {
	a.mu.Lock()
	ans.Nonce = "nonce-" + strconv.Itoa(len(a.written)+1)
	a.written = append(a.written, ans)
	a.mu.Unlock()
	ans.At = time.Now()
	ans.Source = remediate.Source{Topic: "tripline.approvals", Offset: 1}
	a.svc.Answer(ctx, ans) // its outcome reaches Slack as notices
	return ans, nil
}

func (a *answerLog) answers() []remediate.Answer {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.written)
}

// containEnv is the Slack side of approvals (Approvals, its Handler served
// on a socket) over a fake Slack, subscribed to a decision service with a
// fake account, its answers applied by that service.
type containEnv struct {
	t       *testing.T
	a       *slackapproval.Approvals
	clock   *fakeclock.Clock
	slack   *fakeSlack
	ledger  *remediate.Ledger
	svc     *remediate.Service
	users   *users
	answers *answerLog
	srv     *httptest.Server
	clicks  int
}

var (
	alice = remediate.User{ID: "OPALICE", Email: "alice@example.com", State: remediate.StateActive}
	bob   = remediate.User{ID: "OPBOB", Email: "bob@example.com", State: remediate.StateActive}
)

func newContainEnv(t *testing.T) *containEnv {
	t.Helper()
	e := &containEnv{t: t, clock: fakeclock.New(time.Now().UTC()), slack: newFakeSlack(t, testToken)}
	st := &ledgerStore{}
	e.ledger = remediate.NewLedger(st, remediate.LedgerConfig{Instance: "test", Now: e.clock.Now})
	st.l = e.ledger
	e.users = &users{byID: map[string]remediate.User{}, states: map[string]string{}}
	for _, u := range []remediate.User{alice, bob} {
		e.users.byID[u.ID], e.users.states[u.ID] = u, u.State
	}
	e.answers = &answerLog{}
	a, err := slackapproval.NewApprovals(slackapproval.ApprovalsConfig{
		Notifier: slackapproval.NotifierConfig{BotToken: testToken, Channel: "C0APPROVAL", APIURL: e.slack.APIURL()},
		Handler: &slackapproval.HandlerConfig{SigningSecret: testSecret, Approvers: []string{"UALICE"},
			ResponseURLPrefixes: []string{e.slack.HookPrefix()}},
		Now: e.clock.Now,
	}, e.ledger, e.answers, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = remediate.New(remediate.Config{Instance: "test", Approvals: true}, remediate.Deps{Directory: e.users, API: e.users, Ledger: e.ledger,
		Now: e.clock.Now, Notify: a.Notice})
	if err != nil {
		t.Fatal(err)
	}
	e.answers.svc, e.a = e.svc, a
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	e.srv = httptest.NewServer(a.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

// suspend has rule r1 suspend u for d (0: permanently).
func (e *containEnv) suspend(u remediate.User, d time.Duration) {
	e.t.Helper()
	dec := remediate.Decision{RuleID: "r1", Mode: remediate.ModeEnforce, Action: remediate.ActionSuspend, Identity: u.Email,
		EventID: "evt-" + u.ID + "-" + strconv.FormatInt(e.clock.Now().UnixNano(), 10), Reason: "sign-in from two continents within 5m"}
	if d > 0 {
		dec.SuspendFor = []time.Duration{d}
	}
	if out, err := e.svc.Decide(e.t.Context(), dec); err != nil || out.Result != remediate.ResultSuspended {
		e.t.Fatalf("suspend %s: %s, %v", u.ID, out.Result, err)
	}
}

// posted waits for the message of u's timed suspension to be recorded and
// returns it with the blocks Slack received.
func (e *containEnv) posted(u remediate.User) (slackapproval.MessageRef, apiCall) {
	e.t.Helper()
	var msg remediate.ApprovalMessage
	waitFor(e.t, "the message of "+u.ID+" recorded", func() bool {
		var ok bool
		msg, ok = e.ledger.ApprovalMessage(remediate.ContainmentID(u.ID))
		return ok
	})
	for _, c := range e.slack.callsTo("chat.postMessage") {
		if strings.Contains(c.Form.Get("blocks"), u.ID) {
			return slackapproval.MessageRef{Channel: msg.Channel, TS: msg.TS}, c
		}
	}
	e.t.Fatalf("no chat.postMessage about %s", u.ID)
	return slackapproval.MessageRef{}, apiCall{}
}

// press sends a correctly signed click on button (action id) of the
// message at ref by user, and requires a 200.
func (e *containEnv) press(user, button string, ref slackapproval.MessageRef, post apiCall) {
	e.t.Helper()
	value := buttonValue(e.t, post, button)
	e.clicks++
	p := map[string]any{
		"type": "block_actions", "trigger_id": "trigger-" + strconv.Itoa(e.clicks), "response_url": e.slack.HookPrefix() + user,
		"user":      map[string]any{"id": user},
		"container": map[string]any{"type": "message", "channel_id": ref.Channel, "message_ts": ref.TS},
		"message":   map[string]any{"blocks": json.RawMessage(post.Form.Get("blocks"))},
		"actions": []map[string]any{{"type": "button", "action_id": button, "block_id": slackapproval.BlockActions, "value": value,
			"action_ts": strconv.FormatInt(time.Now().Unix(), 10) + "." + strconv.Itoa(100000+e.clicks)}},
	}
	raw, err := json.Marshal(p)
	if err != nil {
		e.t.Fatal(err)
	}
	body := []byte(url.Values{"payload": {string(raw)}}.Encode())
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(e.t.Context(), http.MethodPost, e.srv.URL, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(slackapproval.HeaderTimestamp, ts)
	req.Header.Set(slackapproval.HeaderSignature, slackapproval.Sign(testSecret, ts, body))
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("click %s by %s: status %d", button, user, resp.StatusCode)
	}
}

// updatesOf returns the texts of the chat.update calls on the message at
// ref, with whether each kept an actions block (buttons).
func (e *containEnv) updatesOf(ref slackapproval.MessageRef) (texts []string, buttons []bool) {
	e.t.Helper()
	for _, c := range e.slack.callsTo("chat.update") {
		if c.Form.Get("channel") == ref.Channel && c.Form.Get("ts") == ref.TS {
			texts = append(texts, c.Form.Get("text"))
			buttons = append(buttons, slices.Contains(blockTypes(blocksOf(e.t, c)), "actions"))
		}
	}
	return texts, buttons
}

// waitUpdate waits for an update of the message at ref whose text has
// want, and reports whether it kept the buttons.
func (e *containEnv) waitUpdate(ref slackapproval.MessageRef, want string) bool {
	e.t.Helper()
	var kept bool
	waitFor(e.t, "an update saying "+want, func() bool {
		texts, buttons := e.updatesOf(ref)
		for i, s := range texts {
			if strings.Contains(s, want) {
				kept = buttons[i]
				return true
			}
		}
		return false
	})
	return kept
}

func blockTypes(blocks []map[string]any) []string {
	var out []string
	for _, b := range blocks {
		typ, _ := b["type"].(string)
		out = append(out, typ)
	}
	return out
}

// buttonValue is the value of the button with action id button in a
// posted message.
func buttonValue(t *testing.T, post apiCall, button string) string {
	t.Helper()
	for _, b := range blocksOf(t, post) {
		elements, _ := b["elements"].([]any)
		for _, el := range elements {
			m, _ := el.(map[string]any)
			if m["action_id"] == button {
				v, _ := m["value"].(string)
				return v
			}
		}
	}
	t.Fatalf("no %s button in %s", button, post.Form.Get("blocks"))
	return ""
}

// waitFor polls cond until it holds, failing the test after 5 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// TestContainmentPostedWithKeepAndLift: a timed suspension is posted to
// the approval channel (who, rule, until when) with Keep and Lift buttons,
// and its message is recorded in the ledger; a permanent suspension is
// not posted.
func TestContainmentPostedWithKeepAndLift(t *testing.T) {
	t.Parallel()
	e := newContainEnv(t)
	e.suspend(bob, 0)
	e.suspend(alice, 2*time.Hour)
	ref, post := e.posted(alice)
	if ref.Channel != "C0APPROVAL" || ref.TS == "" {
		t.Errorf("recorded message %+v", ref)
	}
	if n := len(e.slack.callsTo("chat.postMessage")); n != 1 {
		t.Errorf("%d messages posted, want 1 (the permanent suspension of bob is not posted)", n)
	}
	blocks := blocksOf(t, post)
	if ids := blockIDs(blocks); !slices.Equal(ids, []string{slackapproval.BlockSummary, slackapproval.BlockActions}) {
		t.Fatalf("block ids %v, want summary then buttons", ids)
	}
	until := e.clock.Now().Add(2 * time.Hour).UTC().Format("2006-01-02 15:04 UTC")
	for _, want := range []string{"alice@example.com", "OPALICE", "r1", "Until: " + until, "two continents"} {
		if !strings.Contains(post.Form.Get("blocks"), want) {
			t.Errorf("summary lacks %q: %s", want, post.Form.Get("blocks"))
		}
	}
	if !strings.Contains(post.Form.Get("text"), "until "+until) {
		t.Errorf("text %q lacks the end", post.Form.Get("text"))
	}
	elements, _ := blocks[1]["elements"].([]any)
	var got []string
	for _, el := range elements {
		m := el.(map[string]any)
		got = append(got, fmt.Sprint(m["action_id"], " ", m["text"].(map[string]any)["text"]))
		if v, _ := m["value"].(string); !strings.HasPrefix(v, "OPALICE@") {
			t.Errorf("button value %q does not name the suspension of OPALICE", v)
		}
	}
	if want := []string{slackapproval.ActionKeep + " Keep", slackapproval.ActionLift + " Lift"}; !slices.Equal(got, want) {
		t.Errorf("buttons %v, want %v", got, want)
	}
}

// TestContainmentKeepByApproverOnly: a non-approver's Keep click writes
// nothing; an approver's writes one keep answer bound to the timed
// suspension, by the clicker, via slack, which makes it permanent; the
// message loses its buttons.
func TestContainmentKeepByApproverOnly(t *testing.T) {
	t.Parallel()
	e := newContainEnv(t)
	e.suspend(alice, time.Hour)
	since := e.clock.Now()
	ref, post := e.posted(alice)

	e.press("UMALLORY", slackapproval.ActionKeep, ref, post)
	if got := e.answers.answers(); len(got) != 0 {
		t.Fatalf("a non-approver's click wrote %+v", got)
	}
	if hooks := e.slack.callsTo("hook"); len(hooks) != 1 || !strings.Contains(fmt.Sprint(hooks[0].Hook["text"]), "Only tripline approvers") {
		t.Errorf("non-approver told %+v, want the approvers-only refusal", hooks)
	}
	if _, ok := e.ledger.Contained(alice.ID); !ok {
		t.Fatal("the timed suspension ended after a non-approver's click")
	}

	e.press("UALICE", slackapproval.ActionKeep, ref, post)
	got := e.answers.answers()
	if len(got) != 1 {
		t.Fatalf("%d answers written, want 1", len(got))
	}
	a := got[0]
	if a.Kind != remediate.AnswerKeep || a.ApprovalID != remediate.ContainmentID(alice.ID) || a.UserID != alice.ID || a.RuleID != "r1" ||
		a.Action != remediate.ActionSuspend || !a.Created.Equal(since) || a.By != "UALICE" || a.Channel != slackapproval.ChannelSlack {
		t.Errorf("answer %+v: want a keep bound to the timed suspension of %s since %s, by UALICE via slack", a, alice.ID, since)
	}
	if _, ok := e.ledger.Contained(alice.ID); ok || e.users.state(alice.ID) != remediate.StateSuspended {
		t.Errorf("after keep: still timed %v, state %s; want a permanent suspension", ok, e.users.state(alice.ID))
	}
	if e.waitUpdate(ref, "Kept by <@UALICE>") {
		t.Error("the kept message still has its buttons")
	}
	if hooks := e.slack.callsTo("hook"); len(hooks) != 1 {
		t.Errorf("the approver was told %+v, want nothing (it took effect)", hooks[1:])
	}
}

// TestContainmentLiftByApprover: an approver's Lift click writes a lift
// answer; the user is reactivated and the message says so.
func TestContainmentLiftByApprover(t *testing.T) {
	t.Parallel()
	e := newContainEnv(t)
	e.suspend(alice, time.Hour)
	ref, post := e.posted(alice)
	e.press("UALICE", slackapproval.ActionLift, ref, post)
	if got := e.answers.answers(); len(got) != 1 || got[0].Kind != remediate.AnswerLift || got[0].By != "UALICE" {
		t.Fatalf("answers %+v, want one lift by UALICE", got)
	}
	if e.users.state(alice.ID) != remediate.StateActive {
		t.Errorf("alice %s after the lift", e.users.state(alice.ID))
	}
	if e.waitUpdate(ref, "tripline reactivated the user") {
		t.Error("the lifted message still has its buttons")
	}
	if hooks := e.slack.callsTo("hook"); len(hooks) != 0 {
		t.Errorf("the approver was told %+v, want nothing (it took effect)", hooks)
	}
}

// TestContainmentMessageFollowsNotices: the message is updated when the
// timed suspension is kept (from the CLI), extended (the buttons stay) or
// ends when its time is up.
func TestContainmentMessageFollowsNotices(t *testing.T) {
	t.Parallel()
	e := newContainEnv(t)
	e.suspend(alice, time.Hour)
	e.suspend(bob, time.Hour)
	aliceRef, _ := e.posted(alice)
	bobRef, _ := e.posted(bob)
	answer := func(u remediate.User, kind remediate.AnswerKind, d time.Duration, n int) {
		t.Helper()
		c, ok := e.ledger.Contained(u.ID)
		if !ok {
			t.Fatalf("no timed suspension of %s", u.ID)
		}
		ans := remediate.BindContainment(u.ID, c.Containment, remediate.Answer{Kind: kind, By: "dana", Channel: "cli", For: d,
			At: e.clock.Now(), Nonce: "cli-" + strconv.Itoa(n), Source: remediate.Source{Topic: "tripline.approvals", Offset: int64(n)}})
		if _, err := e.svc.Answer(t.Context(), ans); err != nil {
			t.Fatalf("%s %s: %v", kind, u.ID, err)
		}
	}
	answer(alice, remediate.AnswerKeep, 0, 1)
	if e.waitUpdate(aliceRef, "Kept by dana") {
		t.Error("the kept message still has its buttons")
	}
	answer(bob, remediate.AnswerExtend, 2*time.Hour, 2)
	ends := e.clock.Now().Add(3 * time.Hour).UTC().Format("2006-01-02 15:04 UTC")
	if !e.waitUpdate(bobRef, "Extended to "+ends+" by dana") {
		t.Error("the extended message lost its buttons")
	}
	e.clock.Advance(3 * time.Hour)
	for i, ans := range e.svc.DueContainments(e.clock.Now()) {
		ans.Nonce, ans.Source = "end-"+strconv.Itoa(i), remediate.Source{Topic: "tripline.approvals", Offset: int64(10 + i)}
		if _, err := e.svc.Answer(t.Context(), ans); err != nil {
			t.Fatal(err)
		}
	}
	if e.users.state(bob.ID) != remediate.StateActive {
		t.Fatalf("bob %s after the end", e.users.state(bob.ID))
	}
	if e.waitUpdate(bobRef, "tripline reactivated the user") {
		t.Error("the ended message still has its buttons")
	}
	if texts, _ := e.updatesOf(aliceRef); len(texts) != 1 {
		t.Errorf("alice's message updated %d times, want once: %q", len(texts), texts)
	}
}

// TestContainmentClicksThroughHandler: the Handler routes Keep and Lift to
// Decider.DecideContainment; a click on a timed suspension no longer in
// force changes nothing, is told so, and the stale message loses its
// buttons.
func TestContainmentClicksThroughHandler(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ref := slackapproval.MessageRef{Channel: "C0APPROVAL", TS: "1760000000.000001"}
	e.decider.contain("OPALICE@1")
	e.press(click{user: "UALICE", action: slackapproval.ActionKeep, id: "OPALICE@1", ref: ref})
	if got := e.decider.containment("OPALICE@1"); got != "keep by UALICE" {
		t.Errorf("decider has %q, want keep by UALICE", got)
	}
	e.press(click{user: "UBOB", action: slackapproval.ActionLift, id: "OPALICE@1", ref: ref})
	if hooks := e.hooksFor("UBOB"); len(hooks) != 1 || !strings.Contains(fmt.Sprint(hooks[0]["text"]), "came first") {
		t.Errorf("late clicker told %v", hooks)
	}
	e.press(click{user: "UBOB", action: slackapproval.ActionLift, id: "OPGONE@1", ref: ref})
	if hooks := e.hooksFor("UBOB"); len(hooks) != 2 || !strings.Contains(fmt.Sprint(hooks[1]["text"]), "no longer in force") {
		t.Errorf("click on a gone suspension told %v", hooks)
	}
	updates := e.slack.callsTo("chat.update")
	if len(updates) != 2 || !strings.Contains(updates[0].Form.Get("text"), "Kept by <@UALICE>") || !strings.Contains(updates[1].Form.Get("text"), "no longer in force") {
		var texts []string
		for _, u := range updates {
			texts = append(texts, u.Form.Get("text"))
		}
		t.Errorf("updates %q, want kept, then no longer in force", texts)
	}
	e.press(click{user: "UMALLORY", action: slackapproval.ActionKeep, id: "OPALICE@1", ref: ref})
	if calls := e.decider.callCount(); calls != 3 {
		t.Errorf("decider called %d times, want 3 (never for a non-approver)", calls)
	}
}

// TestStaleContainmentNoticeLeavesTheLaterMessage: a notice about an
// earlier timed suspension of a user (delivered late) never rewrites the
// message of the one in force.
func TestStaleContainmentNoticeLeavesTheLaterMessage(t *testing.T) {
	t.Parallel()
	e := newContainEnv(t)
	e.suspend(alice, time.Hour)
	first, _ := e.ledger.Contained(alice.ID)
	firstRef, _ := e.posted(alice)
	e.clock.Advance(2 * time.Hour)
	for i, ans := range e.svc.DueContainments(e.clock.Now()) {
		ans.Nonce, ans.Source = "end-"+strconv.Itoa(i), remediate.Source{Topic: "tripline.approvals", Offset: int64(i)}
		if _, err := e.svc.Answer(t.Context(), ans); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(time.Hour)
	e.suspend(alice, time.Hour)
	var second remediate.ApprovalMessage
	waitFor(t, "the second message recorded", func() bool {
		second, _ = e.ledger.ApprovalMessage(remediate.ContainmentID(alice.ID))
		return second.TS != firstRef.TS
	})
	ref := slackapproval.MessageRef{Channel: second.Channel, TS: second.TS}
	before, _ := e.updatesOf(ref)
	out := remediate.Outcome{User: remediate.User{ID: alice.ID}, Result: remediate.ResultReactivated}
	e.a.Notice(t.Context(), remediate.Notice{Type: remediate.NoticeContainmentEnded, Time: e.clock.Now(), Outcome: &out,
		Containment: &first, End: remediate.EndReactivated})
	// A later notice about the suspension in force, to know the stale one was handled.
	e.a.Notice(t.Context(), remediate.Notice{Type: remediate.NoticeAction, Time: e.clock.Now(), Outcome: &remediate.Outcome{
		User: alice, Result: remediate.ResultSuspended, ContainedUntil: e.clock.Now().Add(time.Hour)}})
	waitFor(t, "the later notice handled", func() bool { return len(e.slack.callsTo("chat.postMessage")) == 3 })
	if after, _ := e.updatesOf(ref); len(after) != len(before) {
		t.Errorf("the message of the suspension in force was rewritten by a stale notice: %q", after[len(before):])
	}
}

// TestContainmentClickWhileEnding: while tripline is ending the timed
// suspension (reactivating the user), Keep and Lift write nothing and the
// approver is told so.
func TestContainmentClickWhileEnding(t *testing.T) {
	t.Parallel()
	e := newContainEnv(t)
	e.suspend(alice, time.Hour)
	ref, post := e.posted(alice)
	u, _ := e.ledger.User(alice.ID)
	u.Containment.EndNonce, u.Containment.EndingSince = "end-1", e.clock.Now()
	if err := e.ledger.PutUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	e.press("UALICE", slackapproval.ActionLift, ref, post)
	e.press("UALICE", slackapproval.ActionKeep, ref, post)
	if got := e.answers.answers(); len(got) != 0 {
		t.Errorf("answers written while ending: %+v", got)
	}
	hooks := e.slack.callsTo("hook")
	if len(hooks) != 2 || !strings.Contains(fmt.Sprint(hooks[0].Hook["text"]), "came first") || !strings.Contains(fmt.Sprint(hooks[1].Hook["text"]), "came first") {
		t.Errorf("approver told %+v, want twice that the end came first", hooks)
	}
}
