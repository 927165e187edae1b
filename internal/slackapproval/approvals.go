package slackapproval

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tripline-dev/tripline/internal/remediate"
)

// queueSize bounds the Slack updates waiting to be sent; past it an update
// is dropped and logged (the approval itself is in the ledger either way).
const queueSize = 256

// answerWait is how long a click waits for the consumer to apply its
// answer before Slack is told it was recorded.
const answerWait = 2 * time.Second

// AnswerWriter writes an answer to a pending action where the consumer
// applies it (the approvals topic), signed, and returns it as written
// (with its nonce and time).
type AnswerWriter interface {
	WriteAnswer(ctx context.Context, ans remediate.Answer) (remediate.Answer, error)
}

// Approvals is the Slack side of approvals: it posts the decision
// service's approval requests to a channel, keeps their messages up to
// date (reminder, decision, expiry) and, with a Handler, turns the Approve
// and Deny buttons into answers. It does the same for timed suspensions:
// each one that starts is posted with Keep and Lift buttons, and its
// message is updated when it is kept, extended or ends (see
// containment_approvals.go). Messages are sent from one goroutine (Run),
// off the decision path; the message of each request (and of each timed
// suspension, under remediate.ContainmentID of its user) is recorded in
// the ledger so that any instance can update it.
type Approvals struct {
	notifier *Notifier
	handler  *Handler // nil: no buttons served
	ledger   *remediate.Ledger
	answers  AnswerWriter
	log      *slog.Logger
	now      func() time.Time
	queue    chan remediate.Notice
}

// ApprovalsConfig configures Approvals. Handler is nil when nobody serves
// the buttons (answers then come from the CLI).
type ApprovalsConfig struct {
	Notifier NotifierConfig
	Handler  *HandlerConfig
	// Now is the clock that judges expiry (default time.Now).
	Now func() time.Time
}

// NewApprovals builds the Slack side of approvals over ledger, writing
// answers with answers.
func NewApprovals(cfg ApprovalsConfig, ledger *remediate.Ledger, answers AnswerWriter, log *slog.Logger) (*Approvals, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	n, err := NewNotifier(cfg.Notifier, nil)
	if err != nil {
		return nil, err
	}
	a := &Approvals{notifier: n, ledger: ledger, answers: answers, log: log, now: cfg.Now, queue: make(chan remediate.Notice, queueSize)}
	if cfg.Handler != nil {
		if a.handler, err = NewHandler(*cfg.Handler, approvalsDecider{a}, n, log); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// Handler serves the buttons (nil without a HandlerConfig).
func (a *Approvals) Handler() *Handler { return a.handler }

// Check proves the bot token works and the approver group is readable.
func (a *Approvals) Check(ctx context.Context) error {
	if err := a.notifier.Check(ctx); err != nil {
		return err
	}
	if a.handler != nil {
		return a.handler.Check(ctx)
	}
	return nil
}

// Notice takes a decision-service notice (the Notify hook); approval and
// timed suspension notices are queued for Run, never blocking.
func (a *Approvals) Notice(_ context.Context, n remediate.Notice) {
	var id string
	switch {
	case isContainmentNotice(n):
		id = remediate.ContainmentID(containmentUser(n))
	case n.Approval != nil:
		id = n.Approval.ID
	default:
		return
	}
	select {
	case a.queue <- n:
	default:
		a.log.Warn("slack update dropped: too many waiting (the approval or timed suspension is in the ledger; consumer approvals list and consumer containment list show them)",
			"approval_id", id, "notice", string(n.Type))
	}
}

// Run sends the queued updates until ctx is done.
func (a *Approvals) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-a.queue:
			a.send(ctx, n)
		}
	}
}

// send posts or updates the message of one approval or timed suspension
// notice.
func (a *Approvals) send(ctx context.Context, n remediate.Notice) {
	if isContainmentNotice(n) {
		a.sendContainment(ctx, n)
		return
	}
	ap := *n.Approval
	act := Action{ID: ap.ID, RuleID: ap.RuleID, UserID: ap.UserID, UserEmail: ap.UserEmail, Reason: ap.Reason,
		EventID: ap.EventID, TraceID: ap.TraceID, CreatedAt: ap.Created, ExpiresAt: ap.Expires}
	log := a.log.With("approval_id", ap.ID, "notice", string(n.Type))
	if n.Type == remediate.NoticeApprovalRequested {
		ref, err := a.notifier.Post(ctx, act)
		if err != nil {
			log.Warn("approval request not posted to slack; it can be answered with consumer approvals", "error", err.Error())
			return
		}
		if err := a.ledger.PutApprovalMessage(ctx, remediate.ApprovalMessage{ID: ap.ID, Channel: ref.Channel, TS: ref.TS}); err != nil {
			log.Warn("slack message of the approval not recorded: later updates will not reach it", "error", err.Error())
		}
		return
	}
	msg, ok := a.ledger.ApprovalMessage(ap.ID)
	if !ok {
		return // never posted (no channel then, or the post failed)
	}
	ref := MessageRef{Channel: msg.Channel, TS: msg.TS}
	var err error
	switch n.Type {
	case remediate.NoticeApprovalReminder:
		err = a.notifier.Remind(ctx, ref, act)
	case remediate.NoticeApprovalExpired:
		err = a.notifier.Expired(ctx, ref, act, ap.Expires)
	case remediate.NoticeApprovalApproved, remediate.NoticeApprovalDenied:
		err = a.notifier.Decided(ctx, ref, act, Outcome{Approved: ap.State == remediate.ApprovalApproved, By: ap.DecidedBy, At: ap.DecidedAt, Reason: ap.DenyReason})
	}
	if err != nil {
		log.Warn("slack message of the approval not updated", "error", err.Error())
	}
}

// approvalsDecider turns a click into an answer on the approvals topic, and
// tells the clicker whether theirs was the first answer (the Handler's
// Decider).
type approvalsDecider struct{ a *Approvals }

// Decide implements Decider.
func (d approvalsDecider) Decide(ctx context.Context, id string, approve bool, by, channel, reason string) error {
	a := d.a
	ap, ok := a.ledger.Approval(id)
	switch {
	case !ok:
		return ErrUnknown
	case ap.State == remediate.ApprovalExpired || (ap.State == remediate.ApprovalPending && !a.now().Before(ap.Expires)):
		return ErrExpired
	case ap.State != remediate.ApprovalPending:
		return decidedBy(ap)
	}
	kind := remediate.AnswerDeny
	if approve {
		kind = remediate.AnswerApprove
	}
	ans, err := a.answers.WriteAnswer(ctx, ap.Bind(remediate.Answer{Kind: kind, By: by, Channel: channel, Reason: reason}))
	if err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, answerWait)
	defer cancel()
	if err := a.ledger.Wait(waitCtx, func() bool {
		ap, _ = a.ledger.Approval(id)
		return ap.State != remediate.ApprovalPending
	}); errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		return nil // written; the consumer applies it in order
	} else if err != nil {
		return fmt.Errorf("wait for the answer: %w", err)
	}
	switch {
	case ap.Answer == ans.Nonce:
		return nil
	case ap.State == remediate.ApprovalExpired:
		return ErrExpired
	}
	return decidedBy(ap)
}

// decidedBy is the error of a click that came after another answer.
func decidedBy(a remediate.Approval) error {
	return &AlreadyDecidedError{Outcome: Outcome{
		Approved: a.State == remediate.ApprovalApproved, By: a.DecidedBy, At: a.DecidedAt, Reason: a.DenyReason}}
}
