package ledger_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/kafkaio"
	"github.com/tripline-dev/tripline/internal/kafkatest"
)

// TestValueCutOffWhileInflatingIsNotATombstone: a compressed record whose
// value inflates past the process's bound comes without a value; the table
// hands it over with an empty, non-nil value, so the entry it would
// replace is not deleted as by a tombstone.
func TestValueCutOffWhileInflatingIsNotATombstone(t *testing.T) {
	kafkaio.BoundDecompression(64 << 10)
	brokers := kafkatest.Brokers(t)
	topic := topicName(t, brokers)
	cfg := config(t, brokers, topic)
	rec := newRecorder()
	tbl := mustLoad(t, cfg, rec)
	run(t, tbl)
	mustPut(t, tbl, "breaker/global", []byte(`{"open":true}`))
	w := &kafka.Writer{Addr: kafka.TCP(strings.Split(brokers, ",")...), Topic: topic, Compression: kafka.Zstd,
		RequiredAcks: kafka.RequireAll, Transport: transport(t)}
	defer w.Close()
	if err := w.WriteMessages(t.Context(), kafka.Message{Key: []byte("breaker/global"), Value: bytes.Repeat([]byte("x"), 200<<10)}); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "the cut-off record", func(m map[string][]byte) bool { v := m["breaker/global"]; return v != nil && len(v) == 0 })
	calls := rec.callsFor("breaker/global")
	if last := calls[len(calls)-1]; last == "<nil>" {
		t.Fatalf("the cut-off record was handed over as a tombstone: %v", calls)
	}
}
