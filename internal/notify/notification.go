package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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
	TypeAction Type = "action"
	// TypeApprovalRequested: an action waits for a person's approval until
	// ExpiresAt.
	TypeApprovalRequested Type = "approval_requested"
	// TypeApprovalExpired: nobody approved the action in time.
	TypeApprovalExpired Type = "approval_expired"
	// TypeBreakerOpen: a blast-radius breaker tripped; suspensions in Scope
	// are held until an operator re-arms it.
	TypeBreakerOpen Type = "breaker_open"
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
}

// FromRecord builds a notification of type t from the decision service's
// audit record (action, failure or dead-letter).
func FromRecord(t Type, rec remediate.Record) Notification {
	return Notification{
		Type: t, Time: rec.Time, RuleID: rec.RuleID, Action: rec.Action, UserID: rec.UserID,
		Email: rec.UserEmail, Result: rec.Result, Reason: rec.Reason, Class: rec.Class,
		Attempts: rec.Attempts, EventID: rec.EventID, TraceID: rec.TraceID,
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
