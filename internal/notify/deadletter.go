package notify

import (
	"context"

	"github.com/tripline-dev/tripline/internal/deadletter"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// FromDeadLetter is the notification (TypeDLQ) of a record the pipeline
// dead-lettered: its class, rule, error and attempts (across parks), and
// userID, the 1Password user its failed decision was about ("" when it did
// not resolve; the record never names a user).
func FromDeadLetter(rec deadletter.Record, userID string) Notification {
	return Notification{Type: TypeDLQ, RuleID: rec.RuleID, UserID: userID, Result: string(remediate.ResultFailed),
		Class: rec.Class, Reason: rec.Message, Attempts: rec.Attempts}
}

// DeadLetter hands the notification of a dead-lettered record to the sinks
// (see Notify; only the classes of Config.DLQClasses reach them): the
// pipeline's Deps.OnDeadLetter hook.
func (n *Notifier) DeadLetter(ctx context.Context, rec deadletter.Record, userID string) {
	n.Notify(ctx, FromDeadLetter(rec, userID))
}
