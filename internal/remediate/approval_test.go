package remediate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func approveOf(rule, identity, event string) Decision {
	return Decision{RuleID: rule, Mode: ModeApprove, Action: ActionSuspend, Identity: identity, EventID: event, ApprovalTimeout: 30 * time.Minute}
}

// answer is an answer to the approval id that s holds, bound to it as the
// CLI binds one (an unknown id gives an unbound answer).
func answer(s *Service, id string, kind AnswerKind, by string, at time.Time) Answer {
	ans := Answer{ApprovalID: id, Kind: kind, By: by, Channel: "cli", At: at, Nonce: fmt.Sprintf("%s-%s-%d", kind, by, at.UnixNano())}
	if a, ok := s.ledger.Approval(id); ok {
		ans = a.Bind(ans)
	}
	return ans
}

// notices collects the service's notices.
type notices struct {
	mu  sync.Mutex
	got []Notice
}

func (n *notices) add(_ context.Context, x Notice) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, x)
}

func (n *notices) types() []NoticeType {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []NoticeType
	for _, x := range n.got {
		out = append(out, x.Type)
	}
	return out
}

func approvalService(t *testing.T, users ...User) (*Service, *fakeAPI, *time.Time, *notices, *auditLog) {
	t.Helper()
	s, api, _, now := testService(t, Config{Approvals: true}, users...)
	n := &notices{}
	s.notice = n.add
	audit := &auditLog{}
	s.auditor = audit
	return s, api, now, n, audit
}

// TestApproveRuleWaitsForApprovalThenActs: an approve rule's decision
// becomes a pending approval and calls nothing; the same event again finds
// it; an approve answer carries the action out once, audited with who
// approved; a later answer changes nothing.
func TestApproveRuleWaitsForApprovalThenActs(t *testing.T) {
	t.Parallel()
	s, api, now, n, audit := approvalService(t, ann)
	out, err := s.Decide(t.Context(), approveOf("r1", "ann@example.com", "ev-1"))
	if err != nil || out.Result != ResultPendingApproval {
		t.Fatalf("Decide = %+v, %v; want pending_approval", out, err)
	}
	if len(api.calls) != 0 {
		t.Fatalf("calls before approval: %v", api.calls)
	}
	id := ApprovalID("r1", "ANN", "ev-1")
	a, ok := s.ledger.Approval(id)
	if !ok || a.State != ApprovalPending || a.UserID != "ANN" || !a.Expires.Equal(now.Add(30*time.Minute)) {
		t.Fatalf("approval %+v (%v)", a, ok)
	}
	if out, _ := s.Decide(t.Context(), approveOf("r1", "ann@example.com", "ev-1")); out.Result != ResultPendingApproval || len(s.ledger.Approvals()) != 1 {
		t.Errorf("redelivered: %+v, %d approvals", out, len(s.ledger.Approvals()))
	}
	if out, _ := s.Decide(t.Context(), approveOf("r1", "ann@example.com", "ev-2")); out.Result != ResultPendingApproval || len(s.ledger.Approvals()) != 1 {
		t.Errorf("another event while one is pending: %+v, %d approvals, want the pending one", out, len(s.ledger.Approvals()))
	}
	*now = now.Add(10 * time.Minute)
	first := answer(s, id, AnswerApprove, "dana", *now)
	first.Source = Source{Topic: "tripline.approvals", Partition: 0, Offset: 7}
	out, err = s.Answer(t.Context(), first)
	if err != nil || out.Result != ResultSuspended {
		t.Fatalf("Answer = %+v, %v; want suspended", out, err)
	}
	if api.count("suspend") != 1 {
		t.Errorf("%d suspend calls, want 1", api.count("suspend"))
	}
	a, _ = s.ledger.Approval(id)
	if a.State != ApprovalApproved || a.DecidedBy != "dana" || a.Result != ResultSuspended || a.Answer != first.Nonce {
		t.Errorf("approval after approve %+v", a)
	}
	if _, err := s.Answer(t.Context(), answer(s, id, AnswerDeny, "lee", *now)); !errors.Is(err, ErrApprovalDecided) {
		t.Errorf("second answer: %v, want ErrApprovalDecided", err)
	}
	if _, err := s.Answer(t.Context(), first); err != nil || api.count("suspend") != 1 {
		t.Errorf("the deciding record delivered again: %v, %d suspend calls; want nothing and no second call", err, api.count("suspend"))
	}
	copied := first
	copied.Source.Offset = 9
	if _, err := s.Answer(t.Context(), copied); !errors.Is(err, ErrAnswerRefused) || api.count("suspend") != 1 {
		t.Errorf("the deciding answer copied to another record: %v, %d suspend calls; want ErrAnswerRefused and no second call", err, api.count("suspend"))
	}
	var last Record
	for _, r := range audit.recs {
		last = r
	}
	if last.Result != "suspended" || last.Mode != "approve" || last.Detail == "" || last.AnsweredBy != "dana" || last.AnswerChannel != "cli" {
		t.Errorf("audit of the action %+v, want answered by dana via cli", last)
	}
	if got := fmt.Sprint(n.types()); got != "[approval_requested approval_approved action]" {
		t.Errorf("notices %s", got)
	}
}

// TestExpiredApprovalIsNeverCarriedOut: nobody answers; the clock's remind
// then expire answers close it, and an approve answer after the expiry
// changes nothing and calls nothing.
func TestExpiredApprovalIsNeverCarriedOut(t *testing.T) {
	t.Parallel()
	s, api, now, n, audit := approvalService(t, ann)
	if _, err := s.Decide(t.Context(), approveOf("r1", "ANN", "ev-1")); err != nil {
		t.Fatal(err)
	}
	id := ApprovalID("r1", "ANN", "ev-1")
	if due := s.DueAnswers(now.Add(14 * time.Minute)); len(due) != 0 {
		t.Errorf("due before half time: %+v", due)
	}
	due := s.DueAnswers(now.Add(15 * time.Minute))
	if len(due) != 1 || due[0].Kind != AnswerRemind {
		t.Fatalf("due at half time: %+v", due)
	}
	*now = now.Add(15 * time.Minute)
	due[0].Nonce = "remind-1"
	if _, err := s.Answer(t.Context(), due[0]); err != nil {
		t.Fatal(err)
	}
	if due := s.DueAnswers(now.Add(time.Minute)); len(due) != 0 {
		t.Errorf("a second reminder is due: %+v", due)
	}
	*now = now.Add(15 * time.Minute)
	due = s.DueAnswers(*now)
	if len(due) != 1 || due[0].Kind != AnswerExpire {
		t.Fatalf("due at expiry: %+v", due)
	}
	due[0].Nonce = "expire-1"
	out, err := s.Answer(t.Context(), due[0])
	if err != nil || out.Result != ResultApprovalExpired {
		t.Fatalf("expire: %+v, %v", out, err)
	}
	if _, err := s.Answer(t.Context(), answer(s, id, AnswerApprove, "dana", *now)); !errors.Is(err, ErrApprovalDecided) {
		t.Errorf("approve after expiry: %v, want ErrApprovalDecided", err)
	}
	if len(api.calls) != 0 {
		t.Errorf("calls: %v, want none", api.calls)
	}
	if got := fmt.Sprint(n.types()); got != "[approval_requested approval_reminder approval_expired]" {
		t.Errorf("notices %s", got)
	}
	if r := audit.recs[len(audit.recs)-1]; r.Result != "approval_expired" {
		t.Errorf("audit %+v", r)
	}
}

// TestApproveAfterExpiryBeforeTheClockExpiresIt: an approve answer given
// after the expiry, applied before any expire answer, expires the approval
// instead of acting.
func TestApproveAfterExpiryBeforeTheClockExpiresIt(t *testing.T) {
	t.Parallel()
	s, api, now, _, _ := approvalService(t, ann)
	if _, err := s.Decide(t.Context(), approveOf("r1", "ANN", "ev-1")); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(31 * time.Minute)
	id := ApprovalID("r1", "ANN", "ev-1")
	if _, err := s.Answer(t.Context(), answer(s, id, AnswerApprove, "dana", *now)); !errors.Is(err, ErrApprovalExpired) {
		t.Fatalf("late approve: %v, want ErrApprovalExpired", err)
	}
	if a, _ := s.ledger.Approval(id); a.State != ApprovalExpired || len(api.calls) != 0 {
		t.Errorf("approval %+v, calls %v", a, api.calls)
	}
}

// TestDeniedApprovalCallsNothing records who denied and why.
func TestDeniedApprovalCallsNothing(t *testing.T) {
	t.Parallel()
	s, api, now, _, audit := approvalService(t, ann)
	if _, err := s.Decide(t.Context(), approveOf("r1", "ANN", "ev-1")); err != nil {
		t.Fatal(err)
	}
	id := ApprovalID("r1", "ANN", "ev-1")
	deny := answer(s, id, AnswerDeny, "lee", *now)
	deny.Reason = "travelling, confirmed by phone"
	out, err := s.Answer(t.Context(), deny)
	if err != nil || out.Result != ResultApprovalDenied {
		t.Fatalf("deny: %+v, %v", out, err)
	}
	a, _ := s.ledger.Approval(id)
	if a.DecidedBy != "lee" || a.DenyReason != deny.Reason || len(api.calls) != 0 {
		t.Errorf("approval %+v, calls %v", a, api.calls)
	}
	if r := audit.recs[len(audit.recs)-1]; r.Result != "approval_denied" || r.Detail == "" {
		t.Errorf("audit %+v", r)
	}
}

// TestApprovedActionPassesTheBreakerAgain: the guards run again when the
// approved action is carried out: a breaker that tripped in between holds
// it, and the approval stays approved, not carried out.
func TestApprovedActionPassesTheBreakerAgain(t *testing.T) {
	t.Parallel()
	s, api, now, _, _ := approvalService(t, ann)
	if _, err := s.Decide(t.Context(), approveOf("r1", "ANN", "ev-1")); err != nil {
		t.Fatal(err)
	}
	// The breaker trips in between: the approved action is held.
	if err := s.ledger.PutBreaker(t.Context(), BreakerEntry{Scope: ScopeGlobal, Open: true, At: *now}); err != nil {
		t.Fatal(err)
	}
	s.cfg.Breaker = Limit{Count: 5, Window: time.Hour}
	id := ApprovalID("r1", "ANN", "ev-1")
	out, err := s.Answer(t.Context(), answer(s, id, AnswerApprove, "dana", *now))
	var f *Failure
	if !errors.As(err, &f) || f.Class != ClassBreakerOpen || out.Result != ResultBreakerOpen || api.count("suspend") != 0 {
		t.Fatalf("approve with the breaker open: %+v, %v, calls %v", out, err, api.calls)
	}
	if a, _ := s.ledger.Approval(id); a.State != ApprovalApproved || a.Result != "" || !strings.Contains(a.Failure, ClassBreakerOpen) {
		t.Errorf("approval %+v: want approved, not carried out", a)
	}
}

// TestApprovalsOffActAsShadow: an approve rule without approvals set up
// fails closed: its decisions end as shadow, never as an action.
func TestApprovalsOffActAsShadow(t *testing.T) {
	t.Parallel()
	s, api, _, _ := testService(t, Config{}, ann)
	out, err := s.Decide(t.Context(), approveOf("r1", "ANN", "ev-1"))
	if err != nil || out.Result != ResultShadow || len(api.calls) != 0 || len(s.ledger.Approvals()) != 0 {
		t.Fatalf("Decide = %+v, %v, calls %v", out, err, api.calls)
	}
}

// TestForgetApprovals drops approvals decided over a week ago.
func TestForgetApprovals(t *testing.T) {
	t.Parallel()
	s, _, now, _, _ := approvalService(t, ann, bob)
	for _, u := range []string{"ANN", "BOB"} {
		if _, err := s.Decide(t.Context(), approveOf("r1", u, "ev-"+u)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Answer(t.Context(), answer(s, ApprovalID("r1", "ANN", "ev-ANN"), AnswerDeny, "lee", *now)); err != nil {
		t.Fatal(err)
	}
	if err := s.ForgetApprovals(t.Context(), now.Add(8*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	left := s.ledger.Approvals()
	if len(left) != 1 || left[0].UserID != "BOB" {
		t.Errorf("left %+v: want only the pending one", left)
	}
}
