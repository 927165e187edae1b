package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/tripline-dev/tripline/internal/identity"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/secret"
)

// Type is what a notification reports.
type Type string

// The notification types.
const (
	// TypeAction: an enforce action ran (suspend, reactivate), whatever its
	// result.
	TypeAction = Type(remediate.NoticeAction)
	// TypeApprovalRequested: an action waits for a person's approval until
	// ExpiresAt.
	TypeApprovalRequested = Type(remediate.NoticeApprovalRequested)
	// TypeApprovalExpired: nobody approved the action in time.
	TypeApprovalExpired = Type(remediate.NoticeApprovalExpired)
	// TypeBreakerOpen: a blast-radius breaker tripped; suspensions in Scope
	// are held until an operator re-arms it.
	TypeBreakerOpen = Type(remediate.NoticeBreakerOpen)
	// TypeDLQ: a decision was dead-lettered with a Class that needs a
	// person (Config.DLQClasses).
	TypeDLQ Type = "dlq"
)

// valid reports whether t is one of the notification types.
func (t Type) valid() bool {
	switch t {
	case TypeAction, TypeApprovalRequested, TypeApprovalExpired, TypeBreakerOpen, TypeDLQ:
		return true
	}
	return false
}

// Notification is one thing a person should hear about. Only Type is
// required; the other fields are filled when they apply. Notify sets Time
// (when zero), EmailHash (from Email) and ID and, unless
// Config.IncludeEmail is set, clears Email and removes email addresses
// from Reason and EventID, so sinks never see more than they may.
type Notification struct {
	// ID identifies the notification across retries and sinks, so a
	// receiver can drop duplicates. Notify sets it.
	ID   string
	Type Type
	Time time.Time
	// RuleID is the rule that decided, empty for a global breaker.
	RuleID string
	// Action is the decided action (suspend, reactivate).
	Action string
	// UserID is the 1Password user id.
	UserID string
	// Email is the user's email address; sent only with IncludeEmail.
	Email string
	// EmailHash is HashEmail of the email; Notify sets it.
	EmailHash string
	// Result is the outcome (suspended, noop, failed, breaker_open, ...).
	Result string
	// Reason is the rule's rendered reason.
	Reason string
	// Scope is the breaker scope (global, rule:<id>) of a breaker trip.
	Scope string
	// Class is the dead-letter class of a TypeDLQ notification.
	Class string
	// Attempts is how many times the action was tried, when it failed.
	Attempts int
	// EventID is the id of the event that triggered the decision.
	EventID string
	// TraceID is the trace of the decision; Notify takes it from ctx when
	// empty.
	TraceID string
	// ApprovalID identifies an approval request.
	ApprovalID string
	// ExpiresAt is when an approval request expires.
	ExpiresAt time.Time
	// EndsAt is when the timed suspension an action started ends, after
	// which tripline reactivates the user unless a person keeps it (zero:
	// not a timed suspension).
	EndsAt time.Time
}

// FromNotice maps a decision-service notice to a notification (false for
// the notices that are not notifications: a reminder, the approvals' own
// decisions and a timed suspension's keep, extension and end, which are
// Slack message updates). Types and results are the decision service's own
// words; an action that started a timed suspension carries its end
// (EndsAt).
func FromNotice(nt remediate.Notice) (Notification, bool) {
	out := Notification{Time: nt.Time, TraceID: nt.TraceID}
	switch nt.Type {
	case remediate.NoticeAction, remediate.NoticeBreakerOpen, remediate.NoticeApprovalRequested, remediate.NoticeApprovalExpired:
		out.Type = Type(nt.Type)
	default:
		return out, false
	}
	if o := nt.Outcome; o != nil {
		out.RuleID, out.Action, out.UserID, out.Email = o.Decision.RuleID, string(o.Decision.Action), o.User.ID, o.User.Email
		out.Result, out.Reason, out.EventID, out.Attempts = string(o.Result), o.Decision.Reason, o.Decision.EventID, o.Attempts
		if out.Email == "" {
			out.Email = o.Decision.UserEmail
		}
		if nt.Type == remediate.NoticeAction {
			out.EndsAt = o.ContainedUntil
		}
	}
	if a := nt.Approval; a != nil {
		approvalFields(&out, a)
	}
	if b := nt.Breaker; b != nil {
		out.Scope, out.Result = b.Scope, string(remediate.ResultBreakerOpen)
		out.Reason = fmt.Sprintf("%d suspensions in %s reached the cap of %d", b.Count, b.Window, b.Cap)
		if rule, ok := strings.CutPrefix(b.Scope, remediate.ScopeRulePrefix); ok {
			out.RuleID = rule
		}
	}
	return out, true
}

// approvalFields fills what an approval says and the outcome did not.
func approvalFields(out *Notification, a *remediate.Approval) {
	out.ApprovalID, out.ExpiresAt = a.ID, a.Expires
	if out.RuleID == "" {
		out.RuleID, out.Action, out.UserID, out.Email, out.Reason, out.EventID = a.RuleID, string(a.Action), a.UserID, a.UserEmail, a.Reason, a.EventID
	}
	if out.Result == "" {
		out.Result = string(remediate.ResultPendingApproval)
		if a.State == remediate.ApprovalExpired {
			out.Result = string(remediate.ResultApprovalExpired)
		}
	}
}

// Notice hands the notification of a decision-service notice, if it is
// one, to the sinks (see Notify): the decision service's Notify hook.
func (n *Notifier) Notice(ctx context.Context, nt remediate.Notice) {
	if out, ok := FromNotice(nt); ok {
		n.Notify(ctx, out)
	}
}

// HashEmail returns the hash sinks see instead of an email address: the
// lower-case hex HMAC-SHA256 of identity.Fold(email) under key, prefixed
// "hmac-sha256:", or, when key is empty, the plain SHA-256 prefixed
// "sha256:". Folding first makes "Alice@Example.com" and
// "alice@example.com" hash alike. The keyed form is preferred: a plain
// hash of an email address is reversed by hashing a list of candidate
// addresses, a keyed one only by whoever holds the key. An empty email
// hashes to "".
func HashEmail(email string, key secret.Value) string {
	if email == "" {
		return ""
	}
	folded := identity.Fold(email)
	if key == "" {
		sum := sha256.Sum256([]byte(folded))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	mac := hmac.New(sha256.New, []byte(key.Reveal()))
	mac.Write([]byte(folded))
	return "hmac-sha256:" + hex.EncodeToString(mac.Sum(nil))
}
