package slackapproval

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
)

// isButton reports whether actionID is one of tripline's buttons.
func isButton(actionID string) bool {
	switch actionID {
	case ActionApprove, ActionDeny, ActionKeep, ActionLift:
		return true
	}
	return false
}

// contain records an approver's Keep or Lift click (already checked and
// remembered for replay refusal) with Decider.DecideContainment, updates
// the message and tells the clicker when their click changed nothing.
func (h *Handler) contain(ctx context.Context, w http.ResponseWriter, p *payload, log *slog.Logger) {
	act := p.Actions[0]
	keep := act.ActionID == ActionKeep
	err := h.decider.DecideContainment(ctx, act.Value, keep, p.User.ID, ChannelSlack)
	ref := MessageRef{Channel: p.Container.ChannelID, TS: p.Container.MessageTS}
	switch {
	case err == nil:
		status, outcome := liftedText(p.User.ID, h.now()), "lifted"
		if keep {
			status, outcome = keptText(p.User.ID, h.now()), "kept"
		}
		log.Info("slack answer to a timed suspension recorded", "outcome", outcome)
		if err := h.notifier.update(ctx, ref, summaryFromMessage(p.Message.Blocks), status); err != nil {
			log.Error("slack answer to a timed suspension recorded, message not updated", "error", err)
		}
		w.WriteHeader(http.StatusOK)
	case errors.Is(err, ErrAlreadyDecided):
		log.Info("slack answer to a timed suspension too late", "outcome", "already_decided")
		h.ephemeral(ctx, w, p, log, "Another answer or the end of this timed suspension came first (it was kept, or it ended or is ending); your click changed nothing.")
	case errors.Is(err, ErrUnknown):
		log.Info("slack answer to a timed suspension no longer in force", "outcome", "unknown")
		if err := h.notifier.update(ctx, ref, summaryFromMessage(p.Message.Blocks), goneText); err != nil {
			log.Warn("slack message of a timed suspension no longer in force not updated", "error", err)
		}
		h.ephemeral(ctx, w, p, log, "This timed suspension is no longer in force (it ended, or was kept or lifted); your click changed nothing.")
	default:
		log.Error("slack answer to a timed suspension not recorded", "outcome", "error", "error", err)
		h.ephemeral(ctx, w, p, log, "tripline could not record your answer. Try again in a minute.")
	}
}
