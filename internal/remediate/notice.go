package remediate

import "time"

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
)

// Notice is something a person should hear about: an action carried out,
// a breaker that tripped, an approval requested, a reminder, an approval
// denied or expired. Outcome, Approval and Breaker are set when they
// apply.
type Notice struct {
	Type     NoticeType
	Time     time.Time
	TraceID  string
	Outcome  *Outcome
	Approval *Approval
	Breaker  *BreakerEntry
}
