package slackapproval

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tripline-dev/tripline/internal/remediate"
)

// The Slack side of timed suspensions: a suspension that starts is posted
// to the approval channel with Keep and Lift buttons, its message is
// recorded in the ledger (as the ApprovalMessage of
// remediate.ContainmentID(user)) and updated when it is kept, extended or
// ends; an approver's click becomes a signed answer on the approvals
// topic, as an Approve or Deny click does.

// containmentUser is the user a timed suspension notice is about ("" when
// the notice is none).
func containmentUser(n remediate.Notice) string {
	switch n.Type {
	case remediate.NoticeContainmentKept, remediate.NoticeContainmentExtended, remediate.NoticeContainmentEnded:
		if n.Containment != nil && n.Outcome != nil {
			return n.Containment.UserID
		}
	case remediate.NoticeAction:
		if o := n.Outcome; o != nil && o.Result == remediate.ResultSuspended && !o.ContainedUntil.IsZero() {
			return o.User.ID
		}
	}
	return ""
}

// isContainmentNotice reports whether n is about a timed suspension: the
// action that started one, or its keep, extension or end.
func isContainmentNotice(n remediate.Notice) bool { return containmentUser(n) != "" }

// containmentRef is the id of the timed suspension of userID that started
// at since, as its buttons carry it: the user and the start, so that a
// click on an old message never answers a later suspension of the user.
func containmentRef(userID string, since time.Time) string {
	return userID + "@" + strconv.FormatInt(since.UnixNano(), 10)
}

// parseContainmentRef is the inverse of containmentRef.
func parseContainmentRef(id string) (userID string, since time.Time, ok bool) {
	i := strings.LastIndexByte(id, '@')
	if i <= 0 {
		return "", time.Time{}, false
	}
	ns, err := strconv.ParseInt(id[i+1:], 10, 64)
	if err != nil {
		return "", time.Time{}, false
	}
	return id[:i], time.Unix(0, ns), true
}

// containmentView is the timed suspension ct of userID as its message
// shows it.
func containmentView(userID string, ct remediate.Containment) Containment {
	return Containment{ID: containmentRef(userID, ct.Since), RuleID: ct.Rule, UserID: userID, UserEmail: ct.Email,
		EventID: ct.Event, Since: ct.Since, Ends: ct.Ends}
}

// contained returns the timed suspension of userID in force if it is the
// one that started at since.
func (a *Approvals) contained(userID string, since time.Time) (remediate.Containment, bool) {
	e, _ := a.ledger.User(userID)
	if e.Containment == nil || !e.Containment.Since.Equal(since) {
		return remediate.Containment{}, false
	}
	return *e.Containment, true
}

// sendContainment posts the message of a timed suspension that started, or
// updates it as the suspension is kept, extended or ends.
func (a *Approvals) sendContainment(ctx context.Context, n remediate.Notice) {
	if n.Type == remediate.NoticeAction {
		a.postContainment(ctx, n)
		return
	}
	ct := *n.Containment
	id := remediate.ContainmentID(ct.UserID)
	msg, ok := a.ledger.ApprovalMessage(id)
	if !ok {
		return // never posted
	}
	if e, _ := a.ledger.User(ct.UserID); e.Containment != nil && !e.Containment.Since.Equal(ct.Since) {
		return // the message is that of a later timed suspension of the user
	}
	c, ref, o := containmentView(ct.UserID, ct.Containment), MessageRef{Channel: msg.Channel, TS: msg.TS}, n.Outcome
	by := ""
	if n.Answer != nil {
		by = n.Answer.By
	}
	var err error
	switch {
	case n.Type == remediate.NoticeContainmentExtended && !o.ContainedUntil.IsZero():
		c.Ends = o.ContainedUntil
		err = a.notifier.ContainmentExtended(ctx, ref, c, extendedText(by, o.Decision.RuleID, c.Ends, n.Time))
	case n.Type == remediate.NoticeContainmentExtended:
		err = a.notifier.ContainmentClosed(ctx, ref, c, permanentText(o.Decision.RuleID, n.Time))
	case n.Type == remediate.NoticeContainmentKept:
		err = a.notifier.ContainmentClosed(ctx, ref, c, keptText(by, n.Time))
	case n.End == remediate.EndRefused:
		err = a.notifier.ContainmentClosed(ctx, ref, c, endedText(false, "", n.Time, notReactivated(*o)))
	case n.End == remediate.EndLifted:
		err = a.notifier.ContainmentClosed(ctx, ref, c, endedText(true, by, n.Time, ""))
	default:
		err = a.notifier.ContainmentClosed(ctx, ref, c, endedText(true, "", n.Time, ""))
	}
	if err != nil {
		a.log.Warn("slack message of the timed suspension not updated", "approval_id", id, "notice", string(n.Type), "error", err.Error())
	}
}

// notReactivated says why the end of a timed suspension (its outcome o)
// reactivated nobody.
func notReactivated(o remediate.Outcome) string {
	switch {
	case o.Result == remediate.ResultAlreadyActive:
		return "a person had reactivated the user already"
	case o.Detail != "":
		return o.Detail
	}
	return string(o.Result)
}

// postContainment posts the message of the timed suspension an action
// notice started, with the suspension as the ledger holds it (nothing when
// it is over already), and records where it landed.
func (a *Approvals) postContainment(ctx context.Context, n remediate.Notice) {
	o := n.Outcome
	id := remediate.ContainmentID(o.User.ID)
	e, _ := a.ledger.User(o.User.ID)
	if e.Containment == nil || e.Containment.Since.After(n.Time) {
		return // over already, or a later one's
	}
	c := containmentView(o.User.ID, *e.Containment)
	c.Reason, c.TraceID = o.Decision.Reason, n.TraceID
	if c.UserEmail == "" {
		c.UserEmail = o.User.Email
	}
	log := a.log.With("approval_id", id, "notice", string(n.Type))
	ref, err := a.notifier.PostContainment(ctx, c)
	if err != nil {
		log.Warn("timed suspension not posted to slack; it can be kept or lifted with consumer containment", "error", err.Error())
		return
	}
	if err := a.ledger.PutApprovalMessage(ctx, remediate.ApprovalMessage{ID: id, Channel: ref.Channel, TS: ref.TS}); err != nil {
		log.Warn("slack message of the timed suspension not recorded: later updates will not reach it", "error", err.Error())
	}
}

// DecideContainment implements Decider: it turns a Keep or Lift click into
// an answer bound to the timed suspension (remediate.BindContainment),
// written with the AnswerWriter (which signs it), and waits a little for a
// consumer to apply it, to tell the clicker whether it took effect. A keep
// also stops an end whose reactivation failed; an end under way is past
// every other answer.
func (d approvalsDecider) DecideContainment(ctx context.Context, id string, keep bool, by, channel string) error {
	a := d.a
	userID, since, ok := parseContainmentRef(id)
	if !ok {
		return ErrUnknown
	}
	was, ok := a.contained(userID, since)
	switch {
	case !ok:
		return ErrUnknown
	case was.EndNonce != "" && (!keep || was.EndFailure == ""):
		return ErrAlreadyDecided
	}
	kind := remediate.AnswerLift
	if keep {
		kind = remediate.AnswerKeep
	}
	ans, err := a.answers.WriteAnswer(ctx, remediate.BindContainment(userID, was, remediate.Answer{Kind: kind, By: by, Channel: channel}))
	if err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, answerWait)
	defer cancel()
	var cur remediate.Containment
	var present bool
	if err := a.ledger.Wait(waitCtx, func() bool {
		cur, present = a.contained(userID, since)
		return !present || cur.EndNonce != was.EndNonce // gone, or an end started
	}); errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		return nil // written; the consumer applies it in order
	} else if err != nil {
		return fmt.Errorf("wait for the answer: %w", err)
	}
	if present {
		if cur.EndNonce == ans.Nonce {
			return nil // this lift: the reactivation is under way
		}
		return ErrAlreadyDecided // the time was up first: tripline is ending it
	}
	e, _ := a.ledger.User(userID)
	reactivated := e.Last != nil && e.Last.Action == string(remediate.ActionReactivate) && !e.Last.At.Before(since)
	if reactivated != keep {
		return nil // kept: still suspended; lifted: reactivated
	}
	return ErrAlreadyDecided
}
