package deadletter

import "time"

// Header names. They are part of the wire format: never rename one.
const (
	HeaderSourceTopic     = "tripline.source.topic"
	HeaderSourcePartition = "tripline.source.partition"
	HeaderSourceOffset    = "tripline.source.offset"
	// HeaderSourceTimestamp is the original record's Kafka timestamp
	// (RFC 3339), or, on an answer record, when the answer was given.
	HeaderSourceTimestamp = "tripline.source.timestamp"
	HeaderErrorClass      = "tripline.error.class"
	HeaderErrorReason     = "tripline.error.reason"
	HeaderErrorMessage    = "tripline.error.message"
	HeaderRuleID          = "tripline.rule.id"
	HeaderAttempts        = "tripline.attempts"
	HeaderFirstFailure    = "tripline.first.failure"
	HeaderRetryable       = "tripline.retryable"
	HeaderFailures        = "tripline.failures"
	// HeaderBatchIndex is the index (from 0) in its batch of the item a
	// dead-letter record holds alone.
	HeaderBatchIndex = "tripline.batch.index"
	// HeaderValueOmitted is "too_large" when the value was left out (it
	// did not fit in the dead-letter topic, or it was cut off while
	// inflating); HeaderValueSize is its size and HeaderValueSHA256 its
	// hash, when known.
	HeaderValueOmitted = "tripline.value.omitted"
	HeaderValueSize    = "tripline.value.size"
	HeaderValueSHA256  = "tripline.value.sha256"
	// HeaderRetryDue is when a parked record is re-driven (RFC 3339);
	// HeaderRetryParks how many times its decision was parked.
	HeaderRetryDue   = "tripline.retry.due"
	HeaderRetryParks = "tripline.retry.parks"
	// HeaderApproval marks a record whose value is an answer to a pending
	// approval (a JSON remediate.Answer) instead of an event. Its value is
	// AnswerMarker.
	HeaderApproval = "tripline.approval"
	// HeaderSignature holds the signature (see Sign).
	HeaderSignature = "tripline.signature"
)

// AnswerMarker is the value of HeaderApproval.
const AnswerMarker = "answer"

// OmittedTooLarge is the value of HeaderValueOmitted.
const OmittedTooLarge = "too_large"

// Kind says which of tripline's records a Record is, and so which headers
// it carries.
type Kind uint8

// The kinds of record.
const (
	// KindNone: the headers hold no record of tripline's (a source event).
	KindNone Kind = iota
	// KindDeadLetter: a message, or a batch item, that failed: where it
	// was read first (Source) and why (the failure fields).
	KindDeadLetter
	// KindParked: a dead-letter record parked on the retry topic, with its
	// due time and park count.
	KindParked
	// KindAnswer: an answer to a pending approval, written by the CLI or
	// the approval listener: the answer marker and when it was given
	// (Source.Time).
	KindAnswer
	// KindNotification: a notification no sink took, dead-lettered for a
	// person to read: its class, reason (the sink) and message only.
	KindNotification
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindDeadLetter:
		return "dead-letter"
	case KindParked:
		return "parked"
	case KindAnswer:
		return "answer"
	case KindNotification:
		return "notification"
	}
	return "none"
}

// Source is where a record was read first.
type Source struct {
	Topic     string
	Partition int
	Offset    int64
	// Time is the original record's Kafka timestamp (zero: unknown).
	Time time.Time
}

// Omitted describes a value left out of a dead-letter record.
type Omitted struct {
	// Reason is why (OmittedTooLarge); "" when the value is there.
	Reason string
	// Size is the value's size in bytes (for a value cut off while
	// inflating, the size it declared).
	Size int64
	// SHA256 is the hex SHA-256 of the value ("" when it was never held
	// whole).
	SHA256 string
}

// Record is tripline's description of a record it wrote: Encode turns it
// into headers, Decode reads it back. Which fields travel depends on Kind
// (see Encode).
type Record struct {
	Kind Kind
	// Source is where the message was read first: a replayed or parked
	// record keeps its original's.
	Source Source
	// Class, Reason and Message say why the record was dead-lettered (the
	// error class, its reason code, and the error); RuleID is the rule
	// whose decision failed.
	Class, Reason, Message, RuleID string
	// Attempts counts the tries of the failed action, across parks and
	// replays.
	Attempts int
	// FirstFailure is when the message first failed.
	FirstFailure time.Time
	// Retryable says the failure may pass if tried again.
	Retryable bool
	// Failures counts the whole-message failures of which this record
	// describes the first.
	Failures int
	// BatchItem is the position, from 1, of the batch item the record holds
	// alone (HeaderBatchIndex holds it from 0); 0 when it holds the whole
	// message.
	BatchItem int
	// Omitted describes the value, when it was left out.
	Omitted Omitted
	// Due and Parks: when a parked record is re-driven, and how many times
	// its decision was parked (KindParked).
	Due   time.Time
	Parks int
	// Answer says the value is an answer to a pending approval, not an
	// event (KindAnswer, or a dead-lettered or parked answer).
	Answer bool
}
