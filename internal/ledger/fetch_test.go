package ledger

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

func TestConsume(t *testing.T) {
	t.Parallel()
	type applied struct {
		Key   string
		Value *string
	}
	var got []applied
	tbl, err := New(Config{Brokers: []string{"127.0.0.1:1"}, Topic: "t"}, func(k string, v []byte, _ string) {
		a := applied{Key: k}
		if v != nil {
			s := string(v)
			a.Value = &s
		}
		got = append(got, a)
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := func(offset int64, key, value []byte) kafka.Record {
		return kafka.Record{Offset: offset, Key: kafka.NewBytes(key), Value: kafka.NewBytes(value)}
	}
	stream := &protocol.RecordStream{Records: []kafka.RecordReader{
		// A batch starting before the offset asked for.
		&protocol.RecordBatch{Records: kafka.NewRecordReader(
			rec(3, []byte("old"), []byte("before pos")),
			rec(4, []byte("u1"), []byte("a")),
			rec(5, []byte("u2"), nil),      // tombstone
			rec(6, nil, []byte("no key")),  // not a ledger record
			rec(7, []byte("u3"), []byte{}), // empty, not a tombstone
		)},
		// A transaction marker, which kafka-go's stream hides.
		protocol.NewControlBatch(protocol.ControlRecord{Offset: 8, Type: 1}),
	}}
	next, err := tbl.consume(0, stream, 4)
	if err != nil {
		t.Fatal(err)
	}
	if next != 9 {
		t.Errorf("next = %d, want 9 (past the control record)", next)
	}
	a, empty := "a", ""
	want := []applied{{"u1", &a}, {"u2", nil}, {"u3", &empty}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("applied (-want +got):\n%s", diff)
	}

	// Nothing at or past pos: no progress.
	next, err = tbl.consume(0, kafka.NewRecordReader(rec(2, []byte("k"), []byte("v"))), 3)
	if err != nil || next != 3 {
		t.Errorf("consume of an old record = %d, %v; want 3, nil", next, err)
	}
}
