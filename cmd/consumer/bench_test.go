package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/devbroker"
	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/kafkaio"
	"github.com/tripline-dev/tripline/internal/pipeline"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/rules"
	"github.com/tripline-dev/tripline/internal/telemetry"
)

const (
	benchMessages   = 50_000
	benchPartitions = 6
	benchTopic      = "bench.signins"
)

// benignEvents returns n compact Okta sign-ins (about 1 KiB each) built from
// testdata/events with varied users and ids, outcome success or failure and
// risk none or low: none of them matches a shipped rule.
func benignEvents(b *testing.B, n int) []kafka.Message {
	raw, err := os.ReadFile("../../testdata/events/okta-session-start-risky.json")
	if err != nil {
		b.Fatal(err)
	}
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		var ev map[string]any
		if err := json.Unmarshal(raw, &ev); err != nil {
			b.Fatal(err)
		}
		for _, k := range []string{"request", "transaction", "authenticationContext", "legacyEventType"} {
			delete(ev, k)
		}
		user := fmt.Sprintf("user%05d@example.com", i%20_000)
		ev["uuid"] = fmt.Sprintf("5c0e9a8e-a8d2-11f0-%04x-%012x", i%65536, i)
		ev["published"] = time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano)
		actor := ev["actor"].(map[string]any)
		actor["alternateId"], actor["id"], actor["displayName"] = user, fmt.Sprintf("00u%016d", i%20_000), fmt.Sprintf("User %05d", i%20_000)
		ev["securityContext"].(map[string]any)["isProxy"] = false
		if i%10 == 0 {
			ev["outcome"] = map[string]any{"result": "FAILURE", "reason": "INVALID_CREDENTIALS"}
		}
		dbg := ev["debugContext"].(map[string]any)["debugData"].(map[string]any)
		dbg["behaviors"] = "{New Geo-Location=NEGATIVE, New Device=NEGATIVE, New IP=NEGATIVE, Velocity=NEGATIVE}"
		dbg["requestId"] = fmt.Sprintf("aQ7xLmN3pR2sT9uV%011d", i)
		delete(dbg, "dtHash")
		delete(dbg, "url")
		if i%2 == 0 {
			delete(dbg, "risk")
		} else {
			dbg["risk"] = "{reasons=, level=LOW}"
		}
		v, err := json.Marshal(ev)
		if err != nil {
			b.Fatal(err)
		}
		msgs[i] = kafka.Message{Key: []byte(user), Value: v}
	}
	return msgs
}

// benchBroker starts kfake with the events on benchPartitions partitions.
func benchBroker(b *testing.B, msgs []kafka.Message) *devbroker.Broker {
	br, err := devbroker.Start(devbroker.Config{Listen: "127.0.0.1:0", Partitions: benchPartitions, Topics: []string{benchTopic}, MinSessionTimeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	w := &kafka.Writer{Addr: kafka.TCP(br.Addr()), Topic: benchTopic, Balancer: &kafka.Hash{}, BatchSize: 500, BatchBytes: 900_000, BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	for len(msgs) > 0 {
		n := min(len(msgs), 5000)
		if err := w.WriteMessages(b.Context(), msgs[:n]...); err != nil {
			b.Fatal(err)
		}
		msgs = msgs[n:]
	}
	return br
}

// benchKafka is the consumer's Kafka configuration for the bench broker.
func benchKafka(addr, group string) config.Kafka {
	k := config.Default().Kafka
	k.Brokers, k.GroupID, k.StartFromEarliest, k.SessionTimeout = []string{addr}, group, true, 6*time.Second
	return k
}

// BenchmarkPipelineThroughput measures messages per second through the
// whole pipeline (consumer group on kfake, a reader per partition, event
// decoder, shipped rules, keyed decisions, watermark commits, telemetry as
// wired by Main) on the no-match path, against a bare loop over the same
// messages with the same parallelism (the same group, a kafka-go reader per
// partition, json.Unmarshal, a commit per 1,000 messages). Both clocks run
// from the first fetch to the commit of the last offset. The two alternate
// which goes first; each iteration consumes benchMessages messages per
// loop, and the reported rates are the means (make bench-pipeline runs
// three iterations). Goal: ratio >= 0.8.
func BenchmarkPipelineThroughput(b *testing.B) {
	msgs := benignEvents(b, benchMessages)
	var size int
	for _, m := range msgs {
		size += len(m.Value)
	}
	br := benchBroker(b, msgs)
	b.Logf("%d messages, %d bytes on average, %d partitions", len(msgs), size/len(msgs), benchPartitions)
	var pipeRate, bareRate float64
	b.ResetTimer()
	for i := range b.N {
		bare := func() {
			r := benchBare(b, br.Addr(), fmt.Sprintf("bare-%d-%d", b.N, i))
			b.Logf("run %d: bare %.0f msgs/s", i, r)
			bareRate += r
		}
		pipe := func() {
			r := benchPipeline(b, br.Addr(), fmt.Sprintf("pipeline-%d-%d", b.N, i))
			b.Logf("run %d: pipeline %.0f msgs/s", i, r)
			pipeRate += r
		}
		if i%2 == 0 {
			bare()
			pipe()
		} else {
			pipe()
			bare()
		}
	}
	b.StopTimer()
	pipeRate, bareRate = pipeRate/float64(b.N), bareRate/float64(b.N)
	b.ReportMetric(pipeRate, "pipeline-msgs/s")
	b.ReportMetric(bareRate, "bare-msgs/s")
	b.ReportMetric(pipeRate/bareRate, "ratio")
	b.ReportMetric(0, "ns/op")
	b.Logf("pipeline: %.0f msgs/s, bare: %.0f msgs/s, ratio=%.2f (goal >= 0.8)", pipeRate, bareRate, pipeRate/bareRate)
}

// benchBare joins the group like the pipeline, reads each partition with
// its own kafka-go reader, decodes each message with json.Unmarshal, commits
// every 1,000 messages of a partition and its last one, and returns
// messages per second from the first fetch to the last commit.
func benchBare(b *testing.B, addr, group string) float64 {
	k := benchKafka(addr, group)
	conn, err := kafkaio.NewConnection(kafkaio.Config{Brokers: k.Brokers, ClientID: k.ClientID})
	if err != nil {
		b.Fatal(err)
	}
	src, err := conn.NewGroupSource(kafkaio.GroupConfig{GroupID: group, Topics: []string{benchTopic}, SessionTimeout: k.SessionTimeout, StartFromEarliest: true, MaxBytes: k.MaxBytes, MaxWait: k.MaxWait})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	ctx := b.Context()
	gen, err := src.Next(ctx)
	if err != nil {
		b.Fatal(err)
	}
	bounds, err := conn.PartitionBounds(ctx, benchTopic, group)
	if err != nil {
		b.Fatal(err)
	}
	clock := &benchClock{}
	var wg sync.WaitGroup
	for _, cl := range gen.Claims() {
		end := bounds[cl.Partition].End
		wg.Go(func() {
			r := gen.Reader(cl)
			defer r.Close()
			for n := 0; ; n++ {
				m, err := r.FetchMessage(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				clock.started()
				var v oktaEvent
				if err := json.Unmarshal(m.Value, &v); err != nil {
					b.Error(err)
					return
				}
				if last := m.Offset == end-1; last || (n+1)%1000 == 0 {
					if err := gen.Commit(ctx, map[pipeline.TopicPartition]int64{cl.TopicPartition: m.Offset + 1}); err != nil {
						b.Error(err)
						return
					}
					if last {
						return
					}
				}
			}
		})
	}
	wg.Wait()
	return float64(benchMessages) / time.Since(clock.start()).Seconds()
}

// benchClock notes the first fetch.
type benchClock struct {
	once sync.Once
	at   time.Time
}

func (c *benchClock) started() { c.once.Do(func() { c.at = time.Now() }) }

func (c *benchClock) start() time.Time {
	c.started() // never zero
	return c.at
}

// oktaEvent is the bare loop's decoding target: the fields a sign-in rule
// needs, as a struct (the stricter baseline: a map is slower).
type oktaEvent struct {
	UUID      string `json:"uuid"`
	Published string `json:"published"`
	EventType string `json:"eventType"`
	Actor     struct {
		ID          string `json:"id"`
		AlternateID string `json:"alternateId"`
	} `json:"actor"`
	Client struct {
		IPAddress string `json:"ipAddress"`
		Geo       struct {
			City    string `json:"city"`
			Country string `json:"country"`
		} `json:"geographicalContext"`
	} `json:"client"`
	Outcome struct {
		Result string `json:"result"`
	} `json:"outcome"`
	Debug struct {
		Data map[string]string `json:"debugData"`
	} `json:"debugContext"`
}

// clockedSource notes the first fetch and the commit that covers the last
// offset of every partition (the bounds read before the run).
type clockedSource struct {
	pipeline.Source
	clock  benchClock
	bounds map[int]kafkaio.Bound
	mu     sync.Mutex
	next   map[int]int64
	done   chan time.Time
}

func (s *clockedSource) Next(ctx context.Context) (pipeline.Generation, error) {
	g, err := s.Source.Next(ctx)
	if err != nil {
		return nil, err
	}
	return clockedGeneration{g, s}, nil
}

type clockedGeneration struct {
	pipeline.Generation
	s *clockedSource
}

func (g clockedGeneration) Reader(cl pipeline.Claim) pipeline.PartitionReader {
	return clockedReader{g.Generation.Reader(cl), g.s}
}

func (g clockedGeneration) Commit(ctx context.Context, offsets map[pipeline.TopicPartition]int64) error {
	if err := g.Generation.Commit(ctx, offsets); err != nil {
		return err
	}
	s := g.s
	s.mu.Lock()
	defer s.mu.Unlock()
	for tp, o := range offsets {
		s.next[tp.Partition] = o
	}
	for p, b := range s.bounds {
		if s.next[p] < b.End {
			return nil
		}
	}
	select {
	case s.done <- time.Now():
	default:
	}
	return nil
}

type clockedReader struct {
	pipeline.PartitionReader
	s *clockedSource
}

func (r clockedReader) FetchMessage(ctx context.Context) (kafka.Message, error) {
	m, err := r.PartitionReader.FetchMessage(ctx)
	if err == nil {
		r.s.clock.started()
	}
	return m, err
}

// noActions fails the benchmark if the no-match path reaches it.
type noActions struct{ b *testing.B }

func (n noActions) Decide(context.Context, remediate.Decision) (remediate.Outcome, error) {
	n.b.Error("decider called on the no-match path")
	return remediate.Outcome{}, nil
}

func (n noActions) Answer(context.Context, remediate.Answer) (remediate.Outcome, error) {
	n.b.Error("an answer on the no-match path")
	return remediate.Outcome{}, nil
}

func (n noActions) WriteDeadLetter(context.Context, kafka.Message, kafka.Message) error {
	n.b.Error("a benign message was dead-lettered")
	return nil
}

// benchPipeline runs the pipeline until every message is committed and
// returns messages per second from the first fetch to the commit of the
// last offset.
func benchPipeline(b *testing.B, addr, group string) float64 {
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	k := benchKafka(addr, group)
	tel, err := telemetry.Setup(ctx, telemetry.Config{ServiceName: "tripline-bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	dec, err := event.NewDecoder(event.Config{MaxBytes: 1 << 20, MaxDepth: 64})
	if err != nil {
		b.Fatal(err)
	}
	w, err := rules.NewWatcher("../../rules", log, rules.WatcherConfig{Decode: func(raw []byte) ([]event.Event, error) { return dec.Decode(raw, "") }})
	if err != nil {
		b.Fatal(err)
	}
	conn, err := kafkaio.NewConnection(kafkaio.Config{Brokers: k.Brokers, ClientID: k.ClientID})
	if err != nil {
		b.Fatal(err)
	}
	bounds, err := conn.PartitionBounds(ctx, benchTopic, group)
	if err != nil {
		b.Fatal(err)
	}
	members, err := conn.NewGroupSource(kafkaio.GroupConfig{GroupID: group, Topics: []string{benchTopic}, SessionTimeout: k.SessionTimeout, StartFromEarliest: true, MaxBytes: k.MaxBytes, MaxWait: k.MaxWait, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	defer members.Close()
	src := &clockedSource{Source: members, bounds: bounds, next: map[int]int64{}, done: make(chan time.Time, 1)}
	metrics, err := pipeline.NewMetrics(tel.Meter("tripline"))
	if err != nil {
		b.Fatal(err)
	}
	c, err := pipeline.New(pipeline.Config{CommitInterval: k.CommitInterval, CommitBatch: k.CommitBatch, PartitionBuffer: k.PartitionBuffer, BufferBytes: int64(k.BufferBytes)}, pipeline.Deps{
		Source: src, DeadLetters: noActions{b}, Decoder: dec, Rules: w, Decider: noActions{b},
		Logger: log, Tracer: tel.Tracer("tripline"), Propagator: tel.Propagator(), Metrics: metrics,
	})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var end time.Time
	select {
	case err := <-done:
		b.Fatalf("pipeline stopped early: %v", err)
	case end = <-src.done:
	}
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	if s := c.Stats(); s.Decisions != 0 || s.DeadLettered != 0 || s.Committed != benchMessages {
		b.Errorf("no-match path: %d decisions, %d dead-lettered, %d committed", s.Decisions, s.DeadLettered, s.Committed)
	}
	return float64(benchMessages) / end.Sub(src.clock.start()).Seconds()
}
