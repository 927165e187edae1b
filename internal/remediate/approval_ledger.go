package remediate

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// ApprovalMessage is where the request for an approval was posted (a chat
// channel and the message's id there), kept in the ledger (key
// approval-message/<id>) so that any instance can update the message when
// the approval is decided or expires.
type ApprovalMessage struct {
	ID      string `json:"id"`
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// ApprovalMessage returns where an approval's request was posted.
func (l *Ledger) ApprovalMessage(id string) (ApprovalMessage, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m, ok := l.messages[id]
	return m, ok
}

// PutApprovalMessage records where an approval's request was posted.
func (l *Ledger) PutApprovalMessage(ctx context.Context, m ApprovalMessage) error {
	value, err := encode(m, nil)
	if err != nil {
		return fmt.Errorf("ledger: encode approval message %s: %w", m.ID, err)
	}
	return l.put(ctx, messageKeyPrefix+m.ID, value)
}

// Approval returns an approval by id (false when the ledger has none).
func (l *Ledger) Approval(id string) (Approval, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.approvals[id]
	if !ok {
		return Approval{}, false
	}
	return *a, true
}

// Approvals returns every approval the ledger holds, oldest first.
func (l *Ledger) Approvals() []Approval {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Approval, 0, len(l.approvals))
	for _, a := range l.approvals {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// PendingApprovals counts the approvals waiting for an answer.
func (l *Ledger) PendingApprovals() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, a := range l.approvals {
		if a.State == ApprovalPending {
			n++
		}
	}
	return n
}

// pendingFor finds a pending, unexpired approval of rule for user.
func (l *Ledger) pendingFor(rule, user string, now time.Time) (Approval, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range l.approvals {
		if a.State == ApprovalPending && a.RuleID == rule && a.UserID == user && now.Before(a.Expires) {
			return *a, true
		}
	}
	return Approval{}, false
}

// PutApproval writes an approval, durably, its texts clipped to fit
// MaxStateRecordBytes.
func (l *Ledger) PutApproval(ctx context.Context, a Approval) error {
	value, err := encode(&a, a.shrink)
	if err != nil {
		return fmt.Errorf("ledger: encode approval %s: %w", a.ID, err)
	}
	return l.put(ctx, approvalKeyPrefix+a.ID, value)
}
