package app

import (
	"fmt"

	"github.com/tripline-dev/tripline/internal/secret"
	"github.com/tripline-dev/tripline/internal/slackapproval"
)

// newSlack builds the Slack side of approvals when a channel is set, and
// subscribes it to the decision service's notices.
func (m *Main) newSlack() error {
	sl := m.cfg.Slack
	if sl.ApprovalChannel == "" {
		return nil
	}
	cfg := slackapproval.ApprovalsConfig{
		Notifier: slackapproval.NotifierConfig{BotToken: secret.Value(sl.BotToken.Reveal()), Channel: sl.ApprovalChannel, APIURL: sl.APIURL},
		Now:      m.now,
	}
	if m.cfg.ApprovalAddr != "" {
		cfg.Handler = &slackapproval.HandlerConfig{
			SigningSecret: secret.Value(sl.SigningSecret.Reveal()), Approvers: sl.Approvers, ApproverGroup: sl.ApproverGroup,
		}
	}
	s, err := slackapproval.NewApprovals(cfg, m.ledger, m, m.log)
	if err != nil {
		return fmt.Errorf("slack approvals (slack.* settings): %w", err)
	}
	m.slack = s
	m.notices = append(m.notices, s.Notice)
	return nil
}
