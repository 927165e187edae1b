package notify_test

import (
	"encoding/json"
	"testing"

	"github.com/tripline-dev/tripline/internal/deadletter"
	"github.com/tripline-dev/tripline/internal/notify"
)

// TestDeadLetterIsNotifiedFromItsRecord: the pipeline's dead-letter
// record, with the user its decision was about, reaches a sink as a dlq
// notification carrying the record's class, rule, error and attempts; a
// class that needs no person is not sent.
func TestDeadLetterIsNotifiedFromItsRecord(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t)
	h := start(t, webhookConfig(rcv.URL))
	rec := deadletter.Record{Kind: deadletter.KindDeadLetter, Class: "retries_exhausted", RuleID: "r1", Message: "suspend user: 503", Attempts: 6,
		Source: deadletter.Source{Topic: "signins", Offset: 7}}
	h.DeadLetter(t.Context(), rec, "OPUSER7")
	h.DeadLetter(t.Context(), deadletter.Record{Kind: deadletter.KindDeadLetter, Class: "user_not_found", RuleID: "r1"}, "")
	h.close(t)
	reqs := rcv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want the retries_exhausted one", len(reqs))
	}
	var body map[string]any
	if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": "dlq", "class": "retries_exhausted", "rule_id": "r1", "op_user_id": "OPUSER7", "result": "failed",
		"reason": "suspend user: 503", "attempts": 6.0}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s = %v, want %v (%s)", k, body[k], v, reqs[0].Body)
		}
	}
	if got := notify.FromDeadLetter(rec, "U1"); got.Type != notify.TypeDLQ || got.UserID != "U1" || got.Class != rec.Class {
		t.Errorf("FromDeadLetter = %+v", got)
	}
}
