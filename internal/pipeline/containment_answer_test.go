package pipeline

import (
	"fmt"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/remediate"
)

// TestAnEndOfAnEndedContainmentChangesNothing: every instance's approval
// clock writes the end of a timed suspension that is due, so ends arrive
// after the one that carried it out and find it over
// (remediate.ErrContainmentUnknown): final and committed, neither
// dead-lettered nor stopping the consumer.
func TestAnEndOfAnEndedContainmentChangesNothing(t *testing.T) {
	t.Parallel()
	end := func(nonce string) remediate.Answer {
		return remediate.Answer{ApprovalID: remediate.ContainmentID("ANN"), Kind: remediate.AnswerEnd, UserID: "ANN", RuleID: "r1",
			Action: remediate.ActionSuspend, Created: time.Now().Add(-time.Minute), By: "tripline", Channel: "timeout", At: time.Now(), Nonce: nonce}
	}
	h := newHarness(t, Config{Keys: retryKey, AnswersTopic: answersTopic},
		answerMsg(t, answersTopic, 0, end("n-first"), retryKey), answerMsg(t, answersTopic, 1, end("n-second"), retryKey))
	h.dec.answerFn = func(a remediate.Answer) (remediate.Outcome, error) {
		if a.Nonce == "n-second" {
			return remediate.Outcome{}, fmt.Errorf("user ANN: %w", remediate.ErrContainmentUnknown)
		}
		return remediate.Outcome{Result: remediate.ResultReactivated}, nil
	}
	if err := h.runUntil(t, func() bool { return h.src.committedOffset(answersTopic, 0) == 2 }); err != nil {
		t.Fatalf("the consumer stopped: %v", err)
	}
	if n := len(h.dec.allAnswers()); n != 2 {
		t.Errorf("%d answers applied, want both ends", n)
	}
	if n := len(h.dlq.records()); n != 0 {
		t.Errorf("%d DLQ records, want none: the second end changed nothing", n)
	}
}
