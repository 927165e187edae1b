package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/demo"
	"github.com/tripline-dev/tripline/internal/kafkaio"
	"github.com/tripline-dev/tripline/internal/opsim"
)

const (
	burstUsers   = 1000
	burstLatency = 50 * time.Millisecond
	stuckOthers  = 100
)

// BenchmarkBurst measures, as an operator would see it (embedded broker,
// Users API simulator answering every call after burstLatency, the shipped
// rules, Main as `consumer run` wires it), how long a burst of risky
// sign-ins for burstUsers distinct users on one partition takes to be
// suspended, from the start of the consumer to the last suspension, with
// the global breaker raised above the burst. Goal: <= 5 s.
//
// Then, on a fresh world: one user's Users API calls answer 503 (the fault
// stays on for 60 s, longer than the measurement) and stuckOthers other
// users' risky sign-ins follow it on the same partition; it measures how
// long those take to be suspended, while the first user is still being
// retried. Goal: <= 2 s.
//
// One iteration does both: run it with -benchtime=1x (make bench-burst).
func BenchmarkBurst(b *testing.B) {
	var burst, others time.Duration
	for range b.N {
		burst += benchBurst(b)
		others += benchStuckUser(b)
	}
	burst, others = burst/time.Duration(b.N), others/time.Duration(b.N)
	b.ReportMetric(burst.Seconds(), "burst-s")
	b.ReportMetric(others.Seconds(), "others-while-stuck-s")
	b.ReportMetric(0, "ns/op")
	fmt.Printf("burst: %d users in %.2f s (1 partition, %d ms API latency)\n", burstUsers, burst.Seconds(), burstLatency.Milliseconds())
	fmt.Printf("stuck user: %d other users on its partition acted on in %.2f s while its calls answer 503\n", stuckOthers, others.Seconds())
}

// burstWorld is a one-partition sandbox with n generated users, the
// shipped rules and a breaker above the burst.
func burstWorld(b *testing.B, n int) (*demo.Sandbox, func(first, last int) []kafka.Message, func() (func() error, error)) {
	sb, err := demo.StartSandbox(demo.SandboxConfig{Topics: []string{"siem.signins"}, Partitions: 1, Generate: n})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sb.Close() })
	cfg := sb.Config("burst", raisedRules(b, 10*n), "siem.signins")
	cfg.Breaker.Global = fmt.Sprintf("%d/10m", 10*n)
	cfg.Retry.MaxElapsed = time.Minute
	cfg.Retry.MaxInterval = 2 * time.Second
	risky := func(first, last int) []kafka.Message {
		return riskyMessages(first, last)
	}
	run := func() (func() error, error) {
		ctx, cancel := context.WithCancel(b.Context())
		m, err := app.NewMain(ctx, cfg, app.Options{Log: burstLog, Lookup: func(string) (string, bool) { return "", false }})
		if err != nil {
			cancel()
			return nil, err
		}
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		return func() error {
			cancel()
			err := <-done
			m.Close()
			return err
		}, nil
	}
	return sb, risky, run
}

// raisedRules copies the shipped rules to a temporary directory with every
// rule's max_actions raised to limit an hour.
func raisedRules(b *testing.B, limit int) string {
	dir := b.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../rules")); err != nil {
		b.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	caps := regexp.MustCompile(`(?m)^(\s*max_actions:).*$`)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(f, caps.ReplaceAll(raw, fmt.Appendf(nil, "${1} %d/1h", limit)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

// suspended counts the simulator's suspended users among user%05d first..last.
func suspended(sim *opsim.Server, first, last int) int {
	n := 0
	for i := first; i <= last; i++ {
		if u, ok := sim.UserByEmail(fmt.Sprintf("user%05d@example.com", i)); ok && u.State == "SUSPENDED" {
			n++
		}
	}
	return n
}

// waitSuspended polls until want users among first..last are suspended.
func waitSuspended(b *testing.B, sim *opsim.Server, first, last int) {
	deadline := time.Now().Add(2 * time.Minute)
	for suspended(sim, first, last) < last-first+1 {
		if time.Now().After(deadline) {
			b.Fatalf("after 2 minutes, %d of users %d..%d suspended", suspended(sim, first, last), first, last)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func benchBurst(b *testing.B) time.Duration {
	sb, risky, run := burstWorld(b, burstUsers)
	if err := sb.Conn().Produce(b.Context(), "siem.signins", records(risky(1, burstUsers))...); err != nil {
		b.Fatal(err)
	}
	sb.Sim().SetFaults(opsim.Faults{opsim.EndpointAny: {Latency: burstLatency}})
	start := time.Now()
	stop, err := run()
	if err != nil {
		b.Fatal(err)
	}
	waitSuspended(b, sb.Sim(), 1, burstUsers)
	took := time.Since(start)
	if err := stop(); err != nil {
		b.Fatal(err)
	}
	return took
}

func benchStuckUser(b *testing.B) time.Duration {
	sb, risky, run := burstWorld(b, stuckOthers+1)
	stuck, ok := sb.Sim().UserByEmail("user00001@example.com")
	if !ok {
		b.Fatal("no user00001 in the simulator")
	}
	if err := sb.Conn().Produce(b.Context(), "siem.signins", records(risky(1, stuckOthers+1))...); err != nil {
		b.Fatal(err)
	}
	sb.Sim().SetFaults(opsim.Faults{
		opsim.EndpointAny:                  {Latency: burstLatency},
		opsim.EndpointAny + ":" + stuck.ID: {Latency: burstLatency, Rate503: 1},
	})
	lift := time.AfterFunc(60*time.Second, func() { sb.Sim().SetFaults(opsim.Faults{opsim.EndpointAny: {Latency: burstLatency}}) })
	defer lift.Stop()
	start := time.Now()
	stop, err := run()
	if err != nil {
		b.Fatal(err)
	}
	waitSuspended(b, sb.Sim(), 2, stuckOthers+1)
	took := time.Since(start)
	if suspended(sb.Sim(), 1, 1) != 0 {
		b.Error("the stuck user was suspended while its calls answered 503")
	}
	failed := 0
	for _, r := range sb.Sim().Requests() {
		if r.Status == 503 {
			failed++
		}
	}
	if failed == 0 {
		b.Error("no call answered 503: the stuck user was never tried")
	}
	if err := stop(); err != nil {
		b.Fatal(err)
	}
	return took
}

// records turns messages into records to produce.
func records(msgs []kafka.Message) []kafkaio.Record {
	out := make([]kafkaio.Record, len(msgs))
	for i, m := range msgs {
		out[i] = kafkaio.Record{Key: m.Key, Value: m.Value}
	}
	return out
}

var burstLog io.Writer = io.Discard
