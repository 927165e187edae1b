package remediate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tripline-dev/tripline/internal/identity"
)

// Answers to a timed suspension. They travel like the answers to pending
// approvals (signed, on the approvals topic, keyed by the containment's id,
// see ContainmentID), so one instance applies them in order: the clock's
// end when the time is up, and a person's keep, lift or extend.
const (
	// AnswerEnd: the time is up (the clock's): reactivate the user if the
	// timed suspension is still tripline's and nobody intervened.
	AnswerEnd AnswerKind = "end"
	// AnswerKeep: a person makes the suspension permanent.
	AnswerKeep AnswerKind = "keep"
	// AnswerLift: a person ends it now, through the same guards.
	AnswerLift AnswerKind = "lift"
	// AnswerExtend: a person moves its end by Answer.For.
	AnswerExtend AnswerKind = "extend"
)

// Results of a timed suspension's end, as counted in
// tripline_containment_ends_total{result}.
const (
	EndReactivated = "reactivated" // the time was up: tripline reactivated the user
	EndKept        = "kept"        // a person made it permanent
	EndLifted      = "lifted"      // a person ended it early
	EndRefused     = "refused"     // no undo: a person intervened, or it is no longer tripline's suspension
)

// ErrContainmentUnknown: no timed suspension of the user is in force (it
// ended, or was kept); the answer changed nothing.
var ErrContainmentUnknown = errors.New("no timed suspension in force")

// isContainmentKind reports whether an answer is about a timed suspension.
func isContainmentKind(k AnswerKind) bool {
	return k == AnswerEnd || k == AnswerKeep || k == AnswerLift || k == AnswerExtend
}

// BindContainment returns ans bound to the timed suspension c of a user:
// naming its id, the user, its rule and its start, which
// Service.Answer checks.
func BindContainment(userID string, c Containment, ans Answer) Answer {
	ans.ApprovalID, ans.UserID, ans.RuleID, ans.Action, ans.Created = ContainmentID(userID), userID, c.Rule, ActionSuspend, c.Since
	return ans
}

// answerContainment applies an answer to a user's timed suspension (see
// the Answer kinds). It returns ErrContainmentUnknown (wrapped) when none is
// in force, ErrAnswerRefused when the answer names another one or repeats
// an answer applied before.
func (s *Service) answerContainment(ctx context.Context, ans Answer) (Outcome, error) {
	unlock := s.locks.lock(ans.UserID)
	e, _ := s.ledger.User(ans.UserID)
	ct := e.Containment
	now := s.now()
	switch {
	case ct == nil || ans.ApprovalID != ContainmentID(ans.UserID):
		unlock()
		return Outcome{}, fmt.Errorf("user %s: %w", ans.UserID, ErrContainmentUnknown)
	case ans.At.After(now.Add(s.ledger.skew)):
		unlock()
		return s.refuseContainmentAnswer(ctx, ans, AnswerRefusedFuture, "dated ahead of the clock")
	case ans.RuleID != ct.Rule || !ans.Created.Equal(ct.Since) || ans.Action != ActionSuspend:
		unlock()
		return s.refuseContainmentAnswer(ctx, ans, AnswerRefusedMismatch, "it names another timed suspension than the one in force")
	}
	if ct.EndNonce != "" && (ans.Kind == AnswerExtend || (ans.Kind == AnswerKeep && ct.EndFailure == "")) {
		// An end is under way: its reactivation may be in flight. A keep
		// after an end failed stops the end's retries.
		unlock()
		return Outcome{}, fmt.Errorf("user %s: an end of the timed suspension is under way since %s: %w",
			ans.UserID, ct.EndingSince.UTC().Format(time.RFC3339), ErrApprovalDecided)
	}
	switch ans.Kind {
	case AnswerKeep:
		defer unlock()
		e.Containment = nil
		return s.closeContainment(ctx, e, *ct, ans, ResultContainmentKept, EndKept,
			fmt.Sprintf("timed suspension kept by %s via %s: %s", ans.By, ans.Channel, ans.Reason))
	case AnswerExtend:
		defer unlock()
		return s.extendContainment(ctx, e, ans, now)
	}
	return s.startEnd(ctx, unlock, e, ans, now)
}

// startEnd marks a timed suspension as ending under ans (end or lift) and
// carries the end out. The same answer applied again (redelivered, or
// re-driven after a failure) carries it out again; another end while one
// is under way, or an end before the time is up, changes nothing.
func (s *Service) startEnd(ctx context.Context, unlock func(), e UserEntry, ans Answer, now time.Time) (Outcome, error) {
	ct := e.Containment
	switch {
	case ct.EndNonce == ans.Nonce:
	case ct.EndNonce != "":
		unlock()
		return Outcome{}, fmt.Errorf("user %s: an end of the timed suspension is under way since %s: %w",
			ans.UserID, ct.EndingSince.UTC().Format(time.RFC3339), ErrApprovalDecided)
	case ans.Kind == AnswerEnd && now.Before(ct.Ends):
		unlock()
		return Outcome{}, nil // extended since the clock asked
	default:
		ct.EndNonce, ct.EndingSince = ans.Nonce, now
		if err := s.ledger.PutUser(ctx, e); err != nil {
			unlock()
			return Outcome{}, err
		}
	}
	unlock()
	return s.endContainment(ctx, ans.UserID, *ct, ans)
}

// endContainment reactivates a user at the end of a timed suspension (or
// when a person lifts it), through the decision chain: the provenance
// guard, the read before the call, the ledger. Only if the timed
// suspension is still the last action tripline took on the user; otherwise
// the containment ends without a call (refused).
func (s *Service) endContainment(ctx context.Context, userID string, ct Containment, ans Answer) (Outcome, error) {
	d := Decision{RuleID: ct.Rule, Mode: ModeEnforce, Action: ActionReactivate, Identity: userID, UserEmail: ct.Email,
		EventID: "containment:" + userID + ":" + ct.Since.UTC().Format(time.RFC3339Nano), Reason: "timed suspension ended"}
	how, detail := EndReactivated, "timed suspension ended"
	if ans.Kind == AnswerLift {
		how, detail = EndLifted, fmt.Sprintf("timed suspension lifted by %s via %s: %s", ans.By, ans.Channel, ans.Reason)
		d.Reason = detail
	}
	if e, _ := s.ledger.User(userID); e.Last == nil || e.Last.Action != string(ActionSuspend) || !e.Last.At.Equal(ct.Since) {
		e.Containment = nil
		out := Outcome{Decision: d, User: User{ID: userID, Email: ct.Email}, Result: ResultBlockedProvenance,
			Detail: "the timed suspension is no longer tripline's last action on the user: it is not undone"}
		if err := s.auditor.Audit(ctx, s.newRecord(out, nil, nil, traceID(ctx))); err != nil {
			return out, fmt.Errorf("audit the end of the timed suspension of %s: %w", userID, err)
		}
		out, err := s.finishEnd(ctx, e, out, EndRefused)
		if err == nil {
			s.notifyContainment(ctx, NoticeContainmentEnded, userID, ct, out, &ans, EndRefused)
		}
		return out, err
	}
	out, err := s.run(ctx, &call{d: d, now: s.now(), out: Outcome{Decision: d}, endDetail: detail})
	var f *Failure
	switch {
	case isInterrupted(err):
		return out, err
	case errors.As(err, &f):
		s.noteEndFailure(ctx, userID, ct, f)
		return out, err
	case err != nil:
		return out, err
	}
	e, _ := s.ledger.User(userID)
	if out.Result != ResultReactivated {
		how = EndRefused
		e.Containment = nil // a person intervened, or a guard stood in the way: a person decides
	}
	if out, err = s.finishEnd(ctx, e, out, how); err == nil {
		s.notifyContainment(ctx, NoticeContainmentEnded, userID, ct, out, &ans, how)
	}
	return out, err
}

// finishEnd records that a timed suspension ended, and counts it.
func (s *Service) finishEnd(ctx context.Context, e UserEntry, out Outcome, how string) (Outcome, error) {
	unlock := s.locks.lock(e.UserID)
	defer unlock()
	if cur, _ := s.ledger.User(e.UserID); cur.Containment != nil && e.Containment == nil {
		cur.Containment = nil
		if err := s.ledger.PutUser(ctx, cur); err != nil {
			return out, err
		}
	}
	s.metrics.containmentEnds.Add(ctx, 1, attrs("result", how))
	return out, nil
}

// noteEndFailure records why an end failed: the answer is parked and
// re-driven, or dead-lettered, and the containment stays ending.
func (s *Service) noteEndFailure(ctx context.Context, userID string, ct Containment, f *Failure) {
	unlock := s.locks.lock(userID)
	defer unlock()
	e, _ := s.ledger.User(userID)
	if e.Containment == nil || !e.Containment.Since.Equal(ct.Since) {
		return
	}
	e.Containment.EndFailure = f.Class + ": " + clipName(f.Error())
	if err := s.ledger.PutUser(ctx, e); err != nil {
		s.log.WarnContext(ctx, "cannot record why the end of a timed suspension failed", "op_user_id", userID, "error", err.Error())
	}
}

// closeContainment writes e (whose timed suspension a person kept), audits
// it and counts it.
func (s *Service) closeContainment(ctx context.Context, e UserEntry, ct Containment, ans Answer, result Result, how, detail string) (Outcome, error) {
	if err := s.ledger.PutUser(ctx, e); err != nil {
		return Outcome{}, err
	}
	d := Decision{RuleID: ct.Rule, Mode: ModeEnforce, Action: ActionSuspend, Identity: e.UserID, UserEmail: ct.Email, Reason: detail}
	out := Outcome{Decision: d, User: User{ID: e.UserID, Email: ct.Email}, Result: result, Detail: detail}
	s.metrics.containmentEnds.Add(ctx, 1, attrs("result", how))
	s.log.InfoContext(ctx, "timed suspension "+how, "op_user_id", e.UserID, "by", ans.By, "channel", ans.Channel)
	if err := s.auditor.Audit(ctx, s.newRecord(out, nil, nil, traceID(ctx))); err != nil {
		return out, fmt.Errorf("audit the timed suspension of %s: %w", e.UserID, err)
	}
	s.notifyContainment(ctx, NoticeContainmentKept, e.UserID, ct, out, &ans, how)
	return out, nil
}

// extendContainment moves the end of a timed suspension by ans.For (at
// most MaxContainment from now), as a person asked.
func (s *Service) extendContainment(ctx context.Context, e UserEntry, ans Answer, now time.Time) (Outcome, error) {
	ct := e.Containment
	if ans.For < MinContainment || ans.For > MaxContainment {
		return Outcome{}, &Failure{Class: ClassInvalid, Err: fmt.Errorf("extend the timed suspension of %s by %s: want between %s and %s", ans.UserID, ans.For, MinContainment, MaxContainment)}
	}
	ct.Ends = minTime(maxTime(ct.Ends, now).Add(ans.For), now.Add(MaxContainment))
	ct.Extended++
	d := Decision{RuleID: ct.Rule, Mode: ModeEnforce, Action: ActionSuspend, Identity: e.UserID, UserEmail: ct.Email}
	detail := fmt.Sprintf("timed suspension extended to %s by %s via %s: %s", ct.Ends.UTC().Format(time.RFC3339), ans.By, ans.Channel, ans.Reason)
	if err := s.ledger.PutUser(ctx, e); err != nil {
		return Outcome{}, err
	}
	out := Outcome{Decision: d, User: User{ID: e.UserID, Email: ct.Email}, Result: ResultContainmentExtended, Detail: detail, ContainedUntil: ct.Ends}
	if err := s.auditor.Audit(ctx, s.newRecord(out, nil, nil, traceID(ctx))); err != nil {
		return out, fmt.Errorf("audit the timed suspension of %s: %w", e.UserID, err)
	}
	s.notifyContainment(ctx, NoticeContainmentExtended, e.UserID, *ct, out, &ans, "")
	return out, nil
}

// refuseContainmentAnswer counts and logs an answer to a timed suspension
// that is refused.
func (s *Service) refuseContainmentAnswer(ctx context.Context, ans Answer, reason, why string) (Outcome, error) {
	s.metrics.answersRefused.Add(ctx, 1, attrs("reason", reason))
	s.log.WarnContext(ctx, "answer to a timed suspension refused; nothing changed", "op_user_id", ans.UserID, "kind", string(ans.Kind),
		"by", ans.By, "channel", ans.Channel, "reason", reason, "why", why)
	return Outcome{}, fmt.Errorf("timed suspension of %s: %s answer by %s refused (%s): %w", ans.UserID, ans.Kind, ans.By, why, ErrAnswerRefused)
}

// DueContainments lists the clock's end answers at now: one for each
// timed suspension whose time is up and whose end has not started. Any
// instance may write them: the first applied starts the end, the others
// change nothing.
func (s *Service) DueContainments(now time.Time) []Answer {
	var out []Answer
	for _, c := range s.ledger.Containments() {
		if now.Before(c.Ends) || c.EndNonce != "" {
			continue
		}
		out = append(out, BindContainment(c.UserID, c.Containment, Answer{Kind: AnswerEnd, By: "tripline", Channel: "timeout", At: now}))
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// foldedEqual compares two identities as tripline does (case and Unicode
// forms folded).
func foldedEqual(a, b string) bool { return identity.Fold(a) == identity.Fold(b) }
