package pipeline

import (
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

func TestDLQHeadersOfAReplayedRecordKeepTheOriginalSource(t *testing.T) {
	first := "2026-11-28T10:00:00Z"
	in := kafka.Message{Topic: "tripline.dlq", Partition: 1, Offset: 40, Headers: []kafka.Header{
		{Key: HeaderSourceTopic, Value: []byte("signins")}, {Key: HeaderSourcePartition, Value: []byte("2")},
		{Key: HeaderSourceOffset, Value: []byte("7")}, {Key: HeaderAttempts, Value: []byte("3")},
		{Key: HeaderFirstFailure, Value: []byte(first)}, {Key: "origin", Value: []byte("siem")},
	}}
	out := kafka.Message{Headers: dlqHeaders(in, []failure{{class: "retries_exhausted", attempts: 2, first: time.Now()}}, true)}
	want := map[string]string{HeaderSourceTopic: "signins", HeaderSourcePartition: "2", HeaderSourceOffset: "7",
		HeaderAttempts: "5", HeaderFirstFailure: first, "origin": "siem"}
	for k, v := range want {
		if got := HeaderValue(out, k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}
