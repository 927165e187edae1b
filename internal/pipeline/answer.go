package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/deadletter"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/signing"
)

// maxAnswerBytes bounds an answer record's value.
const maxAnswerBytes = 4096

// ErrNotAnAnswer refuses a record of the answers topic that is not a
// signed answer.
var ErrNotAnAnswer = errors.New("not an answer to a pending approval (no tripline.approval header)")

// AnswerRecord builds the signed record of an answer (deadletter.KindAnswer:
// the answer marker and when it was given), keyed by approval id so that
// the answers to one approval stay in order. Such a record is acted on only
// when signed under the signing key, wherever it is read: an answer
// approves an action, so nobody but tripline's CLI and approval listener
// may write one.
func AnswerRecord(a remediate.Answer, keys *signing.Keyring) (kafka.Message, error) {
	if !keys.Signs() {
		return kafka.Message{}, errors.New("answers need the signing key (TRIPLINE_DLQ_SIGNING_KEY)")
	}
	if err := a.Validate(); err != nil {
		return kafka.Message{}, err
	}
	value, err := json.Marshal(a)
	if err != nil {
		return kafka.Message{}, err
	}
	rec := deadletter.Record{Kind: deadletter.KindAnswer, Answer: true, Source: deadletter.Source{Time: a.At}}
	m := kafka.Message{Key: []byte(a.ApprovalID), Value: value, Headers: rec.Encode()}
	deadletter.Sign(&m, keys)
	return m, nil
}

// handleAnswer reads an admitted answer's value (well-formed, of bounded
// size; its signature was checked at fetch) and hands it over.
func (c *Consumer) handleAnswer(e *envelope) ([]failure, []handover) {
	refuse := func(err error) ([]failure, []handover) {
		return []failure{{class: ClassRefused, reason: refusalReason(err), message: "answer: " + err.Error(), attempts: 1, first: time.Now()}}, nil
	}
	msg := e.msg
	if len(msg.Value) > maxAnswerBytes {
		return refuse(fmt.Errorf("answer of %d bytes, over %d", len(msg.Value), maxAnswerBytes))
	}
	var a remediate.Answer
	dec := json.NewDecoder(bytes.NewReader(msg.Value))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return refuse(fmt.Errorf("decode: %w", err))
	}
	if err := a.Validate(); err != nil {
		return refuse(err)
	}
	a.Source = remediate.Source{Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset}
	return nil, []handover{{answer: &a, d: remediate.Decision{RuleID: "approval", EventID: a.ApprovalID}}}
}
