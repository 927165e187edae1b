package remediate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// ApprovalState is where a pending action stands.
type ApprovalState string

// Approval states. Only a pending approval changes; the first answer that
// arrives while it is pending decides it for good.
const (
	ApprovalPending  ApprovalState = "pending"
	ApprovalApproved ApprovalState = "approved"
	ApprovalDenied   ApprovalState = "denied"
	ApprovalExpired  ApprovalState = "expired"
)

// DefaultApprovalTimeout is how long a pending approval waits when the
// decision names no timeout.
const DefaultApprovalTimeout = 30 * time.Minute

// forgetApprovalsAfter is how long a decided approval stays in the ledger.
const forgetApprovalsAfter = 7 * 24 * time.Hour

// Approval is the pending action of an approve rule, kept in the ledger
// (key approval/<id>) so that every instance and the CLI see it, and what
// became of it.
type Approval struct {
	ID        string        `json:"id"`
	State     ApprovalState `json:"state"`
	RuleID    string        `json:"rule_id"`
	Action    Action        `json:"action"`
	UserID    string        `json:"op_user_id"`
	UserEmail string        `json:"user_email,omitempty"`
	Reason    string        `json:"reason,omitempty"`
	Severity  string        `json:"severity,omitempty"`
	EventID   string        `json:"event_id,omitempty"`
	EventTime time.Time     `json:"event_time,omitzero"`
	TraceID   string        `json:"trace_id,omitempty"`
	// Cooldown, Grace and MaxActions are the rule's, applied when the
	// action is carried out.
	Cooldown   time.Duration `json:"cooldown,omitempty"`
	Grace      time.Duration `json:"grace,omitempty"`
	MaxActions Limit         `json:"max_actions,omitzero"`
	Created    time.Time     `json:"created"`
	Expires    time.Time     `json:"expires"`
	Reminded   bool          `json:"reminded,omitempty"`
	// Answer is the nonce of the answer that decided it; DecidedBy,
	// Channel (cli, slack, timeout), DecidedAt and DenyReason say who,
	// how, when and why.
	Answer string `json:"answer,omitempty"`
	// AnswerSource is where the deciding answer was read (topic,
	// partition, offset): that record delivered again changes nothing
	// silently, the same answer from elsewhere is a replay.
	AnswerSource string `json:"answer_source,omitempty"`
	// Nonces are the nonces of the other answers applied (a reminder's):
	// none is applied twice.
	Nonces     []string  `json:"nonces,omitempty"`
	DecidedBy  string    `json:"decided_by,omitempty"`
	Channel    string    `json:"channel,omitempty"`
	DecidedAt  time.Time `json:"decided_at,omitzero"`
	DenyReason string    `json:"deny_reason,omitempty"`
	// Result is the outcome of the action once approved and carried out
	// (suspended, already_suspended, blocked_protected, ...); empty while
	// it has not been carried out.
	Result Result `json:"result,omitempty"`
	// Failure says why an approved action was not carried out yet (a
	// breaker open, the Users API down): the answer is dead-lettered or
	// parked, and applying it again tries again.
	Failure  string `json:"failure,omitempty"`
	Instance string `json:"instance,omitempty"`
}

// ApprovalID is the id of the pending action a rule's decision about a
// user for an event becomes: the same decision redelivered finds its
// approval instead of asking twice.
func ApprovalID(ruleID, userID, eventID string) string {
	sum := sha256.Sum256([]byte(ruleID + "\x00" + userID + "\x00" + eventID))
	return "ap_" + hex.EncodeToString(sum[:10])
}

// decision is the decision an approved action carries out.
func (a Approval) decision() Decision {
	return Decision{
		RuleID: a.RuleID, Mode: ModeApprove, Action: a.Action, Identity: a.UserID,
		Reason: a.Reason, Severity: a.Severity, Cooldown: a.Cooldown, Grace: a.Grace, MaxActions: a.MaxActions,
		EventID: a.EventID, EventTime: a.EventTime, UserEmail: a.UserEmail, ApprovalTimeout: a.Expires.Sub(a.Created),
	}
}

// AnswerKind is what an answer does to a pending approval.
type AnswerKind string

// Answer kinds. Approve and deny come from people (the CLI, Slack); expire
// and remind from the clock (see DueAnswers).
const (
	AnswerApprove AnswerKind = "approve"
	AnswerDeny    AnswerKind = "deny"
	AnswerExpire  AnswerKind = "expire"
	AnswerRemind  AnswerKind = "remind"
)

// Answer is one answer to a pending approval. Answers travel through a
// topic partitioned by approval id, so the instance that owns the
// partition applies them one at a time, in the order they were written:
// the first one to reach a pending approval decides it.
//
// An answer is bound to what it answers (see Approval.Bind): it names the
// approval's id, user, rule, action and creation time, and is applied only
// if all of them match the pending approval, so a signed answer cannot be
// moved to another approval (one created again under the same id, or a
// forged one). Its nonce is applied once.
type Answer struct {
	ApprovalID string     `json:"approval_id"`
	Kind       AnswerKind `json:"kind"`
	// UserID is the approval's 1Password user id, so the consumer keeps one
	// user's decisions and answers in order.
	UserID string `json:"op_user_id"`
	// RuleID, Action and Created are the approval's.
	RuleID  string    `json:"rule_id"`
	Action  Action    `json:"action"`
	Created time.Time `json:"created"`
	By      string    `json:"by"`
	// Channel is how the answer came: cli, slack or timeout.
	Channel string    `json:"channel"`
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
	// Nonce tells this answer from every other, so its writer can see
	// whether it was the one that decided.
	Nonce string `json:"nonce"`
	// For is how long an extend answer moves a timed suspension's end.
	For time.Duration `json:"for,omitempty"`
	// Source is where the answer was read (not part of the record).
	Source Source `json:"-"`
}

// Bind returns ans bound to a: naming a's id, user, rule, action and
// creation time, which Service.Answer checks.
func (a Approval) Bind(ans Answer) Answer {
	ans.ApprovalID, ans.UserID, ans.RuleID, ans.Action, ans.Created = a.ID, a.UserID, a.RuleID, a.Action, a.Created
	return ans
}

// mismatch says which of what ans names differs from a ("" when none).
func (a Approval) mismatch(ans Answer) string {
	var diff []string
	if ans.UserID != a.UserID {
		diff = append(diff, "user")
	}
	if ans.RuleID != a.RuleID {
		diff = append(diff, "rule")
	}
	if ans.Action != a.Action {
		diff = append(diff, "action")
	}
	if !ans.Created.Equal(a.Created) {
		diff = append(diff, "creation time")
	}
	return strings.Join(diff, ", ")
}

// applied reports whether an answer with nonce was applied to a already.
func (a Approval) applied(nonce string) bool {
	return nonce == a.Answer || slices.Contains(a.Nonces, nonce)
}

// Reasons an answer is refused, as counted in
// tripline_answers_refused_total{reason}.
const (
	AnswerRefusedMismatch = "mismatch" // names another approval than the pending one
	AnswerRefusedReplayed = "replayed" // its nonce was applied before, from another record
	AnswerRefusedExpired  = "expired"  // came after the approval expired
	AnswerRefusedFuture   = "future"   // dated more than the clock skew ahead
)

// maxNonces bounds Approval.Nonces.
const maxNonces = 4

// Errors of Answer: the answer changed nothing.
var (
	ErrApprovalUnknown = errors.New("no such pending action")
	ErrApprovalDecided = errors.New("the pending action was already decided")
	ErrApprovalExpired = errors.New("the pending action expired")
	// ErrAnswerRefused: the answer does not match the pending action, or
	// repeats one applied before; it is counted and logged.
	ErrAnswerRefused = errors.New("answer refused")
)

// maxAnswerField bounds the free-text fields of an answer.
const maxAnswerField = 256

// Validate reports what makes an answer unusable.
func (a Answer) Validate() error {
	var errs []error
	if a.ApprovalID == "" || len(a.ApprovalID) > 64 {
		errs = append(errs, errors.New("approval id missing or too long"))
	}
	switch a.Kind {
	case AnswerApprove, AnswerDeny, AnswerExpire, AnswerRemind, AnswerEnd, AnswerKeep, AnswerLift, AnswerExtend:
	default:
		errs = append(errs, fmt.Errorf("unknown answer kind %q", a.Kind))
	}
	if a.By == "" || len(a.By) > maxAnswerField || len(a.Reason) > maxAnswerField*4 || len(a.Channel) > 32 {
		errs = append(errs, errors.New("answer needs who answered (by), at most 256 bytes, and a reason of at most 1 KiB"))
	}
	if a.Nonce == "" || len(a.Nonce) > 64 {
		errs = append(errs, errors.New("answer nonce missing or too long"))
	}
	if a.UserID == "" || a.RuleID == "" || a.Action == "" || a.Created.IsZero() || len(a.UserID)+len(a.RuleID)+len(a.Action) > maxAnswerField {
		errs = append(errs, errors.New("answer must name the approval's user, rule, action and creation time (an answer written before they were required: answer again)"))
	}
	return errors.Join(errs...)
}

// approvalStop turns an approve rule's decision into a pending approval,
// once every guard before it allowed it (protected identities, refusals,
// duplicates, provenance, the breakers): nothing is called until a person
// approves. A decision carried out after its approval passes through.
func (s *Service) approvalStop(next handler) handler {
	return func(ctx context.Context, c *call) error {
		if c.d.Mode != ModeApprove {
			return next(ctx, c)
		}
		if a := c.approval; a != nil {
			c.out.Detail = fmt.Sprintf("approval %s: approved by %s via %s", a.ID, a.DecidedBy, a.Channel)
			return next(ctx, c)
		}
		if !s.cfg.Approvals {
			// Nobody could answer: fail closed, as shadow.
			c.out.Result, c.out.Detail = ResultShadow, "approvals are off (they need the signing key, TRIPLINE_DLQ_SIGNING_KEY, and kafka.approvals_topic): the approve rule acts as shadow"
			return nil
		}
		if p, ok := s.ledger.pendingFor(c.d.RuleID, c.out.User.ID, c.now); ok {
			c.out.Result, c.out.Detail = ResultPendingApproval, fmt.Sprintf("approval %s already pending, expires %s", p.ID, p.Expires.UTC().Format(time.RFC3339))
			return nil
		}
		id := ApprovalID(c.d.RuleID, c.out.User.ID, c.d.EventID)
		if a, ok := s.ledger.Approval(id); ok {
			c.out.Result, c.out.Detail = ResultPendingApproval, fmt.Sprintf("approval %s: %s", id, a.State)
			return nil
		}
		timeout := c.d.ApprovalTimeout
		if timeout <= 0 {
			timeout = DefaultApprovalTimeout
		}
		timeout = min(timeout, MaxApprovalTimeout)
		a := Approval{
			ID: id, State: ApprovalPending, RuleID: c.d.RuleID, Action: c.d.Action, UserID: c.out.User.ID,
			UserEmail: c.out.User.Email, Reason: c.d.Reason, Severity: c.d.Severity, EventID: clip(c.d.EventID), EventTime: c.d.EventTime,
			TraceID: traceID(ctx), Cooldown: c.d.Cooldown, Grace: c.d.Grace, MaxActions: c.d.MaxActions,
			Created: c.now, Expires: c.now.Add(timeout), Instance: s.cfg.Instance,
		}
		if a.UserEmail == "" {
			a.UserEmail = c.d.UserEmail
		}
		if s.cfg.DryRun {
			c.out.Result, c.out.Detail = ResultDryRun, "would ask for approval "+id
			return nil
		}
		if err := s.ledger.PutApproval(ctx, a); err != nil {
			return fmt.Errorf("record pending approval %s: %w", id, err)
		}
		c.out.Result, c.out.Detail = ResultPendingApproval, fmt.Sprintf("approval %s requested, expires %s", id, a.Expires.UTC().Format(time.RFC3339))
		s.log.InfoContext(ctx, "approval requested", "approval_id", id, "rule_id", a.RuleID, "op_user_id", a.UserID, "expires", a.Expires.UTC().Format(time.RFC3339))
		s.notify(ctx, Notice{Type: NoticeApprovalRequested, Approval: &a})
		return nil
	}
}

// Answer applies one answer to a pending approval: approve carries the
// action out, through every guard again (the breakers count at that time);
// deny and expire close it; remind marks it reminded. It returns the
// outcome, with:
//   - nil: the answer took effect (for approve, the action reached an
//     outcome);
//   - ErrApprovalUnknown, ErrApprovalDecided, ErrApprovalExpired (wrapped):
//     the answer changed nothing, for good (an approve answer that comes
//     after the expiry expires the approval);
//   - a *Failure: carrying out the approved action failed (dead-letter the
//     answer: applied again, it carries the action out again);
//   - any other error: a ledger or audit write failed; stop without
//     committing.
//
// An approve answer applied again after the approval was decided by it
// and before its action reached an outcome (a crash in between) carries
// the action out then.
func (s *Service) Answer(ctx context.Context, ans Answer) (Outcome, error) {
	ctx, span := s.tracer.Start(ctx, "remediate.answer", trace.WithAttributes(
		attribute.String("tripline.approval_id", ans.ApprovalID), attribute.String("tripline.answer", string(ans.Kind))))
	defer span.End()
	if err := ans.Validate(); err != nil {
		return Outcome{}, &Failure{Class: ClassInvalid, Err: fmt.Errorf("answer: %w", err)}
	}
	if isContainmentKind(ans.Kind) {
		return s.answerContainment(ctx, ans)
	}
	a, ok := s.ledger.Approval(ans.ApprovalID)
	if !ok {
		return Outcome{}, fmt.Errorf("approval %s: %w", ans.ApprovalID, ErrApprovalUnknown)
	}
	unlock := s.locks.lock(a.UserID)
	a, _ = s.ledger.Approval(ans.ApprovalID)
	if out, err, next := s.screenAnswer(ctx, a, ans); next != answerGoesOn {
		unlock()
		if next == answerCarriesOut {
			return s.carryOut(ctx, a)
		}
		return out, err
	}
	switch ans.Kind {
	case AnswerRemind:
		defer unlock()
		return s.remind(ctx, a, ans.Nonce)
	case AnswerExpire:
		if s.now().Before(a.Expires) {
			unlock()
			return s.approvalOutcome(a), nil // not yet
		}
		return s.closeApproval(ctx, unlock, a, ApprovalExpired, Answer{Nonce: ans.Nonce, By: "tripline", Channel: "timeout", Source: ans.Source}, a.Expires)
	}
	return s.decideApproval(ctx, unlock, a, ans)
}

// What screenAnswer says becomes of an answer.
type answerNext int

const (
	answerGoesOn     answerNext = iota // to the pending approval
	answerEnds                         // here, with the outcome and error screenAnswer returns
	answerCarriesOut                   // the approved action, again (once the user's lock is released)
)

// screenAnswer refuses an answer dated ahead of the clock, naming another
// approval or repeating one applied before, and ends one that comes after
// the approval was decided. An approve answer applied again after its
// action failed (or the process stopped) carries the action out again.
func (s *Service) screenAnswer(ctx context.Context, a Approval, ans Answer) (Outcome, error, answerNext) {
	switch {
	case ans.At.After(s.now().Add(s.ledger.skew)):
		out, err := s.refuseAnswer(ctx, a, ans, AnswerRefusedFuture, fmt.Sprintf("dated %s, more than %s ahead of the clock", ans.At.UTC().Format(time.RFC3339), s.ledger.skew))
		return out, err, answerEnds
	case a.mismatch(ans) != "":
		out, err := s.refuseAnswer(ctx, a, ans, AnswerRefusedMismatch, "it names another "+a.mismatch(ans)+" than the pending action")
		return out, err, answerEnds
	case a.applied(ans.Nonce):
		switch {
		case ans.Kind == AnswerApprove && a.State == ApprovalApproved && a.Answer == ans.Nonce && a.Result == "":
			return Outcome{}, nil, answerCarriesOut
		case ans.Source != (Source{}) && ans.Source.String() == a.AnswerSource:
			return s.approvalOutcome(a), nil, answerEnds // the same record delivered again: it changes nothing
		}
		out, err := s.refuseAnswer(ctx, a, ans, AnswerRefusedReplayed, "its nonce was applied before")
		return out, err, answerEnds
	case a.State != ApprovalPending:
		return s.approvalOutcome(a), fmt.Errorf("approval %s was %s by %s at %s: %w", a.ID, a.State, a.DecidedBy, a.DecidedAt.UTC().Format(time.RFC3339), ErrApprovalDecided), answerEnds
	}
	return Outcome{}, nil, answerGoesOn
}

// remind marks a pending approval reminded (once, before it expires) and
// notifies; l.mu of the user is held.
func (s *Service) remind(ctx context.Context, a Approval, nonce string) (Outcome, error) {
	if a.Reminded || !s.now().Before(a.Expires) {
		return s.approvalOutcome(a), nil
	}
	a.Reminded = true
	a.Nonces = append(a.Nonces, nonce)
	if over := len(a.Nonces) - maxNonces; over > 0 {
		a.Nonces = slices.Delete(a.Nonces, 0, over)
	}
	if err := s.ledger.PutApproval(ctx, a); err != nil {
		return Outcome{}, err
	}
	s.notify(ctx, Notice{Type: NoticeApprovalReminder, Approval: &a})
	return s.approvalOutcome(a), nil
}

// decideApproval applies a person's approve or deny answer to a pending
// approval (held under unlock): one that comes after the expiry expires it
// (and is refused), a deny closes it, an approve carries the action out.
func (s *Service) decideApproval(ctx context.Context, unlock func(), a Approval, ans Answer) (Outcome, error) {
	at := s.now()
	if !ans.At.IsZero() && ans.At.Before(at) {
		at = ans.At // when the person answered, not when the answer was applied
	}
	if !at.Before(a.Expires) {
		out, err := s.closeApproval(ctx, unlock, a, ApprovalExpired, Answer{Nonce: ans.Nonce, By: "tripline", Channel: "timeout", Source: ans.Source}, a.Expires)
		if err != nil {
			return out, err
		}
		s.metrics.answersRefused.Add(ctx, 1, attrs("reason", AnswerRefusedExpired))
		return out, fmt.Errorf("approval %s expired at %s: %w", a.ID, a.Expires.UTC().Format(time.RFC3339), ErrApprovalExpired)
	}
	if ans.Kind == AnswerDeny {
		return s.closeApproval(ctx, unlock, a, ApprovalDenied, ans, at)
	}
	a.State, a.Answer, a.AnswerSource, a.DecidedBy, a.Channel, a.DecidedAt = ApprovalApproved, ans.Nonce, ans.Source.String(), ans.By, ans.Channel, at
	err := s.ledger.PutApproval(ctx, a)
	unlock()
	if err != nil {
		return Outcome{}, err
	}
	s.log.InfoContext(ctx, "approval approved", "approval_id", a.ID, "by", a.DecidedBy, "channel", a.Channel)
	s.notify(ctx, Notice{Type: NoticeApprovalApproved, Approval: &a})
	return s.carryOut(ctx, a)
}

// refuseAnswer counts and logs an answer that is refused, and returns
// ErrAnswerRefused: nothing changed.
func (s *Service) refuseAnswer(ctx context.Context, a Approval, ans Answer, reason, why string) (Outcome, error) {
	s.metrics.answersRefused.Add(ctx, 1, attrs("reason", reason))
	s.log.WarnContext(ctx, "answer to a pending action refused; nothing changed", "approval_id", a.ID, "kind", string(ans.Kind),
		"by", ans.By, "channel", ans.Channel, "reason", reason, "why", why, "source", ans.Source.String())
	return s.approvalOutcome(a), fmt.Errorf("approval %s: %s answer by %s refused (%s): %w", a.ID, ans.Kind, ans.By, why, ErrAnswerRefused)
}

// closeApproval denies or expires a pending approval (held under unlock),
// audits the outcome and notifies.
func (s *Service) closeApproval(ctx context.Context, unlock func(), a Approval, state ApprovalState, ans Answer, at time.Time) (Outcome, error) {
	a.State, a.Answer, a.AnswerSource, a.DecidedBy, a.Channel, a.DecidedAt, a.DenyReason = state, ans.Nonce, ans.Source.String(), ans.By, ans.Channel, at, ans.Reason
	err := s.ledger.PutApproval(ctx, a)
	unlock()
	if err != nil {
		return Outcome{}, err
	}
	out := s.approvalOutcome(a)
	s.log.InfoContext(ctx, "approval closed", "approval_id", a.ID, "state", string(state), "by", a.DecidedBy, "channel", a.Channel)
	s.metrics.decisions.Add(ctx, 1, attrs("rule", a.RuleID, "mode", string(ModeApprove), "action", string(a.Action), "outcome", string(out.Result)))
	if err := s.auditor.Audit(ctx, s.newRecord(out, nil, &a, traceID(ctx))); err != nil {
		return out, fmt.Errorf("audit approval %s: %w", a.ID, err)
	}
	typ := NoticeApprovalDenied
	if state == ApprovalExpired {
		typ = NoticeApprovalExpired
	}
	s.notify(ctx, Notice{Type: typ, Outcome: &out, Approval: &a})
	return out, nil
}

// carryOut runs an approved action through the decision chain and records
// its outcome in the approval.
func (s *Service) carryOut(ctx context.Context, a Approval) (Outcome, error) {
	d := a.decision()
	out, err := s.run(ctx, &call{d: d, now: s.now(), out: Outcome{Decision: d}, approval: &a})
	var f *Failure
	if isInterrupted(err) {
		return out, err
	}
	unlock := s.locks.lock(a.UserID)
	defer unlock()
	cur, ok := s.ledger.Approval(a.ID)
	if !ok {
		return out, err
	}
	if out.Result == "" || errors.As(err, &f) {
		// Not carried out: applying the answer again tries again.
		cur.Failure = fmt.Sprintf("%s: %v", out.Result, err)
		if f != nil {
			cur.Failure = f.Class + ": " + f.Error()
		}
		if werr := s.ledger.PutApproval(ctx, cur); werr != nil {
			return out, werr
		}
		return out, err
	}
	cur.Result, cur.Failure = out.Result, ""
	if werr := s.ledger.PutApproval(ctx, cur); werr != nil && err == nil {
		err = werr
	}
	return out, err
}

// approvalOutcome is the outcome an approval's state stands for.
func (s *Service) approvalOutcome(a Approval) Outcome {
	out := Outcome{Decision: a.decision(), User: User{ID: a.UserID, Email: a.UserEmail}}
	switch a.State {
	case ApprovalPending:
		out.Result, out.Detail = ResultPendingApproval, fmt.Sprintf("approval %s pending, expires %s", a.ID, a.Expires.UTC().Format(time.RFC3339))
	case ApprovalDenied:
		out.Result, out.Detail = ResultApprovalDenied, fmt.Sprintf("approval %s denied by %s via %s: %s", a.ID, a.DecidedBy, a.Channel, a.DenyReason)
	case ApprovalExpired:
		out.Result, out.Detail = ResultApprovalExpired, fmt.Sprintf("approval %s expired at %s: denied, never carried out", a.ID, a.Expires.UTC().Format(time.RFC3339))
	case ApprovalApproved:
		out.Result, out.Detail = a.Result, fmt.Sprintf("approval %s approved by %s via %s", a.ID, a.DecidedBy, a.Channel)
	}
	return out
}

// DueAnswers lists the answers the clock gives at now: an expire answer
// for each pending approval past its expiry, and a remind answer for each
// one past half its time and not reminded yet. Any instance may write them:
// applying one twice changes nothing.
func (s *Service) DueAnswers(now time.Time) []Answer {
	var out []Answer
	for _, a := range s.ledger.Approvals() {
		if a.State != ApprovalPending {
			continue
		}
		ans := a.Bind(Answer{By: "tripline", Channel: "timeout", At: now})
		switch {
		case !now.Before(a.Expires):
			ans.Kind = AnswerExpire
		case !a.Reminded && !now.Before(a.Created.Add(a.Expires.Sub(a.Created)/2)):
			ans.Kind = AnswerRemind
		default:
			continue
		}
		out = append(out, ans)
	}
	return out
}

// ForgetApprovals deletes from the ledger the approvals decided more than a
// week before now, so the state topic stays bounded.
func (s *Service) ForgetApprovals(ctx context.Context, now time.Time) error {
	var errs []error
	for _, a := range s.ledger.Approvals() {
		if a.State != ApprovalPending && now.Sub(a.DecidedAt) > forgetApprovalsAfter {
			errs = append(errs, s.ledger.put(ctx, approvalKeyPrefix+a.ID, nil))
			if _, ok := s.ledger.ApprovalMessage(a.ID); ok {
				errs = append(errs, s.ledger.put(ctx, messageKeyPrefix+a.ID, nil))
			}
		}
	}
	return errors.Join(errs...)
}
