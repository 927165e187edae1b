package remediate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
)

// act calls suspend or reactivate, with retries, and records the action in
// the ledger before the outcome is returned (so before the offset of the
// decision's message is committed). A refusal by the API is remembered.
func (s *Service) act(ctx context.Context, c *call) error {
	call, changed, unchanged := s.api.SuspendUser, ResultSuspended, ResultAlreadySuspended
	if c.d.Action == ActionReactivate {
		call, changed, unchanged = s.api.ReactivateUser, ResultReactivated, ResultAlreadyActive
	}
	var after User
	attempts, err := s.callAPI(ctx, c, string(c.d.Action), func(ctx context.Context) error {
		var err error
		after, err = call(ctx, c.out.User.ID)
		return err
	})
	c.out.Attempts = attempts
	if err != nil {
		if isInterrupted(err) {
			return err
		}
		f := classify(err, attempts)
		if f.Class == ClassCannotSuspend {
			if werr := s.noteRefusal(ctx, c, err); werr != nil {
				return werr
			}
		}
		return f
	}
	c.out.Result = changed
	if after.State == c.out.Before {
		c.out.Result = unchanged
	}
	c.out.User.State = after.State
	return s.record(ctx, c)
}

// record writes an action that succeeded to the ledger.
func (s *Service) record(ctx context.Context, c *call) error {
	e, _ := s.ledger.User(c.out.User.ID)
	st := Stamp{Rule: c.d.RuleID, Event: clip(c.d.EventID), Action: string(c.d.Action), Result: string(c.out.Result), Before: c.out.Before, At: c.now, Instance: s.cfg.Instance, Hold: c.hold}
	e.noteAction(st)
	switch c.out.Result {
	case ResultSuspended:
		if c.out.Before == StateActive {
			e.SuspendedBy, e.ReactivatedSeen, e.Refused = &st, time.Time{}, nil
			if s.cfg.Approvals {
				// Its end travels as an answer: without approvals it
				// stays until a person reactivates the user.
				e.contain(c.d, c.out.User.Email, c.now)
			}
			if e.Containment != nil {
				c.out.ContainedUntil = e.Containment.Ends
			}
		}
	case ResultReactivated:
		e.SuspendedBy, e.ReactivatedSeen, e.Containment = nil, time.Time{}, nil
	case ResultAlreadyActive:
		if e.SuspendedBy != nil && e.ReactivatedSeen.IsZero() {
			e.ReactivatedSeen = c.now // a person was first
		}
		e.Containment = nil
	}
	if err := s.ledger.PutUser(ctx, e); err != nil {
		return fmt.Errorf("%s of user %s done but not recorded: %w", c.d.Action, c.out.User.ID, err)
	}
	return nil
}

// noteRefusal remembers that the API refused to change the user.
func (s *Service) noteRefusal(ctx context.Context, c *call, cause error) error {
	e, _ := s.ledger.User(c.out.User.ID)
	e.Refused = &Refusal{Rule: c.d.RuleID, Reason: cause.Error(), At: c.now}
	return s.ledger.PutUser(ctx, e)
}

// callAPI runs one Users API operation under the retry policy, in its own
// span, recording each attempt's latency.
func (s *Service) callAPI(ctx context.Context, c *call, op string, fn func(context.Context) error) (int, error) {
	ctx, span := s.tracer.Start(ctx, "remediate."+op, spanAttrs(c)...)
	defer span.End()
	attempts, err := s.cfg.Retry.retry(ctx, func(ctx context.Context) error {
		start := time.Now()
		err := fn(ctx)
		status := "ok"
		if err != nil {
			status = "error"
		}
		s.metrics.apiLatency.Record(ctx, time.Since(start).Seconds(), attrs("action", op, "status", status))
		return err
	}, s.onRetry(ctx, c, op))
	if !isInterrupted(err) {
		c.answered = s.now()
	}
	span.SetAttributes(attribute.Int("tripline.attempts", attempts))
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	return attempts, err
}

// timeToAction records, once a decision reached its outcome, how long
// after its Kafka record's timestamp the Users API answered it
// (tripline_time_to_action), if that answer decided the outcome: the
// action's (suspended, reactivated, or already_ when the user was in that
// state by then), the read's that made the action needless
// (already_suspended, already_active, containment_extended), or the
// failure's. An outcome a guard gave, even after a read (breaker_open,
// pending_approval, grace), is no action; a decision that never reached
// the API (shadow, dry run, protected...) and one no record timed
// (RecordTime zero: an approved action carried out, the end of a timed
// suspension, where a person or a timer waited) are not recorded either.
// A record dated after the answer (a producer's clock ahead) counts as 0.
func (s *Service) timeToAction(ctx context.Context, c *call) {
	if c.answered.IsZero() || c.d.RecordTime.IsZero() {
		return
	}
	switch c.out.Result {
	case ResultSuspended, ResultAlreadySuspended, ResultReactivated, ResultAlreadyActive, ResultContainmentExtended, ResultFailed:
	default:
		return
	}
	s.metrics.timeToAction.Record(ctx, max(c.answered.Sub(c.d.RecordTime), 0).Seconds(),
		attrs("action", string(c.d.Action), "result", string(c.out.Result)))
}

func isInterrupted(err error) bool { return errors.Is(err, ErrInterrupted) }
