package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/signing"
)

// HeaderApproval marks a record that holds an answer to a pending approval
// (a JSON remediate.Answer) instead of an event. Its value is "answer".
// Such a record is acted on only when signed under the signing key (see
// SignRecord), wherever it is read: an answer approves an action, so
// nobody but tripline's CLI and approval listener may write one.
const HeaderApproval = "tripline.approval"

// maxAnswerBytes bounds an answer record's value.
const maxAnswerBytes = 4096

// ErrNotAnAnswer refuses a record of the answers topic that is not a
// signed answer.
var ErrNotAnAnswer = errors.New("not an answer to a pending approval (no tripline.approval header)")

// AnswerRecord builds the signed record of an answer, keyed by approval id
// so that the answers to one approval stay in order.
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
	m := kafka.Message{Key: []byte(a.ApprovalID), Value: value, Headers: []kafka.Header{
		{Key: HeaderApproval, Value: []byte("answer")},
		{Key: HeaderSourceTimestamp, Value: []byte(a.At.UTC().Format(time.RFC3339Nano))},
	}}
	signDeadLetter(&m, keys)
	return m, nil
}

// handleAnswer checks an answer record (signed under the signing key,
// whatever topic it came from, and well-formed) and hands it over.
func (c *Consumer) handleAnswer(msg kafka.Message) ([]failure, []handover) {
	refuse := func(err error) ([]failure, []handover) {
		return []failure{{class: ClassRefused, reason: refusalReason(err), message: "answer: " + err.Error(), attempts: 1, first: time.Now()}}, nil
	}
	if HeaderValue(msg, HeaderApproval) == "" {
		return refuse(ErrNotAnAnswer)
	}
	if err := VerifyDeadLetter(msg, c.cfg.Keys); err != nil {
		return refuse(err)
	}
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
