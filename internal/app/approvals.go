package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/tripline-dev/tripline/internal/pipeline"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// WriteAnswer signs an answer and writes it to the approvals topic, where
// the instance owning its partition applies it. It fills in the nonce and
// the time when they are empty.
func (m *Main) WriteAnswer(ctx context.Context, ans remediate.Answer) (remediate.Answer, error) {
	if m.answers == nil {
		return ans, fmt.Errorf("approvals are off: they need kafka.approvals_topic and the signing key (TRIPLINE_DLQ_SIGNING_KEY)")
	}
	if ans.Nonce == "" {
		ans.Nonce = newNonce()
	}
	if ans.At.IsZero() {
		ans.At = time.Now().UTC()
		if m.now != nil {
			ans.At = m.now().UTC()
		}
	}
	rec, err := pipeline.AnswerRecord(ans, m.keys)
	if err != nil {
		return ans, err
	}
	if err := m.answers.WriteDeadLetter(ctx, rec, rec); err != nil {
		return ans, fmt.Errorf("write the answer to %s: %w", m.cfg.Kafka.ApprovalsTopic, err)
	}
	return ans, nil
}

func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

// OffsetClock is the real clock moved forward by an offset: the demo and
// the tests move it to show what happens when an approval expires,
// instead of waiting. Its zero value is the real clock.
type OffsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is the real time plus the offset.
func (c *OffsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Forward moves the clock forward by d.
func (c *OffsetClock) Forward(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
