package pipeline

import (
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/deadletter"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/signing"
)

const answersTopic = "tripline.approvals"

func approveAnswer(id string) remediate.Answer {
	return remediate.Answer{ApprovalID: id, Kind: remediate.AnswerApprove, UserID: "ANN", RuleID: "r1", Action: remediate.ActionSuspend,
		Created: time.Now().Add(-time.Minute), By: "dana", Channel: "cli", At: time.Now(), Nonce: "n-" + id}
}

func answerMsg(t *testing.T, topic string, offset int64, a remediate.Answer, key *signing.Keyring) kafka.Message {
	t.Helper()
	m, err := AnswerRecord(a, key)
	if err != nil {
		t.Fatal(err)
	}
	m.Topic, m.Partition, m.Offset, m.HighWaterMark = topic, 0, offset, offset+1
	return m
}

// TestSignedAnswersAreAppliedAndForgedOnesRefused: a signed answer on the
// answers topic reaches the decision service; an unsigned or wrongly
// signed one, a record of the answers topic that is no answer, and an
// answer slipped into a source topic are refused into the DLQ and never
// applied; an answer that changed nothing is final, not dead-lettered.
func TestSignedAnswersAreAppliedAndForgedOnesRefused(t *testing.T) {
	t.Parallel()
	good := answerMsg(t, answersTopic, 0, approveAnswer("ap_good"), retryKey)
	forged := answerMsg(t, answersTopic, 1, approveAnswer("ap_forged"), keysOf([]byte("someone-elses-key-0123"), nil))
	unsigned := answerMsg(t, answersTopic, 2, approveAnswer("ap_unsigned"), retryKey)
	unsigned.Headers = unsigned.Headers[:len(unsigned.Headers)-1] // the signature dropped
	notAnswer := msg(answersTopic, 0, 3, oktaSignIn("e1", "ann@example.com", "HIGH"))
	late := answerMsg(t, answersTopic, 4, approveAnswer("ap_late"), retryKey)
	inSource := answerMsg(t, "signins", 0, approveAnswer("ap_source"), keysOf([]byte("attacker-key-0123456789"), nil))
	cfg := Config{Keys: retryKey, AnswersTopic: answersTopic}
	h := newHarness(t, cfg, good, forged, unsigned, notAnswer, late, inSource)
	h.dec.answerFn = func(a remediate.Answer) (remediate.Outcome, error) {
		if a.ApprovalID == "ap_late" {
			return remediate.Outcome{}, fmt.Errorf("approval ap_late: %w", remediate.ErrApprovalExpired)
		}
		return remediate.Outcome{Result: remediate.ResultSuspended}, nil
	}
	if err := h.runUntil(t, func() bool {
		return h.src.committedOffset(answersTopic, 0) == 5 && h.src.committedOffset("signins", 0) == 1
	}); err != nil {
		t.Fatal(err)
	}
	var applied []string
	for _, a := range h.dec.allAnswers() {
		applied = append(applied, a.ApprovalID)
	}
	if fmt.Sprint(applied) != "[ap_good ap_late]" {
		t.Errorf("answers applied %v, want [ap_good ap_late]", applied)
	}
	if n := h.dec.count(); n != 0 {
		t.Errorf("%d decisions: an answer was read as an event", n)
	}
	recs := h.dlq.records()
	if len(recs) != 4 {
		t.Fatalf("%d DLQ records, want the 4 refused", len(recs))
	}
	for _, r := range recs {
		if HeaderValue(r, deadletter.HeaderErrorClass) != ClassRefused {
			t.Errorf("DLQ record class %q, want refused", HeaderValue(r, deadletter.HeaderErrorClass))
		}
	}
}

// TestAParkedAnswerStaysAnAnswer: an approved action that failed for a
// reason that may pass is parked with its answer, and re-driven as an
// answer, not read as an event.
func TestAParkedAnswerStaysAnAnswer(t *testing.T) {
	t.Parallel()
	cfg := parking(10*time.Millisecond, 20*time.Millisecond, time.Minute)
	cfg.AnswersTopic = answersTopic
	h := newHarness(t, cfg, answerMsg(t, answersTopic, 0, approveAnswer("ap_1"), retryKey))
	h.dec.answerFn = func(a remediate.Answer) (remediate.Outcome, error) {
		if len(h.dec.allAnswers()) == 1 {
			return remediate.Outcome{}, &remediate.Failure{Class: remediate.ClassRetriesExhausted, Retryable: true, Err: fmt.Errorf("503")}
		}
		return remediate.Outcome{Result: remediate.ResultSuspended}, nil
	}
	if err := h.runUntil(t, func() bool { return len(h.dec.allAnswers()) == 2 && h.src.committedOffset(retryTopic, 0) == 1 }); err != nil {
		t.Fatal(err)
	}
	parked := h.src.topic(retryTopic)[0]
	if HeaderValue(parked, deadletter.HeaderApproval) != "answer" || deadletter.Verify(parked, retryKey) != nil {
		t.Errorf("parked answer headers %v", parked.Headers)
	}
	if got := h.dec.allAnswers()[1]; got.ApprovalID != "ap_1" || got.Nonce != "n-ap_1" {
		t.Errorf("re-driven answer %+v", got)
	}
	if h.dec.count() != 0 || len(h.dlq.records()) != 0 {
		t.Errorf("%d decisions, %d dead letters", h.dec.count(), len(h.dlq.records()))
	}
}
