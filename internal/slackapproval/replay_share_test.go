package slackapproval_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/tripline-dev/tripline/internal/slackapproval"
)

// TestNonApproverFloodLeavesApproversIn: more signed clicks from
// non-approvers than the replay cache holds (from one account, and spread
// over many so no per-user share stops them) are each refused with the
// ephemeral answer, take no room in the cache, and never reach the
// Decider; an approver's click afterwards is accepted.
func TestNonApproverFloodLeavesApproversIn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		users int
	}{
		{"one non-approver", 1},
		{"many non-approvers", 2 * slackapproval.MaxReplayEntries / slackapproval.MaxReplayEntriesPerUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			ref, blocks := e.post("pa-1")
			// One payload per user, made unique per click by its
			// trigger_id: building each from scratch makes the test slow.
			// A response_url outside the prefixes puts the ephemeral
			// answer in the HTTP body, so the flood makes no calls out.
			bodies := make(map[string][]byte)
			bad := 0
			for i := range slackapproval.MaxReplayEntries + 1 {
				user := "UMALLORY" + strconv.Itoa(i%tt.users)
				if bodies[user] == nil {
					bodies[user] = e.payloadBody(click{user: user, action: slackapproval.ActionApprove, id: "pa-1", ref: ref,
						trigger: "flood-trigger", responseURL: "https://elsewhere.invalid/hooks/" + user})
				}
				req := e.signed(bytes.Replace(bodies[user], []byte("flood-trigger"), []byte("flood-trigger-"+strconv.Itoa(i)), 1))
				rec := httptest.NewRecorder()
				e.handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Only tripline approvers") {
					if bad == 0 {
						t.Errorf("click %d by %s: status %d %q, want 200 and the ephemeral refusal", i, user, rec.Code, rec.Body.String())
					}
					bad++
				}
			}
			if bad > 1 {
				t.Errorf("%d clicks in all were not given the ephemeral refusal", bad)
			}
			if n := e.handler.ReplayLen(); n != 0 {
				t.Errorf("replay cache holds %d ids after non-approver clicks, want 0", n)
			}
			if n := e.decider.callCount(); n != 0 {
				t.Errorf("Decider calls = %d, want 0", n)
			}

			status, body := e.do(e.signed(e.payloadBody(click{user: "UALICE", action: slackapproval.ActionApprove, id: "pa-1", ref: ref, blocks: blocks})))
			if status != http.StatusOK {
				t.Fatalf("approver after the flood: status %d %q, want 200", status, body)
			}
			if o, ok := e.decider.outcome("pa-1"); !ok || o.By != "UALICE" {
				t.Errorf("approver's answer not recorded: %+v, %v", o, ok)
			}
		})
	}
}

// TestNonApproverClicksNotRemembered: a non-approver's click, and a group
// member's click while the group cannot be listed, leave the replay cache
// empty and get their ephemeral answer; the same signed non-approver click
// sent again gets it again (there is nothing to replay); an approver's
// click is remembered.
func TestNonApproverClicksNotRemembered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *slackapproval.HandlerConfig) {
		c.Approvers = []string{"UALICE"}
		c.ApproverGroup = "SAPPROVERS"
	})
	e.slack.setMembers("UCAROL")
	ref, blocks := e.post("pa-1")

	e.press(click{user: "UMALLORY", action: slackapproval.ActionApprove, id: "pa-1", ref: ref, blocks: blocks})
	body := e.payloadBody(click{user: "UMALLORY", action: slackapproval.ActionDeny, id: "pa-1", ref: ref, blocks: blocks})
	for i := range 2 {
		if status, _ := e.do(e.signed(body)); status != http.StatusOK {
			t.Errorf("non-approver click %d: status %d, want 200", i, status)
		}
	}

	e.slack.setFail("usergroups.users.list", "missing_scope")
	e.clock.Advance(slackapproval.DefaultGroupRefreshInterval)
	e.press(click{user: "UCAROL", action: slackapproval.ActionApprove, id: "pa-1", ref: ref, blocks: blocks})

	if n := e.handler.ReplayLen(); n != 0 {
		t.Errorf("replay cache holds %d ids, want 0", n)
	}
	if n := e.decider.callCount(); n != 0 {
		t.Errorf("Decider calls = %d, want 0", n)
	}
	if h := e.hooksFor("UMALLORY"); len(h) != 3 || !strings.Contains(h[0]["text"].(string), "Only tripline approvers") {
		t.Errorf("non-approver's ephemeral answers = %v, want 3 refusals", h)
	}
	if h := e.hooksFor("UCAROL"); len(h) != 1 || !strings.Contains(h[0]["text"].(string), "could not check") {
		t.Errorf("group member's ephemeral answers = %v, want a try-again answer", h)
	}

	e.press(click{user: "UALICE", action: slackapproval.ActionApprove, id: "pa-1", ref: ref, blocks: blocks})
	if n := e.handler.ReplayLen(); n != 1 {
		t.Errorf("replay cache holds %d ids after an approver's click, want 1", n)
	}
}

// TestApproverOverShareRefused: an approver who has had
// MaxReplayEntriesPerUser clicks accepted in ReplayWindow is refused (429,
// logged at warn with the user id) without reaching the Decider; a replay
// of one of those clicks is still refused as a replay (409); another
// approver is accepted meanwhile; and once the window has passed the first
// approver is accepted again.
func TestApproverOverShareRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ref, blocks := e.post("pa-1")
	refB, blocksB := e.post("pa-2")

	var first []byte
	for i := range slackapproval.MaxReplayEntriesPerUser {
		body := e.payloadBody(click{user: "UALICE", action: slackapproval.ActionApprove, id: "pa-1", ref: ref, blocks: blocks})
		if i == 0 {
			first = body
		}
		if status, resp := e.do(e.signed(body)); status != http.StatusOK {
			t.Fatalf("click %d within the share: status %d %q", i, status, resp)
		}
	}
	calls := e.decider.callCount()

	status, resp := e.do(e.signed(e.payloadBody(click{user: "UALICE", action: slackapproval.ActionApprove, id: "pa-2", ref: refB, blocks: blocksB})))
	if status != http.StatusTooManyRequests || !strings.Contains(resp, "too many answers from this Slack user") {
		t.Errorf("click past the share: status %d %q, want 429 saying too many answers", status, resp)
	}
	if n := e.decider.callCount(); n != calls {
		t.Errorf("Decider calls = %d after a refused click, want %d", n, calls)
	}
	if _, ok := e.decider.outcome("pa-2"); ok {
		t.Error("click past the share was recorded")
	}
	if !hasLog(t, e.logs.String(), func(l map[string]any) bool {
		return l["level"] == "WARN" && l["status"] == float64(http.StatusTooManyRequests) && l["slack_user"] == "UALICE"
	}) {
		t.Errorf("no warn line with status 429 and slack_user UALICE:\n%s", e.logs.String())
	}

	if status, _ := e.do(e.signed(first)); status != http.StatusConflict {
		t.Errorf("replay of an accepted click by a user at their share: status %d, want 409", status)
	}

	e.press(click{user: "UBOB", action: slackapproval.ActionDeny, id: "pa-2", ref: refB, blocks: blocksB})
	if o, ok := e.decider.outcome("pa-2"); !ok || o.By != "UBOB" {
		t.Errorf("other approver while UALICE is over her share: %+v, %v", o, ok)
	}

	e.clock.Advance(slackapproval.ReplayWindow)
	ref3, blocks3 := e.post("pa-3")
	e.press(click{user: "UALICE", action: slackapproval.ActionApprove, id: "pa-3", ref: ref3, blocks: blocks3})
	if o, ok := e.decider.outcome("pa-3"); !ok || o.By != "UALICE" {
		t.Errorf("UALICE after ReplayWindow: %+v, %v; want her answer recorded", o, ok)
	}
}

// hasLog reports whether a JSON log line of logs satisfies match.
func hasLog(t *testing.T, logs string, match func(map[string]any) bool) bool {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		if match(l) {
			return true
		}
	}
	return false
}
