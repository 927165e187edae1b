package devbroker

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

func TestStartCreatesTopicsAndRejectsBusyAddress(t *testing.T) {
	b, err := Start(Config{Listen: "127.0.0.1:0", Partitions: 2, Topics: []string{"x", "x", ""}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	md, err := (&kafka.Client{Addr: kafka.TCP(b.Addr())}).Metadata(ctx, &kafka.MetadataRequest{Topics: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Topics) != 1 || len(md.Topics[0].Partitions) != 2 {
		t.Fatalf("topic x: got %+v, want 2 partitions", md.Topics)
	}
	if err := b.CreateTopic("x", 1); err == nil {
		t.Error("CreateTopic of an existing topic succeeded")
	}
	if b2, err := Start(Config{Listen: b.Addr()}); err == nil {
		b2.Close()
		t.Errorf("second broker on %s started", b.Addr())
	}
	b.Close() // Close twice is safe.
}

func TestStartRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{{Listen: "nope"}, {Listen: "127.0.0.1:0", Partitions: -1}} {
		if b, err := Start(cfg); err == nil {
			b.Close()
			t.Errorf("Start(%+v) succeeded", cfg)
		}
	}
}
