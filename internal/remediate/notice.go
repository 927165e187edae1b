package remediate

import (
	"context"
	"time"
)

// NoticeType says what a notice is about.
type NoticeType string

// Notice types.
const (
	NoticeAction            NoticeType = "action"
	NoticeBreakerOpen                  = NoticeType(ResultBreakerOpen)
	NoticeApprovalRequested NoticeType = "approval_requested"
	NoticeApprovalReminder  NoticeType = "approval_reminder"
	NoticeApprovalApproved  NoticeType = "approval_approved"
	NoticeApprovalDenied    NoticeType = "approval_denied"
	NoticeApprovalExpired   NoticeType = "approval_expired"
	// The life of a timed suspension after it started (its start is a
	// NoticeAction whose Outcome.ContainedUntil is set). Containment names
	// it (the user and its start); Answer is the answer that did it, if
	// one did.
	//
	// NoticeContainmentKept: a person made it permanent (End is EndKept).
	NoticeContainmentKept NoticeType = "containment_kept"
	// NoticeContainmentExtended: a person or a rule's new match moved its
	// end to Outcome.ContainedUntil, or, when that is zero, a rule made it
	// permanent.
	NoticeContainmentExtended NoticeType = "containment_extended"
	// NoticeContainmentEnded: it ended (End is EndReactivated, EndLifted
	// or EndRefused; Outcome is the end's).
	NoticeContainmentEnded NoticeType = "containment_ended"
)

// Notice is something a person should hear about: an action carried out,
// a breaker that tripped, an approval requested, a reminder, an approval
// denied or expired, a timed suspension kept, extended or ended. Outcome,
// Approval, Breaker, Containment, Answer and End are set when they apply.
type Notice struct {
	Type     NoticeType
	Time     time.Time
	TraceID  string
	Outcome  *Outcome
	Approval *Approval
	Breaker  *BreakerEntry
	// Containment is the timed suspension a containment notice is about
	// (its UserID and Since identify it), as it stood when kept or ended,
	// with its new end when extended.
	Containment *ContainedUser
	// Answer is the answer that kept, extended, lifted or ended it (the
	// clock's, by "tripline" via "timeout", when its time was up); nil for
	// a rule's extension.
	Answer *Answer
	// End is how a timed suspension ended (EndKept, EndReactivated,
	// EndLifted, EndRefused).
	End string
}

// notifyContainment notifies a change of the timed suspension ct of a
// user: typ, with the outcome, the person's answer (nil: none) and how it
// ended ("" while it goes on).
func (s *Service) notifyContainment(ctx context.Context, typ NoticeType, userID string, ct Containment, out Outcome, ans *Answer, end string) {
	s.notify(ctx, Notice{Type: typ, Outcome: &out, Containment: &ContainedUser{UserID: userID, Containment: ct}, Answer: ans, End: end})
}
