package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/kafkatest"
	"github.com/tripline-dev/tripline/internal/ledger"
)

// The port other packages declare; both tables must satisfy it.
var (
	_ interface {
		Put(ctx context.Context, key string, value []byte, signature string) error
	} = (*ledger.Table)(nil)
	_ interface {
		Put(ctx context.Context, key string, value []byte, signature string) error
	} = (*ledger.Memory)(nil)
)

func TestNewReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := ledger.New(ledger.Config{Brokers: []string{""}, Topic: "bad topic", Partitions: -1, Replication: -2, FetchMaxWait: -time.Second}, nil)
	if err == nil {
		t.Fatal("New accepted a bad config")
	}
	for _, want := range []string{"broker 0 is empty", `topic "bad topic"`, "partitions -1", "replication -2", "fetch max wait", "no apply function"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if _, err := ledger.New(ledger.Config{Topic: "t"}, func(string, []byte, string) {}); err == nil || !strings.Contains(err.Error(), "no brokers") {
		t.Errorf("New without brokers: %v", err)
	}
}

func TestPutAndRunBeforeLoad(t *testing.T) {
	t.Parallel()
	tbl, err := ledger.New(ledger.Config{Brokers: []string{"127.0.0.1:1"}, Topic: "t"}, func(string, []byte, string) {})
	if err != nil {
		t.Fatal(err)
	}
	if tbl.Ready() {
		t.Error("Ready before Load")
	}
	if err := tbl.Put(t.Context(), "k", []byte("v"), ""); !errors.Is(err, ledger.ErrNotLoaded) {
		t.Errorf("Put before Load: %v, want ErrNotLoaded", err)
	}
	if err := tbl.Run(t.Context()); !errors.Is(err, ledger.ErrNotLoaded) {
		t.Errorf("Run before Load: %v, want ErrNotLoaded", err)
	}
}

func TestLoadCreatesCompactedTopic(t *testing.T) {
	t.Parallel()
	brokers := kafkatest.Brokers(t)
	topic := topicName(t, brokers)
	rec := newRecorder()
	tbl := mustLoad(t, config(t, brokers, topic), rec)

	if !tbl.Ready() {
		t.Error("not Ready after Load")
	}
	if diff := cmp.Diff(ledger.Stats{Partitions: 1}, tbl.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
	if got := rec.table(); len(got) != 0 {
		t.Errorf("new table not empty: %v", got)
	}
	if got := topicConfigs(t, kafkatest.Client(brokers), topic)["cleanup.policy"]; got != "compact" {
		t.Errorf("created topic has cleanup.policy=%q, want compact", got)
	}
	if err := tbl.Load(t.Context()); err == nil {
		t.Error("second Load succeeded")
	}
}

func TestLoadCreatesPartitions(t *testing.T) {
	t.Parallel()
	brokers := kafkatest.Brokers(t)
	cfg := config(t, brokers, topicName(t, brokers))
	cfg.Partitions, cfg.Replication = 3, -1
	tbl := mustLoad(t, cfg, newRecorder())
	if got := tbl.Stats().Partitions; got != 3 {
		t.Errorf("Partitions = %d, want 3", got)
	}
}

func TestLoadRefusesTopicThatIsNotCompacted(t *testing.T) {
	t.Parallel()
	brokers := kafkatest.Brokers(t)
	client := kafkatest.Client(brokers)
	for _, tc := range []struct {
		name    string
		configs []kafka.ConfigEntry
	}{
		{"explicit delete", []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "delete"}}},
		{"broker default", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := topicName(t, brokers)
			res, err := client.CreateTopics(t.Context(), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
				Topic: topic, NumPartitions: 1, ReplicationFactor: 1, ConfigEntries: tc.configs,
			}}})
			if err == nil {
				err = res.Errors[topic]
			}
			if err != nil {
				t.Fatalf("create topic: %v", err)
			}
			tbl := mustNew(t, config(t, brokers, topic), newRecorder())
			err = tbl.Load(t.Context())
			if err == nil {
				t.Fatal("Load accepted a topic with cleanup.policy=delete")
			}
			t.Logf("Load: %v", err)
			for _, want := range []string{topic, "cleanup.policy=delete", "kafka-configs", "--entity-name " + topic, "--add-config cleanup.policy=compact", "another topic name"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if tbl.Ready() {
				t.Error("Ready after a failed Load")
			}
		})
	}
}

func TestLoadAcceptsCompactDelete(t *testing.T) {
	t.Parallel()
	brokers := kafkatest.Brokers(t)
	client := kafkatest.Client(brokers)
	topic := topicName(t, brokers)
	res, err := client.CreateTopics(t.Context(), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{{
		Topic: topic, NumPartitions: 2, ReplicationFactor: 1,
		ConfigEntries: []kafka.ConfigEntry{{ConfigName: "cleanup.policy", ConfigValue: "compact,delete"}},
	}}})
	if err == nil {
		err = res.Errors[topic]
	}
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	cfg := config(t, brokers, topic)
	cfg.Create = false
	if got := mustLoad(t, cfg, newRecorder()).Stats().Partitions; got != 2 {
		t.Errorf("Partitions = %d, want 2", got)
	}
}

func TestConcurrentLoadsCreateTheTopicOnce(t *testing.T) {
	t.Parallel()
	brokers := kafkatest.Brokers(t)
	topic := topicName(t, brokers)
	tables := make([]*ledger.Table, 4)
	for i := range tables {
		cfg := config(t, brokers, topic)
		cfg.Partitions = 2
		tables[i] = mustNew(t, cfg, newRecorder())
	}
	var wg sync.WaitGroup
	for i, tbl := range tables {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if err := tbl.Load(ctx); err != nil {
				t.Errorf("Load %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for i, tbl := range tables {
		if got := tbl.Stats().Partitions; got != 2 {
			t.Errorf("table %d sees %d partitions, want 2", i, got)
		}
	}
}

func TestLoadMissingTopicWithoutCreate(t *testing.T) {
	t.Parallel()
	brokers := kafkatest.Brokers(t)
	topic := topicName(t, brokers)
	cfg := config(t, brokers, topic)
	cfg.Create = false
	err := mustNew(t, cfg, newRecorder()).Load(t.Context())
	if err == nil || !strings.Contains(err.Error(), topic) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Load of a missing topic without Create: %v", err)
	}
}

func TestPutAppliesAtOnceAndLoadReplays(t *testing.T) {
	t.Parallel()
	brokers := kafkatest.Brokers(t)
	topic := topicName(t, brokers)
	first := newRecorder()
	a := mustLoad(t, config(t, brokers, topic), first)

	steps := []struct {
		key   string
		value []byte
	}{
		{"u1", []byte(`{"action":"suspend"}`)},
		{"u2", []byte("two")},
		{"u1", []byte(`{"action":"reactivate"}`)},
		{"u3", []byte("three")},
		{"u3", nil}, // tombstone
		{"u4", []byte{}},
	}
	for _, s := range steps {
		mustPut(t, a, s.key, s.value)
		// Applied before Put returned: no waiting.
		got, ok := first.table()[s.key]
		if s.value == nil && ok || s.value != nil && (!ok || got != string(s.value)) {
			t.Fatalf("after Put(%q, %q) the table holds %q (present %v)", s.key, s.value, got, ok)
		}
	}
	if diff := cmp.Diff(ledger.Stats{Applied: int64(len(steps)), Partitions: 1}, a.Stats()); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}

	// A restarted instance reads everything back, in order per key.
	second := newRecorder()
	b := mustLoad(t, config(t, brokers, topic), second)
	if diff := cmp.Diff(first.table(), second.table()); diff != "" {
		t.Errorf("reloaded table (-first +second):\n%s", diff)
	}
	want := map[string]string{"u1": `{"action":"reactivate"}`, "u2": "two", "u4": ""}
	if diff := cmp.Diff(want, second.table()); diff != "" {
		t.Errorf("reloaded table (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{`{"action":"suspend"}`, `{"action":"reactivate"}`}, second.callsFor("u1")); diff != "" {
		t.Errorf("u1 apply order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"three", "<nil>"}, second.callsFor("u3")); diff != "" {
		t.Errorf("u3 applies (-want +got):\n%s", diff)
	}
	if got := b.Stats().Applied; got != int64(len(steps)) {
		t.Errorf("reload applied %d records, want %d", got, len(steps))
	}
}

func TestRunSeesOtherInstancesWrites(t *testing.T) {
	t.Parallel()
	brokers := kafkatest.Brokers(t)
	topic := topicName(t, brokers)
	recA, recB := newRecorder(), newRecorder()
	a := mustLoad(t, config(t, brokers, topic), recA)
	b := mustLoad(t, config(t, brokers, topic), recB)
	run(t, a)
	run(t, b)

	mustPut(t, a, "u1", []byte("suspended"))
	recB.waitFor(t, "u1 on b", hasValue("u1", "suspended"))

	mustPut(t, a, "u1", nil)
	recB.waitFor(t, "u1 deleted on b", func(m map[string][]byte) bool { _, ok := m["u1"]; return !ok })
	if diff := cmp.Diff([]string{"suspended", "<nil>"}, recB.callsFor("u1")); diff != "" {
		t.Errorf("b's applies of u1 (-want +got):\n%s", diff)
	}

	// b writes after a's writes; once a sees it, a's tail has passed its
	// own two records, which it must have skipped.
	mustPut(t, b, "u2", []byte("from b"))
	recA.waitFor(t, "u2 on a", hasValue("u2", "from b"))
	if diff := cmp.Diff([]string{"suspended", "<nil>"}, recA.callsFor("u1")); diff != "" {
		t.Errorf("a's applies of u1 (-want +got):\n%s", diff)
	}
	if got := a.Stats(); got.Applied != 3 || got.Skipped != 2 {
		t.Errorf("a's Stats = %+v, want 3 applied (2 own, 1 from b) and 2 skipped (own records from the tail)", got)
	}
}

func TestWritersRacingOnAKeyConverge(t *testing.T) {
	t.Parallel()
	brokers := kafkatest.Brokers(t)
	topic := topicName(t, brokers)
	cfg := config(t, brokers, topic)
	cfg.Partitions = 2
	recA, recB := newRecorder(), newRecorder()
	a := mustLoad(t, cfg, recA)
	b := mustLoad(t, config(t, brokers, topic), recB)
	run(t, a)
	run(t, b)

	keys := []string{"u1", "u2", "u3"}
	const rounds = 20
	var wg sync.WaitGroup
	for name, tbl := range map[string]*ledger.Table{"a": a, "b": b} {
		wg.Go(func() {
			for i := range rounds {
				for _, k := range keys {
					if err := tbl.Put(t.Context(), k, fmt.Appendf(nil, "%s-%d", name, i), ""); err != nil {
						t.Errorf("%s: Put(%q): %v", name, k, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()

	// A fresh Load holds, for each key, the record with the highest offset.
	want := newRecorder()
	mustLoad(t, config(t, brokers, topic), want)
	final := want.table()
	if len(final) != len(keys) {
		t.Fatalf("reloaded table has %d keys, want %d: %v", len(final), len(keys), final)
	}
	for _, k := range keys {
		recA.waitFor(t, "a to converge on "+k, hasValue(k, final[k]))
		recB.waitFor(t, "b to converge on "+k, hasValue(k, final[k]))
	}
}

func TestConcurrentPutsApplyOneAtATime(t *testing.T) {
	t.Parallel()
	brokers := kafkatest.Brokers(t)
	topic := topicName(t, brokers)
	cfg := config(t, brokers, topic)
	cfg.Partitions = 3
	// apply touches unguarded state: -race reports overlapping calls,
	// whether they come from Put or from the tail.
	seen := map[string]int{}
	tbl, err := ledger.New(cfg, func(k string, _ []byte, _ string) { seen[k]++ })
	if err != nil {
		t.Fatal(err)
	}
	if err := tbl.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	other := mustLoad(t, config(t, brokers, topic), newRecorder())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- tbl.Run(ctx) }()

	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 25 {
				src := tbl
				if i%5 == 0 {
					src = other // some records reach tbl through its tail
				}
				if err := src.Put(t.Context(), fmt.Sprintf("w%d-%d", w, i), []byte("v"), ""); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Stop the tail once it has applied the other table's 40 records.
	waitStats(t, tbl, func(s ledger.Stats) bool { return s.Applied >= 200 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := len(seen); got != 200 {
		t.Errorf("%d keys applied, want 200", got)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s applied %d times", k, n)
		}
	}
}

func TestLoadReadsEveryPartition(t *testing.T) {
	t.Parallel()
	brokers := kafkatest.Brokers(t)
	topic := topicName(t, brokers)
	cfg := config(t, brokers, topic)
	cfg.Partitions = 3
	a := mustLoad(t, cfg, newRecorder())
	want := map[string]string{}
	for i := range 30 {
		k, v := fmt.Sprintf("user-%02d", i), fmt.Sprintf("value-%02d", i)
		mustPut(t, a, k, []byte(v))
		want[k] = v
	}
	for p, end := range partitionEnds(t, kafkatest.Client(brokers), topic, 3) {
		if end == 0 {
			t.Errorf("partition %d is empty: the keys should spread over all three", p)
		}
	}

	rec := newRecorder()
	b := mustLoad(t, config(t, brokers, topic), rec)
	if diff := cmp.Diff(want, rec.table()); diff != "" {
		t.Errorf("loaded table (-want +got):\n%s", diff)
	}
	if got := b.Stats(); got.Partitions != 3 || got.Applied != 30 {
		t.Errorf("Stats = %+v, want 3 partitions and 30 applied", got)
	}
	if got := sortedKeys(rec.table()); len(got) != 30 {
		t.Errorf("keys: %v", got)
	}
}

func TestLoadSeesRecordsOfOtherProducers(t *testing.T) {
	t.Parallel()
	brokers := kafkatest.Brokers(t)
	topic := topicName(t, brokers)
	cfg := config(t, brokers, topic)
	cfg.Partitions = 3
	mustLoad(t, cfg, newRecorder())

	// A kafka-go Writer with the Hash balancer batches and compresses;
	// the table must read such batches and put keys where it would.
	w := &kafka.Writer{
		Addr: kafka.TCP(brokers), Topic: topic, Balancer: &kafka.Hash{}, RequiredAcks: kafka.RequireAll,
		Compression: kafka.Snappy, BatchTimeout: time.Millisecond, Transport: &kafka.Transport{},
	}
	defer w.Close()
	var msgs []kafka.Message
	for i := range 20 {
		msgs = append(msgs, kafka.Message{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i)})
	}
	if err := w.WriteMessages(t.Context(), msgs...); err != nil {
		t.Fatalf("WriteMessages: %v", err)
	}

	rec := newRecorder()
	b := mustLoad(t, config(t, brokers, topic), rec)
	if got := len(rec.table()); got != 20 {
		t.Errorf("loaded %d keys, want 20: %v", got, rec.table())
	}
	mustPut(t, b, "k7", []byte("overwritten"))
	c := newRecorder()
	mustLoad(t, config(t, brokers, topic), c)
	if got := c.table()["k7"]; got != "overwritten" {
		t.Errorf("k7 = %q after Put, want overwritten (Put and the Writer disagree on the partition)", got)
	}
}

func TestPutFailsWithoutHanging(t *testing.T) {
	t.Parallel()
	tbl := loadedThenStopped(t, func(t *testing.T, tbl *ledger.Table) {
		cancelled, cancel := context.WithCancel(t.Context())
		cancel()
		if err := tbl.Put(cancelled, "k", []byte("v"), ""); !errors.Is(err, context.Canceled) {
			t.Errorf("Put with a cancelled context: %v, want context.Canceled", err)
		}
	})

	// The broker is gone now.
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	if err := tbl.Put(ctx, "k", []byte("v"), ""); err == nil {
		t.Fatal("Put to a stopped broker succeeded")
	} else {
		t.Logf("Put to a stopped broker after %s: %v", time.Since(start).Round(time.Millisecond), err)
	}
	if got := tbl.Stats().Applied; got != 0 {
		t.Errorf("%d records applied after failed Puts", got)
	}
}

func TestRunGivesUpAfterFailureBudget(t *testing.T) {
	t.Parallel()
	tbl := loadedThenStopped(t, nil)
	ledger.SetMaxFailure(tbl, 500*time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	err := tbl.Run(ctx)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "failing for more than") {
		t.Fatalf("Run against a stopped broker: %v (ctx: %v), want a give-up error", err, ctx.Err())
	}
	t.Logf("Run gave up: %v", err)
}

func TestRunStopsWithContext(t *testing.T) {
	t.Parallel()
	brokers := kafkatest.Brokers(t)
	cfg := config(t, brokers, topicName(t, brokers))
	cfg.FetchMaxWait = 5 * time.Second // a fetch in flight must not delay the stop
	rec := newRecorder()
	tbl := mustLoad(t, cfg, rec)
	writer := mustLoad(t, config(t, brokers, cfg.Topic), newRecorder())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- tbl.Run(ctx) }()
	// Once the tail delivered a record, the next fetch is waiting.
	mustPut(t, writer, "k", []byte("v"))
	rec.waitFor(t, "k", hasValue("k", "v"))
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return within 2s of cancel")
	}
}

// TestSyncSeesWhatOthersWroteBefore: after a writes, b's Sync returns only
// once b has applied a's records, without waiting on anything else.
func TestSyncSeesWhatOthersWroteBefore(t *testing.T) {
	t.Parallel()
	brokers := kafkatest.Brokers(t)
	topic := topicName(t, brokers)
	recB := newRecorder()
	a := mustLoad(t, config(t, brokers, topic), newRecorder())
	b := mustLoad(t, config(t, brokers, topic), recB)
	run(t, b)
	for i := range 20 {
		mustPut(t, a, fmt.Sprint("u", i), []byte("suspended"))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	got := recB.table()
	for i := range 20 {
		if got[fmt.Sprint("u", i)] != "suspended" {
			t.Fatalf("after Sync, b has not applied u%d: %v", i, got)
		}
	}
}

// loadedThenStopped returns a table loaded from a broker that is stopped
// before it returns; up, if not nil, runs while the broker is still up.
func loadedThenStopped(t *testing.T, up func(*testing.T, *ledger.Table)) *ledger.Table {
	t.Helper()
	var tbl *ledger.Table
	log, tr := testLogger(t), transport(t)
	t.Run("broker up", func(t *testing.T) {
		brokers := kafkatest.Start(t) // stops when this subtest ends
		cfg := config(t, brokers, topicName(t, brokers))
		cfg.Logger, cfg.Transport = log, tr
		tbl = mustLoad(t, cfg, newRecorder())
		if up != nil {
			up(t, tbl)
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	return tbl
}
