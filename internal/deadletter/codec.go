package deadletter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// ErrMalformed marks a header of tripline's whose value does not parse.
var ErrMalformed = errors.New("malformed header")

// Encode returns r's headers, in a fixed order:
//
//   - KindDeadLetter: HeaderApproval when r.Answer, the four source
//     headers, the eight failure headers (class, reason, message, rule id,
//     attempts, first failure, retryable, failures) even when empty, then
//     HeaderBatchIndex when r.BatchItem is set and the value headers when
//     r.Omitted is;
//   - KindParked: the same, then HeaderRetryDue and HeaderRetryParks;
//   - KindAnswer: HeaderApproval and HeaderSourceTimestamp (when the answer
//     was given);
//   - KindNotification: class, reason and message;
//   - KindNone: nothing.
//
// Times are written in RFC 3339 with nanoseconds, in UTC; a zero time as
// an empty value. Encode does not sign: see Sign.
func (r Record) Encode() []kafka.Header {
	var out []kafka.Header
	h := func(k, v string) { out = append(out, kafka.Header{Key: k, Value: []byte(v)}) }
	switch r.Kind {
	case KindDeadLetter, KindParked:
		if r.Answer {
			h(HeaderApproval, AnswerMarker)
		}
		h(HeaderSourceTopic, r.Source.Topic)
		h(HeaderSourcePartition, strconv.Itoa(r.Source.Partition))
		h(HeaderSourceOffset, strconv.FormatInt(r.Source.Offset, 10))
		h(HeaderSourceTimestamp, formatTime(r.Source.Time))
		h(HeaderErrorClass, r.Class)
		h(HeaderErrorReason, r.Reason)
		h(HeaderErrorMessage, r.Message)
		h(HeaderRuleID, r.RuleID)
		h(HeaderAttempts, strconv.Itoa(r.Attempts))
		h(HeaderFirstFailure, formatTime(r.FirstFailure))
		h(HeaderRetryable, strconv.FormatBool(r.Retryable))
		h(HeaderFailures, strconv.Itoa(r.Failures))
		if r.BatchItem > 0 {
			h(HeaderBatchIndex, strconv.Itoa(r.BatchItem-1))
		}
		if r.Omitted.Reason != "" {
			h(HeaderValueOmitted, r.Omitted.Reason)
			h(HeaderValueSize, strconv.FormatInt(r.Omitted.Size, 10))
			if r.Omitted.SHA256 != "" {
				h(HeaderValueSHA256, r.Omitted.SHA256)
			}
		}
		if r.Kind == KindParked {
			h(HeaderRetryDue, formatTime(r.Due))
			h(HeaderRetryParks, strconv.Itoa(r.Parks))
		}
	case KindAnswer:
		h(HeaderApproval, AnswerMarker)
		h(HeaderSourceTimestamp, formatTime(r.Source.Time))
	case KindNotification:
		h(HeaderErrorClass, r.Class)
		h(HeaderErrorReason, r.Reason)
		h(HeaderErrorMessage, r.Message)
	}
	return out
}

// Decode reads the record tripline's headers describe. Header names are
// matched exactly, as Verify covers them (a "Tripline.Retry.Due" is not
// tripline's and is ignored), and the first of a repeated name counts. The
// kind follows from the headers present: a due time or park count makes a
// parked record, a class a dead-letter record (a notification when it has
// no source topic), the answer marker alone an answer; without any, the
// kind is KindNone. An empty value reads as the zero value. A value that
// does not parse leaves its field zero and is reported in the error
// (wrapping ErrMalformed), with everything else decoded.
//
// Decode does not verify: call Verify on the message before trusting
// what it says.
func Decode(headers []kafka.Header) (Record, error) {
	d := decoder{values: make(map[string]string, 16)}
	for _, h := range headers {
		if _, seen := d.values[h.Key]; !seen && IsOwn(h.Key) {
			d.values[h.Key] = string(h.Value)
		}
	}
	var r Record
	r.Source.Topic = d.values[HeaderSourceTopic]
	r.Source.Partition = d.int(HeaderSourcePartition)
	r.Source.Offset = d.int64(HeaderSourceOffset)
	r.Source.Time = d.time(HeaderSourceTimestamp)
	r.Class, r.Reason, r.Message, r.RuleID = d.values[HeaderErrorClass], d.values[HeaderErrorReason], d.values[HeaderErrorMessage], d.values[HeaderRuleID]
	r.Attempts = d.int(HeaderAttempts)
	r.FirstFailure = d.time(HeaderFirstFailure)
	r.Retryable = d.bool(HeaderRetryable)
	r.Failures = d.int(HeaderFailures)
	if _, ok := d.values[HeaderBatchIndex]; ok {
		if i := d.int(HeaderBatchIndex); i >= 0 {
			r.BatchItem = i + 1
		} else {
			d.fail(HeaderBatchIndex, errors.New("negative"))
		}
	}
	r.Omitted = Omitted{Reason: d.values[HeaderValueOmitted], Size: d.int64(HeaderValueSize), SHA256: d.values[HeaderValueSHA256]}
	r.Due = d.time(HeaderRetryDue)
	r.Parks = d.int(HeaderRetryParks)
	if v := d.values[HeaderApproval]; v != "" {
		r.Answer = true // whatever the value says, the record claims to be an answer: it is checked as one
		if v != AnswerMarker {
			d.fail(HeaderApproval, fmt.Errorf("want %q", AnswerMarker))
		}
	}
	_, due := d.values[HeaderRetryDue]
	_, parks := d.values[HeaderRetryParks]
	_, class := d.values[HeaderErrorClass]
	_, source := d.values[HeaderSourceTopic]
	switch {
	case due || parks:
		r.Kind = KindParked
	case class && source:
		r.Kind = KindDeadLetter
	case class:
		r.Kind = KindNotification
	case r.Answer:
		r.Kind = KindAnswer
	}
	return r, errors.Join(d.errs...)
}

// IsOwn reports whether a header name is tripline's: it starts with
// "tripline.", exactly so. Verify covers these headers; a dead-letter
// record writes them afresh and keeps only the producer's others.
func IsOwn(key string) bool { return strings.HasPrefix(key, ownPrefix) }

// ownPrefix starts the name of every header of tripline's.
const ownPrefix = "tripline."

// decoder parses header values, collecting what does not parse.
type decoder struct {
	values map[string]string
	errs   []error
}

func (d *decoder) fail(name string, err error) {
	v := d.values[name]
	if len(v) > 64 {
		v = v[:64] + "…"
	}
	d.errs = append(d.errs, fmt.Errorf("%w %s %q: %w", ErrMalformed, name, v, err))
}

func (d *decoder) int(name string) int {
	v := d.values[name]
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		d.fail(name, errors.New("not an integer"))
		return 0
	}
	return n
}

func (d *decoder) int64(name string) int64 {
	v := d.values[name]
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		d.fail(name, errors.New("not an integer"))
		return 0
	}
	return n
}

func (d *decoder) bool(name string) bool {
	v := d.values[name]
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		d.fail(name, errors.New("not a boolean"))
		return false
	}
	return b
}

func (d *decoder) time(name string) time.Time {
	v := d.values[name]
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		d.fail(name, errors.New("not an RFC 3339 time"))
		return time.Time{}
	}
	return t
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
