package pipeline

import (
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/deadletter"
)

func TestDLQHeadersOfAReplayedRecordKeepTheOriginalSource(t *testing.T) {
	t.Parallel()
	first := "2026-11-28T10:00:00Z"
	in := kafka.Message{Topic: "tripline.dlq", Partition: 1, Offset: 40, Headers: []kafka.Header{
		{Key: deadletter.HeaderSourceTopic, Value: []byte("signins")}, {Key: deadletter.HeaderSourcePartition, Value: []byte("2")},
		{Key: deadletter.HeaderSourceOffset, Value: []byte("7")}, {Key: deadletter.HeaderAttempts, Value: []byte("3")},
		{Key: deadletter.HeaderFirstFailure, Value: []byte(first)}, {Key: "origin", Value: []byte("siem")},
	}}
	h := newHarness(t, Config{Replay: &Replay{AcceptUnsigned: true}})
	env := h.consumer.classify(in)
	rec := recordOf(&env, []failure{{class: "retries_exhausted", attempts: 2, first: time.Now()}})
	out := kafka.Message{Headers: append(producerHeaders(in), rec.Encode()...)}
	want := map[string]string{deadletter.HeaderSourceTopic: "signins", deadletter.HeaderSourcePartition: "2", deadletter.HeaderSourceOffset: "7",
		deadletter.HeaderAttempts: "5", deadletter.HeaderFirstFailure: first, "origin": "siem"}
	for k, v := range want {
		if got := HeaderValue(out, k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}
