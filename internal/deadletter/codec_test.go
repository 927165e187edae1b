package deadletter

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/segmentio/kafka-go"
)

var (
	first = time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)
	// full sets every field of Record (TestRoundTripOfEveryField checks
	// that none is left zero).
	full = Record{
		Kind:   KindParked,
		Source: Source{Topic: "signins", Partition: 2, Offset: 41, Time: time.Date(2026, 3, 1, 9, 59, 0, 5000, time.UTC)},
		Class:  "retries_exhausted", Reason: "park_max", Message: "suspend user: 503 unavailable", RuleID: "risky_success",
		Attempts: 8, FirstFailure: first, Retryable: true, Failures: 2, BatchItem: 3,
		Omitted: Omitted{Reason: OmittedTooLarge, Size: 2 << 20, SHA256: strings.Repeat("ab", 32)},
		Due:     first.Add(30 * time.Second), Parks: 4, Answer: true,
	}
)

// TestRoundTripOfEveryField: every field of a record survives Encode and
// Decode, for each kind, with the fields its kind carries. A field added to
// Record fails it until the fixture sets it (and so until Encode writes it
// and Decode reads it).
func TestRoundTripOfEveryField(t *testing.T) {
	t.Parallel()
	v := reflect.ValueOf(full)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("the fixture leaves Record.%s zero: set it, and encode and decode it", v.Type().Field(i).Name)
		}
	}
	deadLetter := full
	deadLetter.Kind, deadLetter.Due, deadLetter.Parks = KindDeadLetter, time.Time{}, 0
	for _, want := range []Record{
		full,
		deadLetter,
		{Kind: KindDeadLetter, Source: Source{Topic: "signins"}, Class: "decode", Attempts: 1, FirstFailure: first, Failures: 1},
		{Kind: KindAnswer, Answer: true, Source: Source{Time: first}},
		{Kind: KindNotification, Class: "notify_failed", Reason: "webhook", Message: "410 gone"},
		{},
	} {
		got, err := Decode(want.Encode())
		if err != nil {
			t.Errorf("%s: Decode: %v", want.Kind, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: round trip (-want +got):\n%s", want.Kind, diff)
		}
	}
}

// TestEncodeWritesWhatEachKindCarries: a dead-letter record carries every
// failure header even when empty, as tripline always wrote them; an answer
// record and a notification only their own.
func TestEncodeWritesWhatEachKindCarries(t *testing.T) {
	t.Parallel()
	names := func(r Record) string {
		var out []string
		for _, h := range r.Encode() {
			out = append(out, strings.TrimPrefix(h.Key, "tripline."))
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		rec  Record
		want string
	}{
		{Record{Kind: KindDeadLetter}, "source.topic source.partition source.offset source.timestamp error.class error.reason error.message rule.id attempts first.failure retryable failures"},
		{Record{Kind: KindParked, Answer: true, BatchItem: 1}, "approval source.topic source.partition source.offset source.timestamp error.class error.reason error.message rule.id attempts first.failure retryable failures batch.index retry.due retry.parks"},
		{Record{Kind: KindDeadLetter, Omitted: Omitted{Reason: OmittedTooLarge, Size: 9}}, "source.topic source.partition source.offset source.timestamp error.class error.reason error.message rule.id attempts first.failure retryable failures value.omitted value.size"},
		{Record{Kind: KindAnswer, Answer: true}, "approval source.timestamp"},
		{Record{Kind: KindNotification, Class: "notify_failed"}, "error.class error.reason error.message"},
		{Record{Class: "decode"}, ""},
	} {
		if got := names(c.rec); got != c.want {
			t.Errorf("%s record: headers %q, want %q", c.rec.Kind, got, c.want)
		}
	}
}

// The records below were written by the code path before the codec
// (pipeline.dlqHeaders, park and AnswerRecord, signed by signDeadLetter)
// under goldenKey.
var (
	goldenKey    = []byte("golden-signing-key-0123456789")
	goldenParked = kafka.Message{Key: []byte("user-7"), Value: []byte(`{"uuid":"e1"}`), Headers: []kafka.Header{
		{Key: "origin", Value: []byte("siem")},
		{Key: "tripline.source.topic", Value: []byte("signins")},
		{Key: "tripline.source.partition", Value: []byte("2")},
		{Key: "tripline.source.offset", Value: []byte("41")},
		{Key: "tripline.source.timestamp", Value: []byte("2026-03-01T09:59:00.000005Z")},
		{Key: "tripline.error.class", Value: []byte("retries_exhausted")},
		{Key: "tripline.error.reason", Value: []byte("")},
		{Key: "tripline.error.message", Value: []byte("suspend user: 503 unavailable")},
		{Key: "tripline.rule.id", Value: []byte("risky_success")},
		{Key: "tripline.attempts", Value: []byte("8")},
		{Key: "tripline.first.failure", Value: []byte("2026-03-01T10:00:00.123456789Z")},
		{Key: "tripline.retryable", Value: []byte("true")},
		{Key: "tripline.failures", Value: []byte("1")},
		{Key: "tripline.retry.due", Value: []byte("2026-03-01T10:00:30.123456789Z")},
		{Key: "tripline.retry.parks", Value: []byte("1")},
		{Key: "tripline.signature", Value: []byte("k=ef43efc3,v1=d9baafd11e2c2b371dde8851aa6a97a75c202a2c785b239891a2bbcf1573081c")},
	}}
	goldenItem = kafka.Message{Key: []byte("user-7"), Value: []byte(`{"b":2}`), Headers: []kafka.Header{
		{Key: "tripline.source.topic", Value: []byte("signins")},
		{Key: "tripline.source.partition", Value: []byte("2")},
		{Key: "tripline.source.offset", Value: []byte("41")},
		{Key: "tripline.source.timestamp", Value: []byte("2026-03-01T09:59:00.000005Z")},
		{Key: "tripline.error.class", Value: []byte("decode")},
		{Key: "tripline.error.reason", Value: []byte("no_user")},
		{Key: "tripline.error.message", Value: []byte("no user")},
		{Key: "tripline.rule.id", Value: []byte("")},
		{Key: "tripline.attempts", Value: []byte("1")},
		{Key: "tripline.first.failure", Value: []byte("2026-03-01T10:00:00.123456789Z")},
		{Key: "tripline.retryable", Value: []byte("false")},
		{Key: "tripline.failures", Value: []byte("1")},
		{Key: "tripline.batch.index", Value: []byte("1")},
		{Key: "tripline.value.omitted", Value: []byte("too_large")},
		{Key: "tripline.value.size", Value: []byte("3")},
		{Key: "tripline.value.sha256", Value: []byte("3608bca1e44ea6c4d268eb6db02260269892c0b42b86bbf1e77a6fa16c3c9282")},
		{Key: "tripline.signature", Value: []byte("k=ef43efc3,v1=15e2b3a0f6ab1c15eb15a61621f2cf5a84151e774731556fd7e573f998a42ee7")},
	}}
	goldenAnswer = kafka.Message{Key: []byte("ap_1"),
		Value: []byte(`{"approval_id":"ap_1","kind":"approve","op_user_id":"ANN","rule_id":"r1","action":"suspend","created":"2026-03-01T10:00:00.123456789Z","by":"dana","channel":"cli","at":"2026-03-01T10:01:00.123456789Z","nonce":"n-1"}`),
		Headers: []kafka.Header{
			{Key: "tripline.approval", Value: []byte("answer")},
			{Key: "tripline.source.timestamp", Value: []byte("2026-03-01T10:01:00.123456789Z")},
			{Key: "tripline.signature", Value: []byte("k=ef43efc3,v1=a742bdc9f2a3f5224353623c0e54d73624a15d76adc7cb13e74f5e440d93ec9c")},
		}}
)

// TestRecordsWrittenBeforeTheCodecDecodeAndVerify: records the earlier
// code wrote verify, decode to what they said, and encode (and sign) back
// to the very same headers: the wire format did not change.
func TestRecordsWrittenBeforeTheCodecDecodeAndVerify(t *testing.T) {
	t.Parallel()
	keys := keysOf(t, goldenKey, nil)
	src := Source{Topic: "signins", Partition: 2, Offset: 41, Time: time.Date(2026, 3, 1, 9, 59, 0, 5000, time.UTC)}
	for _, c := range []struct {
		name string
		msg  kafka.Message
		want Record
	}{
		{"parked", goldenParked, Record{Kind: KindParked, Source: src, Class: "retries_exhausted", Message: "suspend user: 503 unavailable",
			RuleID: "risky_success", Attempts: 8, FirstFailure: first, Retryable: true, Failures: 1, Due: first.Add(30 * time.Second), Parks: 1}},
		{"batch item, value omitted", goldenItem, Record{Kind: KindDeadLetter, Source: src, Class: "decode", Reason: "no_user", Message: "no user",
			Attempts: 1, FirstFailure: first, Failures: 1, BatchItem: 2,
			Omitted: Omitted{Reason: OmittedTooLarge, Size: 3, SHA256: "3608bca1e44ea6c4d268eb6db02260269892c0b42b86bbf1e77a6fa16c3c9282"}}},
		{"answer", goldenAnswer, Record{Kind: KindAnswer, Answer: true, Source: Source{Time: first.Add(time.Minute)}}},
	} {
		if err := Verify(c.msg, keys); err != nil {
			t.Errorf("%s: Verify = %v", c.name, err)
		}
		got, err := Decode(c.msg.Headers)
		if err != nil {
			t.Errorf("%s: Decode: %v", c.name, err)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: decoded (-want +got):\n%s", c.name, diff)
		}
		again := kafka.Message{Key: c.msg.Key, Value: c.msg.Value, Headers: append(producerHeaders(c.msg.Headers), got.Encode()...)}
		Sign(&again, keys)
		if diff := cmp.Diff(c.msg.Headers, again.Headers); diff != "" {
			t.Errorf("%s: encoded and signed again (-old +new):\n%s", c.name, diff)
		}
	}
}

// producerHeaders are the headers that are not tripline's.
func producerHeaders(hs []kafka.Header) []kafka.Header {
	var out []kafka.Header
	for _, h := range hs {
		if !IsOwn(h.Key) {
			out = append(out, h)
		}
	}
	return out
}

// TestGarbledHeadersAreReported: a value that does not parse is reported
// (ErrMalformed, naming the header), its field left zero and the rest
// decoded; a header spelled in another case is not tripline's (the
// signature does not cover it) and is ignored; the first of a repeated
// header counts.
func TestGarbledHeadersAreReported(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, header, value string
	}{
		{"partition", HeaderSourcePartition, "two"},
		{"offset", HeaderSourceOffset, "4x"},
		{"timestamp", HeaderSourceTimestamp, "yesterday"},
		{"attempts", HeaderAttempts, "many"},
		{"first failure", HeaderFirstFailure, "2026-13-01"},
		{"retryable", HeaderRetryable, "maybe"},
		{"failures", HeaderFailures, "-"},
		{"batch index", HeaderBatchIndex, "-1"},
		{"value size", HeaderValueSize, "big"},
		{"due", HeaderRetryDue, "soon"},
		{"parks", HeaderRetryParks, "1.5"},
		{"answer marker", HeaderApproval, "yes"},
	} {
		headers := Record{Kind: KindParked, Source: Source{Topic: "signins"}, Class: "breaker_open", Attempts: 1, FirstFailure: first, Due: first}.Encode()
		replaced := false
		for i, h := range headers {
			if h.Key == c.header {
				headers[i].Value, replaced = []byte(c.value), true
			}
		}
		if !replaced {
			headers = append(headers, kafka.Header{Key: c.header, Value: []byte(c.value)})
		}
		got, err := Decode(headers)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), c.header) {
			t.Errorf("%s %q: Decode error %v, want ErrMalformed naming %s", c.name, c.value, err, c.header)
		}
		if got.Source.Topic != "signins" || got.Class != "breaker_open" {
			t.Errorf("%s: the rest was not decoded: %+v", c.name, got)
		}
	}
	got, err := Decode([]kafka.Header{
		{Key: "Tripline.Retry.Due", Value: []byte(first.Format(time.RFC3339Nano))},
		{Key: "TRIPLINE.APPROVAL", Value: []byte("answer")},
		{Key: HeaderErrorClass, Value: []byte("decode")},
		{Key: HeaderErrorClass, Value: []byte("breaker_open")},
	})
	if err != nil || got.Kind != KindNotification || !got.Due.IsZero() || got.Answer || got.Class != "decode" {
		t.Errorf("headers in another case, a repeated class: %+v, %v; want a notification of class decode, no due time, no answer", got, err)
	}
}

// TestCutOffRoundTrip: the cut-off mark kafkaio writes reads back; a
// record with a value, or a mark that does not parse, is not cut off.
func TestCutOffRoundTrip(t *testing.T) {
	t.Parallel()
	want := CutOff{Size: 314572800, Compressed: 4096}
	if got, ok := CutOffOf(kafka.Message{Headers: want.Headers()}); !ok || got != want {
		t.Errorf("CutOffOf = %+v, %t; want %+v", got, ok, want)
	}
	if _, ok := CutOffOf(kafka.Message{Value: []byte("x"), Headers: want.Headers()}); ok {
		t.Error("a record with a value is cut off")
	}
	if _, ok := CutOffOf(kafka.Message{Headers: []kafka.Header{{Key: HeaderInflateTooLarge, Value: []byte("huge")}}}); ok {
		t.Error("a mark that does not parse is taken")
	}
}
