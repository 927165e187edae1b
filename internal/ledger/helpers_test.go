package ledger_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/kafkatest"
	"github.com/tripline-dev/tripline/internal/ledger"
)

// waitTimeout bounds every wait on a condition.
const waitTimeout = 5 * time.Second

// call is one ApplyFunc call.
type call struct {
	key       string
	value     []byte
	signature string
}

// recorder is an ApplyFunc that keeps the table and every call, and wakes
// waiters on each call.
type recorder struct {
	mu      sync.Mutex
	values  map[string][]byte
	calls   []call
	changed chan struct{}
}

func newRecorder() *recorder {
	return &recorder{values: map[string][]byte{}, changed: make(chan struct{})}
}

func (r *recorder) apply(key string, value []byte, signature string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{key, value, signature})
	if value == nil {
		delete(r.values, key)
	} else {
		r.values[key] = value
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

// table returns a copy of the table as strings.
func (r *recorder) table() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[string]string, len(r.values))
	for k, v := range r.values {
		m[k] = string(v)
	}
	return m
}

// callsFor returns the values applied for key, in order; "<nil>" stands
// for a tombstone.
func (r *recorder) callsFor(key string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		if c.key != key {
			continue
		}
		if c.value == nil {
			out = append(out, "<nil>")
		} else {
			out = append(out, string(c.value))
		}
	}
	return out
}

// waitFor waits until cond holds for the table, failing the test after
// waitTimeout. cond runs after each ApplyFunc call, never on a timer.
func (r *recorder) waitFor(t *testing.T, what string, cond func(map[string][]byte) bool) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok, ch := cond(r.values), r.changed
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s; table: %v", waitTimeout, what, r.table())
		}
	}
}

// hasValue is a waitFor condition: key holds want.
func hasValue(key, want string) func(map[string][]byte) bool {
	return func(m map[string][]byte) bool { v, ok := m[key]; return ok && string(v) == want }
}

// topicName returns a topic name unique to the test. On an external broker
// (KAFKA_BROKERS) the topic is deleted when the test ends.
func topicName(t *testing.T, brokers string) string {
	t.Helper()
	topic := kafkatest.TopicName(t)
	if kafkatest.External() {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := kafkatest.Client(brokers).DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{topic}})
			if err == nil {
				err = res.Errors[topic]
			}
			if err != nil && !errors.Is(err, kafka.UnknownTopicOrPartition) {
				t.Logf("delete topic %s: %v", topic, err)
			}
		})
	}
	return topic
}

// config returns a Table config for topic on brokers with a transport of
// its own, so tables in a test share no connections.
func config(t *testing.T, brokers, topic string) ledger.Config {
	t.Helper()
	return ledger.Config{
		Brokers:      strings.Split(brokers, ","),
		Transport:    transport(t),
		Topic:        topic,
		Create:       true,
		FetchMaxWait: 100 * time.Millisecond,
		Logger:       testLogger(t),
	}
}

// transport returns a transport of its own, closed when t ends. A Table
// that outlives a subtest must use the parent test's.
func transport(t *testing.T) *kafka.Transport {
	tr := &kafka.Transport{MetadataTTL: time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// testLogger logs to t's output. A Table that outlives a subtest must log
// to the parent test's.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// mustNew builds a Table, failing the test on error.
func mustNew(t *testing.T, cfg ledger.Config, rec *recorder) *ledger.Table {
	t.Helper()
	tbl, err := ledger.New(cfg, rec.apply)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tbl
}

// mustLoad builds and loads a Table, failing the test on error.
func mustLoad(t *testing.T, cfg ledger.Config, rec *recorder) *ledger.Table {
	t.Helper()
	tbl := mustNew(t, cfg, rec)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := tbl.Load(ctx); err != nil {
		t.Fatalf("Load: %v", err)
	}
	return tbl
}

// run runs tbl.Run until the test ends, then checks that it returned nil.
func run(t *testing.T, tbl *ledger.Table) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tbl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// mustPut puts key=value, failing the test on error.
func mustPut(t *testing.T, tbl interface {
	Put(context.Context, string, []byte, string) error
}, key string, value []byte) {
	t.Helper()
	if err := tbl.Put(t.Context(), key, value, ""); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

// topicConfigs returns the topic's configuration as the broker reports it.
func topicConfigs(t *testing.T, client *kafka.Client, topic string) map[string]string {
	t.Helper()
	res, err := client.DescribeConfigs(t.Context(), &kafka.DescribeConfigsRequest{
		Resources: []kafka.DescribeConfigRequestResource{{ResourceType: kafka.ResourceTypeTopic, ResourceName: topic}},
	})
	if err != nil {
		t.Fatalf("DescribeConfigs: %v", err)
	}
	if len(res.Resources) != 1 || res.Resources[0].Error != nil {
		t.Fatalf("DescribeConfigs: %+v", res.Resources)
	}
	m := map[string]string{}
	for _, e := range res.Resources[0].ConfigEntries {
		m[e.ConfigName] = e.ConfigValue
	}
	return m
}

// partitionEnds returns the end offset of each partition of topic.
func partitionEnds(t *testing.T, client *kafka.Client, topic string, n int) []int64 {
	t.Helper()
	var reqs []kafka.OffsetRequest
	for p := range n {
		reqs = append(reqs, kafka.LastOffsetOf(p))
	}
	res, err := client.ListOffsets(t.Context(), &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: reqs}})
	if err != nil {
		t.Fatalf("ListOffsets: %v", err)
	}
	ends := make([]int64, n)
	for _, po := range res.Topics[topic] {
		if po.Error != nil {
			t.Fatalf("ListOffsets partition %d: %v", po.Partition, po.Error)
		}
		ends[po.Partition] = po.LastOffset
	}
	return ends
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

// waitStats waits until cond holds for tbl's Stats, checking every 10ms,
// failing the test after waitTimeout. For applies that a recorder cannot
// observe.
func waitStats(t *testing.T, tbl *ledger.Table, cond func(ledger.Stats) bool) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond(tbl.Stats()) {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("timed out after %s; stats: %+v", waitTimeout, tbl.Stats())
		}
	}
}
