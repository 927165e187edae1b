package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/secret"
	"github.com/tripline-dev/tripline/internal/slackapproval"
)

// slackQueue bounds the Slack updates waiting to be sent; past it an update
// is dropped and logged (the approval itself is in the ledger either way).
const slackQueue = 256

// slackAnswerWait is how long a click waits for the consumer to apply its
// answer before Slack is told it was recorded.
const slackAnswerWait = 2 * time.Second

// slackApprovals posts approval requests to Slack, keeps their messages up
// to date (reminder, decision, expiry) and serves the Approve and Deny
// buttons. Messages are sent from one goroutine, off the decision path.
type slackApprovals struct {
	m        *Main
	notifier *slackapproval.Notifier
	handler  *slackapproval.Handler // nil without approval_addr
	queue    chan remediate.Notice
}

// newSlack builds the Slack side of approvals when a channel is set.
func (m *Main) newSlack() error {
	sl := m.cfg.Slack
	if sl.ApprovalChannel == "" {
		return nil
	}
	n, err := slackapproval.NewNotifier(slackapproval.NotifierConfig{
		BotToken: secret.Value(sl.BotToken.Reveal()), Channel: sl.ApprovalChannel, APIURL: sl.APIURL,
	}, nil)
	if err != nil {
		return fmt.Errorf("slack (slack.* settings): %w", err)
	}
	s := &slackApprovals{m: m, notifier: n, queue: make(chan remediate.Notice, slackQueue)}
	if m.cfg.ApprovalAddr != "" {
		h, err := slackapproval.NewHandler(slackapproval.HandlerConfig{
			SigningSecret: secret.Value(sl.SigningSecret.Reveal()), Approvers: sl.Approvers, ApproverGroup: sl.ApproverGroup,
		}, slackDecider{m}, n, m.log)
		if err != nil {
			return fmt.Errorf("slack approvals (slack.* settings): %w", err)
		}
		s.handler = h
	}
	m.slack = s
	prev := m.notify
	m.notify = func(ctx context.Context, n remediate.Notice) {
		if prev != nil {
			prev(ctx, n)
		}
		s.enqueue(n)
	}
	return nil
}

// check proves the bot token works and the approver group is readable.
func (s *slackApprovals) check(ctx context.Context) error {
	if err := s.notifier.Check(ctx); err != nil {
		return err
	}
	if s.handler != nil {
		return s.handler.Check(ctx)
	}
	return nil
}

// enqueue hands an approval notice to the sender, never blocking.
func (s *slackApprovals) enqueue(n remediate.Notice) {
	if n.Approval == nil {
		return
	}
	select {
	case s.queue <- n:
	default:
		s.m.log.Warn("slack update dropped: too many waiting (the approval is in the ledger; consumer approvals list shows it)",
			"approval_id", n.Approval.ID, "notice", string(n.Type))
	}
}

// run sends the queued updates, and serves the buttons when a listener
// is configured, until ctx is done.
func (s *slackApprovals) run(ctx context.Context) error {
	errc := make(chan error, 1)
	if s.handler != nil {
		go func() { errc <- s.serve(ctx) }()
	} else {
		errc <- nil
	}
	for {
		select {
		case <-ctx.Done():
			return <-errc
		case n := <-s.queue:
			s.send(ctx, n)
		}
	}
}

// send posts or updates the message of one approval notice.
func (s *slackApprovals) send(ctx context.Context, n remediate.Notice) {
	a := *n.Approval
	act := slackapproval.Action{ID: a.ID, RuleID: a.RuleID, UserID: a.UserID, UserEmail: a.UserEmail, Reason: a.Reason,
		EventID: a.EventID, TraceID: a.TraceID, CreatedAt: a.Created, ExpiresAt: a.Expires}
	log := s.m.log.With("approval_id", a.ID, "notice", string(n.Type))
	if n.Type == remediate.NoticeApprovalRequested {
		ref, err := s.notifier.Post(ctx, act)
		if err != nil {
			log.Warn("approval request not posted to slack; it can be answered with consumer approvals", "error", err.Error())
			return
		}
		if err := s.m.ledger.PutApprovalMessage(ctx, remediate.ApprovalMessage{ID: a.ID, Channel: ref.Channel, TS: ref.TS}); err != nil {
			log.Warn("slack message of the approval not recorded: later updates will not reach it", "error", err.Error())
		}
		return
	}
	msg, ok := s.m.ledger.ApprovalMessage(a.ID)
	if !ok {
		return // never posted (no channel then, or the post failed)
	}
	ref := slackapproval.MessageRef{Channel: msg.Channel, TS: msg.TS}
	var err error
	switch n.Type {
	case remediate.NoticeApprovalReminder:
		err = s.notifier.Remind(ctx, ref, act)
	case remediate.NoticeApprovalExpired:
		err = s.notifier.Expired(ctx, ref, act, a.Expires)
	case remediate.NoticeApprovalApproved, remediate.NoticeApprovalDenied:
		err = s.notifier.Decided(ctx, ref, act, slackapproval.Outcome{Approved: a.State == remediate.ApprovalApproved, By: a.DecidedBy, At: a.DecidedAt, Reason: a.DenyReason})
	}
	if err != nil {
		log.Warn("slack message of the approval not updated", "error", err.Error())
	}
}

// serve runs the interactivity listener until ctx is done.
func (s *slackApprovals) serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.m.cfg.ApprovalAddr)
	if err != nil {
		return fmt.Errorf("approval_addr %s: %w", s.m.cfg.ApprovalAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/slack/interactivity", s.handler)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	s.m.log.Info("serving slack interactivity callbacks", "addr", ln.Addr().String(), "path", "/slack/interactivity")
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// slackDecider turns a click into an answer on the approvals topic, and
// waits a little for the consumer to apply it, so the clicker learns
// whether theirs was the first answer.
type slackDecider struct{ m *Main }

// Decide implements slackapproval.Decider.
func (d slackDecider) Decide(ctx context.Context, id string, approve bool, by, channel, reason string) error {
	m := d.m
	a, ok := m.ledger.Approval(id)
	switch {
	case !ok:
		return slackapproval.ErrUnknown
	case a.State == remediate.ApprovalExpired || (a.State == remediate.ApprovalPending && !m.now().Before(a.Expires)):
		return slackapproval.ErrExpired
	case a.State != remediate.ApprovalPending:
		return decidedBy(a)
	}
	kind := remediate.AnswerDeny
	if approve {
		kind = remediate.AnswerApprove
	}
	ans, err := m.WriteAnswer(ctx, a.Bind(remediate.Answer{Kind: kind, By: by, Channel: channel, Reason: reason}))
	if err != nil {
		return err
	}
	deadline := time.Now().Add(slackAnswerWait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		a, _ = m.ledger.Approval(id)
		switch {
		case a.State == remediate.ApprovalPending:
		case a.Answer == ans.Nonce:
			return nil
		case a.State == remediate.ApprovalExpired:
			return slackapproval.ErrExpired
		default:
			return decidedBy(a)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil // written; the consumer applies it in order
}

func decidedBy(a remediate.Approval) error {
	return &slackapproval.AlreadyDecidedError{Outcome: slackapproval.Outcome{
		Approved: a.State == remediate.ApprovalApproved, By: a.DecidedBy, At: a.DecidedAt, Reason: a.DenyReason}}
}
