package pipeline

import (
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/deadletter"
	"github.com/tripline-dev/tripline/internal/signing"
)

// envelope is a fetched message classified once, where it enters the
// pipeline (classify, in the fetch loop): what it is, whether tripline
// wrote it (its signature verified, once), and what tripline's headers on
// it say (decoded once, by internal/deadletter). Nothing after classify
// reads the message's tripline.* headers again: waiting for a parked
// record's due time, handling, the event-time limits, parking and
// dead-lettering all read the envelope.
type envelope struct {
	msg  kafka.Message
	kind kind
	// refusal says why a refused message is refused.
	refusal error
	// own is the record of tripline's the message carries (a parked
	// decision's, a replayed dead-letter record's, an answer's), zero for
	// a source event. It is trusted once the message is admitted; a
	// refused message's own is only what it claims.
	own     deadletter.Record
	trusted bool
	// answer says the message carries the answer marker: its value is an
	// answer to a pending approval, not an event (a parked answer stays
	// one, and a dead-letter record of it keeps the marker).
	answer bool
	// cutOff marks a value cut off while inflating (nil: none).
	cutOff *deadletter.CutOff
}

// kind is what a fetched message is.
type kind uint8

const (
	// kindEvent: a source event, from a source topic, or a dead-letter
	// record replayed (Config.Replay).
	kindEvent kind = iota
	// kindParked: a decision parked on the retry topic (an event, or an
	// answer when envelope.answer is set), due at own.Due.
	kindParked
	// kindAnswer: an answer to a pending approval.
	kindAnswer
	// kindRefused: not admitted (refusal says why): never decoded or
	// decided, dead-lettered as refused.
	kindRefused
)

// classify makes the envelope of a fetched message. A record of the retry
// topic must be a parked record tripline signed; a record with the answer
// marker, or any record of the answers topic, an answer tripline signed; a
// record of a replay (Config.Replay) a dead-letter record tripline signed
// (or an unsigned one, when the replay accepts those). Anything else is a
// source event, whose tripline.* headers, if it has any, are a producer's
// and mean nothing. The signature is verified here and nowhere else.
func (c *Consumer) classify(msg kafka.Message) envelope {
	e := envelope{msg: msg}
	if cut, ok := deadletter.CutOffOf(msg); ok {
		e.cutOff = &cut
	}
	own, malformed := deadletter.Decode(msg.Headers)
	var err error
	switch {
	case c.cfg.Retry.Topic != "" && msg.Topic == c.cfg.Retry.Topic:
		e.kind, err = kindParked, c.admitParked(msg, own, malformed)
	case own.Answer || c.cfg.AnswersTopic != "" && msg.Topic == c.cfg.AnswersTopic:
		e.kind, err = kindAnswer, c.admitAnswer(msg, own)
	case c.cfg.Replay != nil:
		e.kind, err = kindEvent, c.admitReplayed(msg, own, malformed)
	default:
		return e
	}
	e.own, e.answer = own, own.Answer
	if err != nil {
		e.kind, e.refusal = kindRefused, err
		return e
	}
	e.trusted = true
	return e
}

// admitParked admits a record of the retry topic only if tripline wrote
// it: signed under the signing key, with a due time (a dead-letter record
// copied there has none, and adding one breaks its signature) and a first
// failure, neither of them further ahead of this instance's clock than a
// parked record can be (MaxClockSkew, plus Retry.IntervalMax for the due
// time): an instance whose clock runs ahead cannot make a decision wait
// longer, or never run out.
func (c *Consumer) admitParked(msg kafka.Message, own deadletter.Record, malformed error) error {
	if err := c.verify(msg); err != nil {
		return err
	}
	switch {
	case own.Due.IsZero():
		return errors.New("not a parked record: no valid tripline.retry.due header")
	case own.FirstFailure.IsZero():
		return errors.New("not a parked record: no valid tripline.first.failure header")
	case malformed != nil:
		return fmt.Errorf("not a parked record: %w", malformed)
	case c.cfg.MaxClockSkew <= 0:
		return nil
	}
	now := c.cfg.Now()
	switch {
	case own.FirstFailure.After(now.Add(c.cfg.MaxClockSkew)):
		return fmt.Errorf("%w: parked record's first failure %s is more than %s ahead of the clock", errFutureTime, own.FirstFailure.UTC().Format(time.RFC3339), c.cfg.MaxClockSkew)
	case own.Due.After(now.Add(c.cfg.MaxClockSkew + c.cfg.Retry.IntervalMax)):
		return fmt.Errorf("%w: parked record's due time %s is more than %s ahead of the clock", errFutureTime, own.Due.UTC().Format(time.RFC3339), c.cfg.MaxClockSkew+c.cfg.Retry.IntervalMax)
	}
	return nil
}

// admitAnswer admits an answer only if it carries the answer marker and
// tripline signed it, whatever topic it came from: an answer approves an
// action, so nobody but tripline's CLI and approval listener may write
// one. Its value is checked when it is handled (handleAnswer).
func (c *Consumer) admitAnswer(msg kafka.Message, own deadletter.Record) error {
	if !own.Answer {
		return fmt.Errorf("answer: %w", ErrNotAnAnswer)
	}
	if err := c.verify(msg); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	return nil
}

// admitReplayed admits a record of a replay only if tripline signed it (a
// record without a signature too, when the replay accepts those; one whose
// signature does not verify never), and its headers parse. A record the
// consumer refused (class refused: a forged parked record or answer, which
// it dead-letters unsigned so that it is never laundered) is never
// admitted, signed or not.
func (c *Consumer) admitReplayed(msg kafka.Message, own deadletter.Record, malformed error) error {
	if own.Class == ClassRefused {
		return fmt.Errorf("%w: tripline refused this record when it first read it (%s); a replay never acts on it", errRefusedBefore, own.Reason)
	}
	err := c.verify(msg)
	if errors.Is(err, signing.ErrUnsigned) && c.cfg.Replay.AcceptUnsigned {
		err = nil
	}
	if err != nil {
		return err
	}
	if malformed != nil {
		return fmt.Errorf("not a record tripline dead-lettered: %w", malformed)
	}
	return nil
}

// errRefusedBefore marks a dead-letter record of class refused, which a
// replay never acts on.
var errRefusedBefore = errors.New("refused before")

// errFutureTime marks a record of tripline's own refused for a time ahead
// of the clock.
var errFutureTime = errors.New("dated ahead of the clock")

// isAnswer reports whether the message's value is an answer to handle.
func (e *envelope) isAnswer() bool {
	return e.kind == kindAnswer || e.kind == kindParked && e.answer
}

// formatTopic is the topic whose pinned format decodes the value (see
// Config.Formats): a parked or replayed record's original source topic,
// otherwise the message's own.
func (e *envelope) formatTopic() string {
	if e.trusted && e.own.Source.Topic != "" {
		return e.own.Source.Topic
	}
	return e.msg.Topic
}

// recordTime is the Kafka record timestamp the event-time limits check: a
// parked or replayed record's original's, otherwise the message's own.
func (e *envelope) recordTime() time.Time {
	if e.trusted && !e.own.Source.Time.IsZero() {
		return e.own.Source.Time
	}
	return e.msg.Time
}

// source is where the message was read first: a parked or replayed
// record's original position, otherwise the message's own.
func (e *envelope) source() deadletter.Source {
	if e.trusted && e.own.Source.Topic != "" {
		return e.own.Source
	}
	return deadletter.Source{Topic: e.msg.Topic, Partition: e.msg.Partition, Offset: e.msg.Offset, Time: e.msg.Time}
}
