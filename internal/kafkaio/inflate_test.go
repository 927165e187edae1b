package kafkaio

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/deadletter"
	"github.com/tripline-dev/tripline/internal/kafkatest"
)

// record is the v2 wire form of one record with a key and value.
func record(offsetDelta int64, key, value string) []byte {
	body := []byte{0}
	body = binary.AppendVarint(body, 7) // timestamp delta
	body = binary.AppendVarint(body, offsetDelta)
	body = binary.AppendVarint(body, int64(len(key)))
	body = append(body, key...)
	body = binary.AppendVarint(body, int64(len(value)))
	body = append(body, value...)
	body = binary.AppendVarint(body, 0)
	return append(binary.AppendVarint(nil, int64(len(body))), body...)
}

// zeros is an endless stream of zero bytes that allocates nothing.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// hugeRecord streams a record whose value is n zero bytes, without ever
// holding it.
func hugeRecord(offsetDelta int64, n int64) io.Reader {
	head := []byte{0}
	head = binary.AppendVarint(head, 7)
	head = binary.AppendVarint(head, offsetDelta)
	head = binary.AppendVarint(head, 1)
	head = append(head, 'k')
	head = binary.AppendVarint(head, n)
	length := int64(len(head)) + n + 1 // + header count
	return io.MultiReader(bytes.NewReader(append(binary.AppendVarint(nil, length), head...)), io.LimitReader(zeros{}, n), bytes.NewReader([]byte{0}))
}

// rec is one record parsed back from a bounded reader's output.
type rec struct {
	offsetDelta int64
	key, value  string
	nullValue   bool
	headers     map[string]string
}

// parseRecords reads v2 records until the end of b.
func parseRecords(t *testing.T, b []byte) []rec {
	t.Helper()
	r := bytes.NewReader(b)
	varint := func() int64 {
		v, err := binary.ReadVarint(r)
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		return v
	}
	str := func(n int64) string {
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatalf("parse: %v", err)
		}
		return string(buf)
	}
	var out []rec
	for r.Len() > 0 {
		length := varint()
		start := r.Len()
		r.ReadByte()
		varint() // timestamp delta
		x := rec{offsetDelta: varint(), headers: map[string]string{}}
		if n := varint(); n >= 0 {
			x.key = str(n)
		}
		if n := varint(); n >= 0 {
			x.value = str(n)
		} else {
			x.nullValue = true
		}
		for range varint() {
			k := str(varint())
			x.headers[k] = str(varint())
		}
		if used := int64(start - r.Len()); used != length {
			t.Fatalf("record at delta %d: length %d, body %d", x.offsetDelta, length, used)
		}
		out = append(out, x)
	}
	return out
}

func bounded(in io.Reader, max, compressed int64) *boundedReader {
	return &boundedReader{inner: io.NopCloser(in), in: bufio.NewReader(in), budget: max, perRecord: max, compressed: compressed}
}

func TestBoundedReaderCutsOffWhatInflatesPastTheLimit(t *testing.T) {
	const huge = 200 << 20
	stream := io.MultiReader(bytes.NewReader(record(0, "a", "first")), hugeRecord(1, huge), bytes.NewReader(record(2, "c", "third")))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	out, err := io.ReadAll(bounded(stream, 1<<20, 4242))
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("inflating allocated %d MiB: the 200 MiB value was held", alloc>>20)
	}
	recs := parseRecords(t, out)
	if len(recs) != 3 || recs[0].value != "first" || recs[2].value != "third" || recs[2].offsetDelta != 2 {
		t.Fatalf("records %+v", recs)
	}
	cut := recs[1]
	if cut.offsetDelta != 1 || cut.key != "k" || !cut.nullValue || cut.headers[deadletter.HeaderInflateCompressed] != "4242" ||
		cut.headers[deadletter.HeaderInflateTooLarge] != strconv.Itoa(huge+11) {
		t.Errorf("cut-off record %+v", cut)
	}
}

func TestBoundedReaderBudgetIsPerBatch(t *testing.T) {
	// Ten records of 300 KiB fit one by one, but not all in a 1 MiB batch:
	// those past the budget are cut off.
	var in []byte
	for i := range 10 {
		in = append(in, record(int64(i), "k", strings.Repeat("x", 300<<10))...)
	}
	out, err := io.ReadAll(bounded(bytes.NewReader(in), 1<<20, 1))
	if err != nil {
		t.Fatal(err)
	}
	recs := parseRecords(t, out)
	cut := 0
	for i, r := range recs {
		if r.offsetDelta != int64(i) {
			t.Errorf("record %d has delta %d", i, r.offsetDelta)
		}
		if r.nullValue {
			cut++
		}
	}
	if len(recs) != 10 || cut != 7 {
		t.Errorf("%d records, %d cut off; want 10 and 7 (3 fit in 1 MiB)", len(recs), cut)
	}
}

func TestBoundedReaderTruncatedStream(t *testing.T) {
	in := record(0, "a", "first")
	in = in[:len(in)-3]
	if _, err := io.ReadAll(bounded(bytes.NewReader(in), 1<<20, 0)); err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Errorf("a record cut short = %v, want unexpected EOF", err)
	}
}

// TestBoundedDecompressionThroughKafka produces a zstd batch of three
// records, the middle one 64 MiB of zeros (a few kilobytes compressed), to
// the embedded broker and reads it back with the bound at 2 MiB: the good
// records come through whole, the bomb as a cut-off record.
func TestBoundedDecompressionThroughKafka(t *testing.T) {
	addr := kafkatest.Start(t, kafkatest.WithTopics("bombs"), kafkatest.WithPartitions(1))
	conn, err := NewConnection(Config{Brokers: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: "bombs", Compression: kafka.Zstd, BatchBytes: 128 << 20, BatchSize: 10,
		BatchTimeout: 10 * time.Millisecond, RequiredAcks: kafka.RequireAll, Transport: conn.Transport}
	bomb := make([]byte, 64<<20)
	if err := w.WriteMessages(ctx, kafka.Message{Value: []byte("before")}, kafka.Message{Key: []byte("bomb"), Value: bomb}, kafka.Message{Value: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	bomb = nil
	BoundDecompression(2 << 20)
	defer BoundDecompression(0)
	r := conn.NewReader(ReaderConfig{GroupID: "bombs", Topics: []string{"bombs"}, MaxBytes: 2 << 20, MaxWait: 100 * time.Millisecond, SessionTimeout: time.Second, StartFromEarliest: true})
	defer r.Close()
	var got []kafka.Message
	for range 3 {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("fetch: %v", err)
		}
		got = append(got, m)
	}
	if string(got[0].Value) != "before" || string(got[2].Value) != "after" || got[2].Offset != 2 {
		t.Errorf("good records %q@%d, %q@%d", got[0].Value, got[0].Offset, got[2].Value, got[2].Offset)
	}
	b := got[1]
	if cut, ok := deadletter.CutOffOf(b); len(b.Value) != 0 || string(b.Key) != "bomb" || b.Offset != 1 || !ok || cut.Size == 0 {
		t.Errorf("bomb came through as %d bytes, key %q, offset %d, headers %v", len(b.Value), b.Key, b.Offset, b.Headers)
	}
}
