package main

import (
	"bufio"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// startRun runs the command with args in the background and returns the
// bootstrap address it prints and a function that stops it (and waits);
// the command also stops when the test ends.
func startRun(t *testing.T, args ...string) (addr string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code := run(ctx, args, pw, io.Discard)
		pw.Close()
		done <- code
	}()
	addrs := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "KAFKA_BROKERS="); ok {
				addrs <- v
			}
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if code := <-done; code != 0 {
				t.Errorf("run exited %d after cancel", code)
			}
		})
	}
	t.Cleanup(stop)
	select {
	case a := <-addrs:
		return a, stop
	case code := <-done:
		t.Fatalf("run exited %d before printing its address", code)
	case <-time.After(10 * time.Second):
		t.Fatal("no address printed within 10s")
	}
	return "", stop
}

func TestRunProducesAndConsumesOnAutoCreatedTopic(t *testing.T) {
	addr, _ := startRun(t, "--listen", "127.0.0.1:0", "--partitions", "4")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	const topic = "signins"
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: topic, AllowAutoTopicCreation: true, BatchTimeout: 10 * time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	msg := kafka.Message{Key: []byte("alice"), Value: []byte(`{"user":"alice"}`),
		Headers: []kafka.Header{{Key: "source", Value: []byte("test")}}}
	if err := w.WriteMessages(ctx, msg); err != nil {
		t.Fatalf("write: %v", err)
	}

	md, err := (&kafka.Client{Addr: kafka.TCP(addr)}).Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	if len(md.Topics) != 1 || len(md.Topics[0].Partitions) != 4 {
		t.Fatalf("auto-created topic: got %+v, want %s with 4 partitions", md.Topics, topic)
	}

	// The broker keeps Kafka's 6 s minimum session timeout: use the default 30 s.
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{addr}, GroupID: "devbroker-test", Topic: topic,
		MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 200 * time.Millisecond, StartOffset: kafka.FirstOffset})
	defer r.Close()
	got, err := r.FetchMessage(ctx)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	if string(got.Value) != string(msg.Value) || len(got.Headers) != 1 || string(got.Headers[0].Value) != "test" {
		t.Fatalf("got %q with headers %v, want %q with source=test", got.Value, got.Headers, msg.Value)
	}
	if err := r.CommitMessages(ctx, got); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

func TestRunPrecreatesTopicsAndPersists(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	addr, stop := startRun(t, "--listen", "127.0.0.1:0", "--data-dir", dir, "--topics", "a,b", "--partitions", "2")
	md, err := (&kafka.Client{Addr: kafka.TCP(addr)}).Metadata(ctx, &kafka.MetadataRequest{Topics: []string{"a", "b"}})
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	for _, tp := range md.Topics {
		if tp.Error != nil || len(tp.Partitions) != 2 {
			t.Errorf("pre-created topic %s: %d partitions, error %v; want 2, nil", tp.Name, len(tp.Partitions), tp.Error)
		}
	}
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: "a", BatchTimeout: 10 * time.Millisecond, RequiredAcks: kafka.RequireAll}
	if err := w.WriteMessages(ctx, kafka.Message{Value: []byte("kept")}); err != nil {
		t.Fatalf("write: %v", err)
	}
	w.Close()
	stop()

	addr, _ = startRun(t, "--listen", "127.0.0.1:0", "--data-dir", dir, "--topics", "a")
	res, err := (&kafka.Client{Addr: kafka.TCP(addr)}).ListOffsets(ctx, &kafka.ListOffsetsRequest{
		Topics: map[string][]kafka.OffsetRequest{"a": {kafka.LastOffsetOf(0), kafka.LastOffsetOf(1)}}})
	if err != nil {
		t.Fatalf("list offsets: %v", err)
	}
	var total int64
	for _, p := range res.Topics["a"] {
		if p.Error != nil {
			t.Fatalf("list offsets a/%d: %v", p.Partition, p.Error)
		}
		total += p.LastOffset
	}
	if total != 1 {
		t.Fatalf("after restart topic a holds %d records, want 1", total)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--partitions", "0"}, {"--listen", "nohostport"}, {"extra"}} {
		if code := run(context.Background(), args, io.Discard, io.Discard); code == 0 {
			t.Errorf("run(%q) = 0, want non-zero", args)
		}
	}
}
