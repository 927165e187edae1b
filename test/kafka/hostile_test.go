//go:build kafka

package kafka

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/kafkatest"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/pipeline"
)

// hostileCase is one message the consumer must dead-letter with reason
// (and, when set, an error message containing field).
type hostileCase struct {
	name   string
	value  []byte
	reason string
	field  string
}

// oktaWith returns a valid Okta sign-in of user00001 with path (dotted)
// set to v; a nil v deletes the key.
func oktaWith(path string, v any) []byte {
	var m map[string]any
	if err := json.Unmarshal(oktaSignIn("h1", userEmail(1), "LOW"), &m); err != nil {
		panic(err)
	}
	parts := strings.Split(path, ".")
	cur := m
	for _, p := range parts[:len(parts)-1] {
		next, ok := cur[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[p] = next
		}
		cur = next
	}
	if v == nil {
		delete(cur, parts[len(parts)-1])
	} else {
		cur[parts[len(parts)-1]] = v
	}
	out, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return out
}

func hostileCases() []hostileCase {
	valid := oktaSignIn("h0", userEmail(1), "LOW")
	deepArr := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	deepObj := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	hugeNums := "[" + strings.TrimSuffix(strings.Repeat("1,", 100000), ",") + "]"
	hugeNulls := `{"items":[` + strings.TrimSuffix(strings.Repeat("null,", 100000), ",") + `]}`
	cases := []hostileCase{
		{name: "truncated-json", value: []byte(`{"eventType": "user.session.start", `), reason: "invalid_json"},
		{name: "truncated-event", value: valid[:len(valid)/2], reason: "invalid_json"},
		{name: "trailing-data", value: append(append([]byte{}, valid...), []byte(` {"x":1}`)...), reason: "invalid_json"},
		{name: "nul-bytes", value: []byte("\x00\x00\x00"), reason: "invalid_json"},
		{name: "not-json", value: []byte("user.session.start user00001@example.com SUCCESS"), reason: "invalid_json"},
		{name: "nesting-10000-arrays", value: []byte(deepArr), reason: "too_deep"},
		{name: "nesting-10000-objects", value: []byte(deepObj), reason: "too_deep"},
		{name: "invalid-utf8-string", value: []byte("{\"eventType\":\"user.session.start\",\"actor\":{\"alternateId\":\"\xff\xfe\"}}"), reason: "invalid_utf8"},
		{name: "invalid-utf8-bare", value: []byte{0xc3, 0x28, 0xa0, 0xa1}, reason: "invalid_utf8"},
		{name: "empty", value: []byte{}, reason: "empty"},
		{name: "whitespace", value: []byte(" \n\t "), reason: "empty"},
		{name: "null", value: []byte("null"), reason: "not_object"},
		{name: "number", value: []byte("42"), reason: "not_object"},
		{name: "string", value: []byte(`"user00001@example.com"`), reason: "not_object"},
		{name: "array-100000", value: []byte(hugeNums), reason: "not_object"},
		{name: "object-with-100000-nulls", value: []byte(hugeNulls), reason: "unknown_format"},
		{name: "unknown-format", value: []byte(`{"foo":"bar","user":"user00001@example.com"}`), reason: "unknown_format"},
		{name: "empty-object", value: []byte(`{}`), reason: "unknown_format"},
		{name: "okta-no-user", value: oktaWith("actor", map[string]any{"type": "User"}), reason: "no_user"},
		{name: "okta-empty-hook-batch", value: []byte(`{"eventType":"com.okta.event_hook","data":{"events":[]}}`), reason: "empty_batch"},
		{name: "okta-eventType-number", value: oktaWith("eventType", 7), reason: "unknown_format"},
		{name: "okta-outcome-reason-100000-numbers", value: oktaWith("outcome.reason", json.RawMessage(hugeNums)), reason: "bad_field", field: "outcome.reason"},
		{name: "okta-logonly-not-json", value: oktaWith("debugContext.debugData.logOnlySecurityData", "{not json"), reason: "bad_field", field: "logOnlySecurityData"},
	}
	// A wrong type in every field the Okta normalizer reads.
	for _, f := range []struct {
		path string
		v    any
	}{
		{"actor.alternateId", 12345},
		{"actor.id", map[string]any{"id": 1}},
		{"actor.type", []any{"User"}},
		{"outcome.result", true},
		{"securityContext.risk.level", 3},
		{"securityContext.risk.reasons", map[string]any{}},
		{"securityContext.isProxy", "maybe"},
		{"securityContext.userBehaviors", "POSITIVE"},
		{"debugContext.debugData.risk", 9},
		{"debugContext.debugData.behaviors", []any{1}},
		{"debugContext.debugData.threatSuspected", "perhaps"},
		{"client.ipAddress", 203},
		{"client.geographicalContext.country", false},
		{"client.geographicalContext.city", []any{"x"}},
		{"published", true},
		{"uuid", map[string]any{}},
	} {
		cases = append(cases, hostileCase{name: "okta-wrong-type-" + f.path, value: oktaWith(f.path, f.v), reason: "bad_field", field: f.path})
	}
	return cases
}

// TestReliabilityHostileInput produces every hostile case, then good
// events, on one partition (so the good ones come strictly after), to a
// topic and DLQ that accept 4 MiB records. The consumer process must not
// exit, must dead-letter each case with its reason, and must then suspend
// the risky users of the good events.
func TestReliabilityHostileInput(t *testing.T) {
	runHostile(t, hostileCases())
}

// TestReliabilityHostileOversizedValue is the 2 MiB value on its own: the
// topics accept 4 MiB records, the decoder refuses more than 1 MiB
// (too_large), and the consumer must dead-letter the record, not stop.
func TestReliabilityHostileOversizedValue(t *testing.T) {
	big := fmt.Appendf(nil, `{"eventType":"user.session.start","pad":"%s"}`, bytes.Repeat([]byte("x"), 2<<20))
	runHostile(t, []hostileCase{{name: "value-2MiB", value: big, reason: "too_large"}})
}

// runHostile produces cases then good events and checks each case is
// dead-lettered with its reason and the good events are acted on.
func runHostile(t *testing.T, cases []hostileCase) {
	t.Helper()
	const maxMessage = 4 << 20
	brokers := kafkatest.Brokers(t)
	s := startSim(t, opsim.Seed{}, 20)
	topic := kafkatest.TopicName(t)
	w := newWorldOnTopic(t, brokers, topic, 1, s)
	big := []kafka.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: fmt.Sprint(maxMessage)}}
	createTopic(t, w.client, kafka.TopicConfig{Topic: topic, NumPartitions: 1, ReplicationFactor: 1, ConfigEntries: big})
	createTopic(t, w.client, kafka.TopicConfig{Topic: w.dlq, NumPartitions: 3, ReplicationFactor: 1, ConfigEntries: big})

	var msgs []kafka.Message
	for _, c := range cases {
		msgs = append(msgs, kafka.Message{Key: []byte("hostile/" + c.name), Value: c.value})
	}
	var risky []string
	for i := 1; i <= 10; i++ {
		risky = append(risky, userEmail(i))
		msgs = append(msgs,
			kafka.Message{Key: []byte("good"), Value: oktaSignIn(fmt.Sprint("g", i), userEmail(i), "HIGH")},
			kafka.Message{Key: []byte("good"), Value: oktaSignIn(fmt.Sprint("b", i), userEmail(10+i), "LOW")})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kw := w.writer(topic)
	kw.BatchBytes = 2 * maxMessage
	for _, m := range msgs { // one at a time: a refused record names its case
		if err := kw.WriteMessages(ctx, m); err != nil {
			t.Fatalf("produce %s (%d bytes): %v", m.Key, len(m.Value), err)
		}
	}
	kw.Close()

	p := w.start("consumer")
	relWait(t, 90*time.Second, "the good events' risky users suspended and the partition committed to its end", w.drained(risky), p)
	p.stop(t, 30*time.Second)
	w.assertCommittedAtEnd(int64(len(msgs)))

	byKey := map[string]kafka.Message{}
	for _, m := range w.deadLetters() {
		if _, dup := byKey[string(m.Key)]; dup {
			t.Errorf("%s dead-lettered twice", m.Key)
		}
		byKey[string(m.Key)] = m
	}
	reasons := map[string]int{}
	for _, c := range cases {
		m, ok := byKey["hostile/"+c.name]
		if !ok {
			t.Errorf("%s: not in the DLQ", c.name)
			continue
		}
		delete(byKey, "hostile/"+c.name)
		class, reason, msg := pipeline.HeaderValue(m, pipeline.HeaderErrorClass), pipeline.HeaderValue(m, pipeline.HeaderErrorReason), pipeline.HeaderValue(m, pipeline.HeaderErrorMessage)
		reasons[reason]++
		if class != pipeline.ClassDecode || reason != c.reason {
			t.Errorf("%s: class %q reason %q (%s), want decode/%s", c.name, class, reason, msg, c.reason)
		}
		if c.field != "" && !strings.Contains(msg, c.field) {
			t.Errorf("%s: error message %q does not name the field %s", c.name, msg, c.field)
		}
		if !bytes.Equal(m.Value, c.value) {
			t.Errorf("%s: DLQ value differs from the original (%d bytes, want %d)", c.name, len(m.Value), len(c.value))
		}
	}
	for k := range byKey {
		t.Errorf("unexpected DLQ record %s", k)
	}
	report(t, "hostile", "cases=%d dead_lettered=%d reasons=%v good_events=20 risky_suspended=%d/10 suspend_calls=%d consumer_exit=0",
		len(cases), len(cases)-len(byKey), reasons, s.suspended(risky), s.suspends.Load())
}

// createTopic creates tc and deletes it when the test ends.
func createTopic(t *testing.T, client *kafka.Client, tc kafka.TopicConfig) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{tc}})
	if err == nil {
		err = res.Errors[tc.Topic]
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", tc.Topic, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{tc.Topic}})
	})
	for {
		md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{tc.Topic}})
		if err == nil && len(md.Topics) == 1 && md.Topics[0].Error == nil && len(md.Topics[0].Partitions) == tc.NumPartitions {
			ready := true
			for _, p := range md.Topics[0].Partitions {
				ready = ready && p.Leader.ID >= 0 && p.Leader.Host != ""
			}
			if ready {
				return
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("topic %s has no leader for every partition: %v", tc.Topic, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
