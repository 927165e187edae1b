package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/directory"
	"github.com/tripline-dev/tripline/internal/kafkaio"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/rules"
	"github.com/tripline-dev/tripline/internal/telemetry"
)

// OpenLedger reads the state topic with the configured Kafka settings,
// without creating anything, for the commands that read or write it (breaker,
// approvals). Its logs (warnings only) go to logw. Close it when done.
func OpenLedger(ctx context.Context, cfg config.Config, logw io.Writer) (*Main, error) {
	m := &Main{cfg: cfg, now: time.Now}
	var err error
	if m.log, err = telemetry.NewLogger(logw, "warn", cfg.Log.Format); err != nil {
		return nil, err
	}
	k := cfg.Kafka
	m.clientID = clientID(k.ClientID, "cli")
	k.ClientID = m.clientID
	if m.conn, err = kafkaio.NewConnection(kafkaConfig(k)); err != nil {
		return nil, err
	}
	m.cfg.Kafka.CreateTopics = false
	if err := m.loadLedger(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// clientID names one process of tripline to Kafka and in the ledger's
// records: the configured client id, what the process does (empty for the
// consumer), its host and its pid.
func clientID(base, role string) string {
	host, _ := os.Hostname()
	if role != "" {
		base += "-" + role
	}
	return fmt.Sprintf("%s-%s-%d", base, host, os.Getpid())
}

// Ledger is the action ledger this process reads (and writes through).
func (m *Main) Ledger() *remediate.Ledger { return m.ledger }

// ErrAnswerNotApplied: an answer was written, and no running consumer
// applied it within the wait; it applies when one runs, unless the action
// expires first.
var ErrAnswerNotApplied = errors.New("no running consumer applied the answer yet")

// AnswerApproval checks that the action is pending and not expired, writes
// the answer (bound to the approval) and follows the state topic until a
// running consumer applied it, at most wait. It returns the approval as it
// then stands and the answer written; ErrAnswerNotApplied when nobody
// applied it in time.
func (m *Main) AnswerApproval(ctx context.Context, ans remediate.Answer, wait time.Duration) (remediate.Approval, remediate.Answer, error) {
	a, ok := m.ledger.Approval(ans.ApprovalID)
	switch {
	case !ok:
		return a, ans, fmt.Errorf("no pending action %s (consumer approvals list shows them)", ans.ApprovalID)
	case a.State != remediate.ApprovalPending:
		return a, ans, fmt.Errorf("%s was already %s by %s via %s at %s: nothing changed", a.ID, a.State, a.DecidedBy, a.Channel, a.DecidedAt.UTC().Format(time.RFC3339))
	case !m.now().Before(a.Expires):
		return a, ans, fmt.Errorf("%s expired at %s: it is denied and is never carried out; nothing changed", a.ID, a.Expires.UTC().Format(time.RFC3339))
	}
	if !m.approvals() {
		return a, ans, errors.New("approvals are off: they need kafka.approvals_topic and the signing key (TRIPLINE_DLQ_SIGNING_KEY)")
	}
	k := m.cfg.Kafka
	if m.answers == nil {
		m.answers = m.conn.NewTopicWriter(k.ApprovalsTopic, k.MaxBytes)
	}
	tailCtx, stopTail := context.WithCancel(ctx)
	tailed := make(chan struct{})
	go func() { // follow the state topic: the consumer records the outcome there
		defer close(tailed)
		m.table.Run(tailCtx)
	}()
	defer func() { stopTail(); <-tailed }()
	ans, err := m.WriteAnswer(ctx, a.Bind(ans))
	if err != nil {
		return a, ans, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	werr := m.ledger.Wait(waitCtx, func() bool {
		a, _ = m.ledger.Approval(ans.ApprovalID)
		return a.State != remediate.ApprovalPending && (a.State != remediate.ApprovalApproved || a.Answer != ans.Nonce || a.Result != "" || a.Failure != "")
	})
	if werr != nil && a.State == remediate.ApprovalPending {
		return a, ans, ErrAnswerNotApplied
	}
	return a, ans, nil
}

// Rules is the rules watcher: the rule set in force.
func (m *Main) Rules() *rules.Watcher { return m.rules }

// Directory is the user directory.
func (m *Main) Directory() *directory.Directory { return m.dir }

// MetricsHandler serves this process's metrics, as /metrics does.
func (m *Main) MetricsHandler() http.Handler { return m.tel.MetricsHandler() }
