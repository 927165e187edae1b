package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/demo"
	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/event/eventgen"
	"github.com/tripline-dev/tripline/internal/opsim"
)

// BenchmarkRunDryRun measures `consumer run` in dry-run mode as an operator
// would start it (Main, the shipped rules, the Users API simulator holding
// the generated users) over the same 200,000-line mixed-format stream as
// BenchmarkReplay, on one partition of the embedded broker: events per
// second from the start of Main until tripline_messages_consumed_total
// reaches 200,000. Goal: at least 0.9 times consumer replay's rate.
func BenchmarkRunDryRun(b *testing.B) {
	const n = 200_000
	gen := eventgen.New(eventgen.Config{Seed: 1})
	dec, err := event.NewDecoder(event.Config{MaxBytes: 1 << 20, MaxDepth: 64})
	if err != nil {
		b.Fatal(err)
	}
	msgs := make([]kafka.Message, n)
	emails := map[string]bool{}
	for i := range msgs {
		line := gen.Append(nil)
		msgs[i] = kafka.Message{Value: line}
		evs, _ := dec.Decode(line, "")
		for _, ev := range evs {
			if ev.UserEmail != "" {
				emails[ev.UserEmail] = true
			}
		}
	}
	seed := opsim.Seed{}
	for e := range emails {
		seed.Users = append(seed.Users, opsim.UserSeed{Email: e})
	}
	var rate float64
	for range b.N {
		rate += runDryRun(b, msgs, seed)
	}
	b.ReportMetric(rate/float64(b.N), "events/s")
	b.ReportMetric(0, "ns/op")
}

func runDryRun(b *testing.B, msgs []kafka.Message, seed opsim.Seed) float64 {
	sb, err := demo.StartSandbox(demo.SandboxConfig{Topics: []string{"siem.signins"}, Partitions: 1, Seed: seed})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Close()
	w := &kafka.Writer{Addr: kafka.TCP(sb.Broker().Addr()), Topic: "siem.signins", BatchSize: 500, BatchBytes: 900_000, BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll}
	for rest := msgs; len(rest) > 0; {
		k := min(len(rest), 10_000)
		if err := w.WriteMessages(b.Context(), rest[:k]...); err != nil {
			b.Fatal(err)
		}
		rest = rest[k:]
	}
	w.Close()
	cfg := sb.Config("dry-run-bench", "../../rules", "siem.signins")
	cfg.DryRun = true
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	start := time.Now()
	m, err := app.NewMain(ctx, cfg, app.Options{Log: io.Discard, Lookup: func(string) (string, bool) { return "", false }})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	for m.Stats().Consumed < int64(len(msgs)) {
		select {
		case err := <-done:
			b.Fatalf("consumer stopped early: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
	took := time.Since(start)
	cancel()
	<-done
	m.Close()
	return float64(len(msgs)) / took.Seconds()
}
