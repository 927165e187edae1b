package slackapproval

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxActionIDLen is the longest pending action id Post accepts. The id
// travels as a button value, which Slack limits to 2000 characters; ids are
// short opaque strings, so a longer one is a bug.
const MaxActionIDLen = 255

// Action is a pending suspension waiting for an answer, as the approval
// request shows it. The pending-action store builds it.
type Action struct {
	// ID is the pending action's id, opaque to this package. It is the
	// value of both buttons and the id given to Decider.Decide.
	ID string
	// RuleID is the id of the rule that asked for approval.
	RuleID string
	// UserID is the 1Password user id to suspend.
	UserID string
	// UserEmail is the 1Password user's email, shown to approvers.
	UserEmail string
	// Reason is the rule's rendered reason.
	Reason string
	// EventID is the id of the event that matched.
	EventID string
	// TraceID is the trace id of the event's processing, for the traces UI.
	TraceID string
	// CreatedAt is when the action was created; with ExpiresAt it sets the
	// reminder time (see ReminderAt).
	CreatedAt time.Time
	// ExpiresAt is when the action expires: it is then denied and never
	// executed.
	ExpiresAt time.Time
}

func (a Action) validate() error {
	var errs []error
	switch {
	case a.ID == "":
		errs = append(errs, errors.New("action id is empty"))
	case len(a.ID) > MaxActionIDLen:
		errs = append(errs, fmt.Errorf("action id is %d bytes, more than %d", len(a.ID), MaxActionIDLen))
	case strings.ContainsFunc(a.ID, isControlOrSpace):
		errs = append(errs, errors.New("action id contains spaces or control characters"))
	}
	if a.UserID == "" {
		errs = append(errs, errors.New("1Password user id is empty"))
	}
	if a.ExpiresAt.IsZero() {
		errs = append(errs, errors.New("expiry is not set"))
	}
	return errors.Join(errs...)
}

// ReminderAt returns when the reminder for a is due: half way between
// CreatedAt and ExpiresAt. The store calls Notifier.Remind then.
func ReminderAt(a Action) time.Time {
	return a.CreatedAt.Add(a.ExpiresAt.Sub(a.CreatedAt) / 2)
}

// MessageRef identifies a posted approval request so that it can be
// replied to and updated. The store keeps it with the pending action.
type MessageRef struct {
	// Channel is the channel id Slack returned (C..., G... or D...).
	Channel string
	// TS is the message timestamp, Slack's id for the message.
	TS string
}

func (r MessageRef) validate() error {
	if r.Channel == "" || r.TS == "" {
		return errors.New("message reference needs a channel and a timestamp")
	}
	return nil
}

// Outcome is the answer to a pending action.
type Outcome struct {
	// Approved is true for an approval, false for a denial.
	Approved bool
	// By is who answered: a Slack user id ("U123", shown as a mention) or
	// another identity (shown as text).
	By string
	// At is when the answer was recorded.
	At time.Time
	// Reason is the approver's reason, if any.
	Reason string
}

// ChannelSlack is the channel name the Handler passes to Decider.Decide.
const ChannelSlack = "slack"

func isControlOrSpace(r rune) bool { return r <= ' ' || r == 0x7f }
