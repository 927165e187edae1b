package pipeline

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tripline-dev/tripline/internal/deadletter"
)

// withMetrics gives h's consumer instruments on a manual reader.
func withMetrics(t *testing.T, h *harness) *sdkmetric.ManualReader {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	m, err := NewMetrics(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test"))
	if err != nil {
		t.Fatal(err)
	}
	h.consumer.deps.Metrics = m
	return reader
}

// eventDelays reads tripline_event_delay's series, by topic.
func eventDelays(t *testing.T, reader *sdkmetric.ManualReader) map[string]metricdata.HistogramDataPoint[float64] {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.HistogramDataPoint[float64]{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "tripline_event_delay" {
				continue
			}
			h, ok := m.Data.(metricdata.Histogram[float64])
			if !ok || m.Unit != "s" {
				t.Fatalf("tripline_event_delay is a %T in %q, want a float histogram in s", m.Data, m.Unit)
			}
			for _, p := range h.DataPoints {
				topic, _ := p.Attributes.Value(attribute.Key("topic"))
				out[topic.AsString()] = p
			}
		}
	}
	return out
}

// at is a message of topic/partition 0 at offset whose record timestamp is
// when.
func at(topic string, offset int64, value []byte, when time.Time) kafka.Message {
	m := msg(topic, 0, offset, value)
	m.Time = when
	return m
}

// TestEventDelayRunsFromTheEventToItsRecord: each source event counts once,
// from its own time to its Kafka record's timestamp, by topic, whatever the
// clock; an event dated after its record counts as 0, an event without a
// record timestamp not at all. The decision handed over carries the
// record's timestamp, for the time to action.
func TestEventDelayRunsFromTheEventToItsRecord(t *testing.T) {
	t.Parallel()
	rec := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	h := newHarness(t, Config{Now: func() time.Time { return rec.Add(time.Hour) }},
		at("signins", 0, oktaSignInAt("e1", "a@example.com", rec.Add(-5*time.Second)), rec),
		at("signins", 1, oktaSignInAt("e2", "b@example.com", rec.Add(-90*time.Second)), rec.Add(time.Second)),
		at("signins", 2, oktaSignInAt("e3", "c@example.com", rec.Add(3*time.Second)), rec),
		at("signins", 3, oktaSignInAt("e4", "d@example.com", rec), time.Time{}),
		at("other", 0, oktaSignInAt("e5", "e@example.com", rec.Add(-2*time.Second)), rec),
	)
	reader := withMetrics(t, h)
	if err := h.runUntil(t, func() bool {
		return h.src.committedOffset("signins", 0) == 4 && h.src.committedOffset("other", 0) == 1
	}); err != nil {
		t.Fatal(err)
	}
	got := eventDelays(t, reader)
	for topic, want := range map[string]struct {
		count uint64
		sum   float64
	}{"signins": {3, 5 + 91 + 0}, "other": {1, 2}} {
		if p := got[topic]; p.Count != want.count || math.Abs(p.Sum-want.sum) > 1e-9 {
			t.Errorf("event delay of %s: count %d, sum %.3f s; want %d, %.3f s", topic, p.Count, p.Sum, want.count, want.sum)
		}
	}
	if len(got) != 2 {
		t.Errorf("event delay series %v, want signins and other only", got)
	}
	recordTimes := map[string]time.Time{}
	for _, d := range h.dec.all() {
		recordTimes[d.EventID] = d.RecordTime
	}
	for id, want := range map[string]time.Time{"okta:e1": rec, "okta:e2": rec.Add(time.Second), "okta:e4": {}, "okta:e5": rec} {
		if got, ok := recordTimes[id]; !ok || !got.Equal(want) {
			t.Errorf("decision on %s has record time %v, want %v (decided: %v)", id, got, want, ok)
		}
	}
}

// TestParkedDecisionKeepsItsOriginalRecordTime: a decision re-driven from
// the retry topic carries its original record's timestamp (so its time to
// action counts the parking), and its event's delay is not counted again.
func TestParkedDecisionKeepsItsOriginalRecordTime(t *testing.T) {
	t.Parallel()
	now := time.Now()
	first := now.Add(-10 * time.Minute)
	parked := parkedRecord(0, oktaSignInAt("e1", "late@example.com", now.Add(-20*time.Minute)), first, now.Add(-time.Minute), retryKey)
	parked.Time = now.Add(-time.Minute) // when it was parked
	h := newHarness(t, parking(time.Millisecond, time.Millisecond, time.Hour))
	h.src.log[TopicPartition{retryTopic, 0}] = []kafka.Message{parked}
	reader := withMetrics(t, h)
	if err := h.runUntil(t, func() bool { return h.src.committedOffset(retryTopic, 0) == 1 }); err != nil {
		t.Fatal(err)
	}
	d := h.dec.all()
	original := first.Add(-time.Minute) // parkedRecord's tripline.source.timestamp
	if len(d) != 1 || !d[0].RecordTime.Equal(original) {
		t.Fatalf("decisions %+v: want one with the original record time %v", d, original)
	}
	if got := eventDelays(t, reader); len(got) != 0 {
		t.Errorf("a parked decision's event counted again in the event delay: %v", got)
	}
}

// TestReplayedEventIsNotCountedAgain: a dead-letter record replayed was
// counted in the event delay when first read; its decision carries the
// original record's timestamp.
func TestReplayedEventIsNotCountedAgain(t *testing.T) {
	t.Parallel()
	now := time.Now()
	original := now.Add(-3 * time.Hour)
	m := at("tripline.dlq", 0, oktaSignInAt("e1", "a@example.com", original.Add(-time.Minute)), now)
	m.Headers = []kafka.Header{{Key: deadletter.HeaderSourceTopic, Value: []byte("signins")},
		{Key: deadletter.HeaderSourceTimestamp, Value: []byte(original.UTC().Format(time.RFC3339Nano))}}
	h := newHarness(t, Config{Replay: &Replay{AcceptUnsigned: true}}, m)
	reader := withMetrics(t, h)
	if err := h.runUntil(t, func() bool { return h.src.committedOffset("tripline.dlq", 0) == 1 }); err != nil {
		t.Fatal(err)
	}
	if d := h.dec.all(); len(d) != 1 || !d[0].RecordTime.Equal(original) {
		t.Fatalf("decisions %+v: want one with the original record time %v", d, original)
	}
	if got := eventDelays(t, reader); len(got) != 0 {
		t.Errorf("a replayed event counted again in the event delay: %v", got)
	}
}
