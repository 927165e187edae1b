package remediate

import (
	"context"
	"errors"
	"time"
)

// DefaultApprovalTick is how often the approval clock looks for approvals
// to remind about or expire.
const DefaultApprovalTick = 5 * time.Second

// AnswerWriter writes an answer to a pending action where the consumer
// applies it (the approvals topic), signed; it fills in the nonce and time
// when they are empty and returns the answer as written.
type AnswerWriter interface {
	WriteAnswer(ctx context.Context, ans Answer) (Answer, error)
}

// RunApprovalClock writes the clock's answers (see DueAnswers: reminders at
// half time, expiries; DueContainments: the ends of timed suspensions) with
// w every tick, and forgets approvals decided
// over a week ago once an hour, until ctx is done. Every instance runs it:
// an answer applied twice changes nothing.
func (s *Service) RunApprovalClock(ctx context.Context, w AnswerWriter, tick time.Duration) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	lastForget := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now := s.now()
		for _, ans := range append(s.DueAnswers(now), s.DueContainments(now)...) {
			if _, err := w.WriteAnswer(ctx, ans); err != nil && ctx.Err() == nil {
				s.log.Warn("cannot write the clock's answer to a pending approval; trying again", "approval_id", ans.ApprovalID, "kind", string(ans.Kind), "error", err.Error())
			}
		}
		if now.Sub(lastForget) > time.Hour {
			lastForget = now
			if err := errors.Join(s.ForgetApprovals(ctx, now), s.ForgetExceptions(ctx, now)); err != nil && ctx.Err() == nil {
				s.log.Warn("cannot forget old approvals and exceptions", "error", err.Error())
			}
		}
	}
}
