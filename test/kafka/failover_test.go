//go:build kafka

package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/opsim"
)

// brokerDown is the least time a killed broker stays down in the
// broker-failover scenario: longer than the controller's broker session
// timeout (9 s), so the cluster fences it and elects new leaders instead of
// waiting for it to come back.
const brokerDown = 10 * time.Second

// maxResumeLag bounds how long the group may take to commit, on every
// partition, a message produced after a kill, counted from the moment the
// cluster had moved the dead broker's partitions and the producer had
// written such a message to every partition: tripline must follow the new
// leaders (and coordinator) within seconds, not wait out long backoffs.
const maxResumeLag = 5 * time.Second

// TestReliabilityBrokerFailover runs one consumer process against a
// cluster of three Apache Kafka brokers (scripts/kafka-local.sh with
// KAFKA_NODES=3) while 20,000 sign-ins of 1,000 users, 500 of them risky,
// stream in over about 120 s, with a global breaker of 550 suspensions per
// hour. Every topic has replication 3 and min.insync.replicas 2: the source
// topic as the test creates it, and the DLQ, state, retry and approvals
// topics as tripline creates them (kafka.topic_replication,
// kafka.topic_min_insync_replicas), which is asserted first.
//
// A fifth of the way through the risky users, the broker leading the
// state topic's partition is SIGKILLed, kept down at least brokerDown and
// until the group committed, on every partition, a message produced after
// the new leaders were elected, then started again; as soon as every
// partition is back in sync (a restart after SIGKILL recovers the logs:
// from 30 s to 80 s on 2 busy cores), the same happens to a broker leading
// source partitions (not the state topic's), while the stream still flows.
// Nothing may be lost: every risky user suspended and no other user,
// answered suspend calls within 1.01 per risky user, nothing dead-lettered,
// offsets committed to the end, and the consumer process never exits. The
// breaker must have counted exactly the suspensions made (one instance:
// its count is exact), and the ledger must hold every one of them.
func TestReliabilityBrokerFailover(t *testing.T) {
	const events, risky, users, partitions = 20000, 500, 1000, 6
	const breakerCap = risky + risky/10
	c := clusterOf(t)
	brokers := c.brokers
	s := startSim(t, opsim.Seed{}, users)
	w := newWorldOnTopic(t, brokers, c.createTopic(partitions), partitions, s)
	// The world's queries follow leader changes within 200 ms, not the
	// default client's 6 s of cached metadata.
	w.client = c.client
	w.env["TRIPLINE_KAFKA_TOPIC_REPLICATION"] = strconv.Itoa(clusterNodes)
	w.env["TRIPLINE_KAFKA_TOPIC_MIN_INSYNC_REPLICAS"] = "2"
	w.env["TRIPLINE_BREAKER_GLOBAL"] = fmt.Sprintf("%d/1h", breakerCap)
	msgs, riskyEmails := signIns(events, risky, users, 6)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	p := w.start("consumer")
	relWait(t, 90*time.Second, "the consumer ready (ledger, topics, group)", readyzLists("ready", true, p), p)
	owned := []string{w.dlq, w.state, w.retry, w.approvals}
	// Every topic the scenario needs, the group's offsets included.
	all := append(slices.Clone(owned), w.topic, "__consumer_offsets")
	for _, topic := range owned {
		rf, minISR, err := c.topicSettings(ctx, topic)
		if err != nil || rf != clusterNodes || minISR != "2" {
			t.Fatalf("topic %s as tripline created it: replication %d, min.insync.replicas %q (%v), want %d and 2", topic, rf, minISR, err, clusterNodes)
		}
	}
	relWait(t, time.Minute, "every topic of the world in sync on every node", c.inSync(all...), p)

	start := time.Now()
	produced := w.produceOver(ctx, msgs, 240, 120*time.Second)

	// Kill 1: the state topic's leader.
	relWait(t, 90*time.Second, "a fifth of the risky users suspended", w.suspendedMidStream(riskyEmails, risky/5), p)
	k1 := w.failover(ctx, c, func(state, _ map[int][]int, _ int) int {
		for id := range state { // the state topic has one partition
			return id
		}
		return 0
	}, p)
	// Kill 2: a broker leading source partitions, now that every replica
	// is back in sync (with two brokers down no write could be acknowledged).
	relWait(t, 2*time.Minute, "every topic of the world in sync again after the restart", c.inSync(all...), p)
	relWait(t, 10*time.Second, "the stream still flowing (messages left to consume)", w.suspendedMidStream(riskyEmails, 0), p)
	select {
	case err := <-produced:
		t.Fatalf("every sign-in was produced (%v) before the second kill, %s after the stream started: the stream must still flow", err, time.Since(start).Round(time.Second))
	default:
	}
	k2 := w.failover(ctx, c, func(state, source map[int][]int, coordinator int) int {
		best := 0
		for id, parts := range source {
			if len(state[id]) > 0 {
				continue
			}
			if id == coordinator { // the group's coordinator moves too
				return id
			}
			if best == 0 || len(parts) > len(source[best]) {
				best = id
			}
		}
		return best
	}, p)

	waitProduced(t, ctx, produced)
	relWait(t, 3*time.Minute, "every risky user suspended and every partition committed to its end", w.drained(riskyEmails), p)
	// The restarted broker takes its partitions back once in sync: let the
	// leaders settle before the end offsets are read.
	relWait(t, 2*time.Minute, "every topic of the world in sync again after the second restart", c.inSync(all...), p)
	took := time.Since(start)

	// The breaker counted exactly the suspensions made, and the ledger
	// holds each of them.
	out, _ := w.mustCLI(ctx, "breaker", "status", "--json")
	st := breakerJSON(t, out, "global")
	suspended := s.suspended(riskyEmails)
	if st.Open || st.Cap != breakerCap || st.Count != suspended {
		t.Errorf("consumer breaker status --json: global %+v, want armed with count %d (the users suspended) and cap %d", st, suspended, breakerCap)
	}
	for i, k := range []killed{k1, k2} {
		if lag := k.resumed - max(k.elected, k.produced); lag > maxResumeLag {
			t.Errorf("kill %d (%s): the group resumed %s after the kill, %s after the new leaders were elected and the producer resumed; want at most %s",
				i+1, k.summary(), k.resumed.Round(100*time.Millisecond), lag.Round(100*time.Millisecond), maxResumeLag)
		}
	}
	ledgered := w.ledgerSuspensions(ctx)
	if ledgered != suspended {
		t.Errorf("the state topic records %d suspensions, want %d (the users suspended)", ledgered, suspended)
	}
	p.stop(t, 30*time.Second)
	problems := consumerProblems(p)
	for i, line := range problems {
		if i == 30 {
			t.Logf("... and %d more", len(problems)-i)
			break
		}
		t.Logf("consumer: %s", line)
	}

	// Every sign-in is in the source topic, some twice: the test's producer
	// is not idempotent, so a batch the dying leader had replicated but not
	// acknowledged is written again. tripline must take the copies in its
	// stride (the commit check below counts them).
	var stored int64
	for _, e := range w.settledEnds(ctx) {
		stored += e
	}
	ids := w.sourceEvents(ctx, stored)
	for i := range events {
		if ids["e"+strconv.Itoa(i)] == 0 {
			t.Errorf("sign-in e%d is not in the source topic (%d records for %d sign-ins)", i, stored, events)
			break
		}
	}
	f, calls := w.assertNothingLost(stored, riskyEmails, 2)
	f.events = events
	if t.Failed() {
		w.logState()
	}
	report(t, "broker-failover", f, "users=%d benign_users=%d nodes=%d partitions=%d replication=%d min_insync=2 kills=2 killed=%s,%s elected_in=%s/%s produced_in=%s/%s resumed_in=%s/%s down=%s/%s produced_twice=%d breaker_count=%d breaker_cap=%d ledger_suspensions=%d suspend_calls=%d consumer_exits=0 consumer_warnings=%d took=%s",
		users, users-risky, clusterNodes, partitions, clusterNodes, k1.summary(), k2.summary(),
		k1.elected.Round(100*time.Millisecond), k2.elected.Round(100*time.Millisecond), k1.produced.Round(100*time.Millisecond), k2.produced.Round(100*time.Millisecond),
		k1.resumed.Round(100*time.Millisecond), k2.resumed.Round(100*time.Millisecond), k1.down.Round(100*time.Millisecond), k2.down.Round(100*time.Millisecond),
		stored-events, st.Count, st.Cap, ledgered, calls.received, len(problems), took.Round(time.Second))
}

// killed is one broker the failover scenario killed: its node id, what it
// led when it died, how long the group took to resume (to commit, on
// every partition, a message produced after the dead node's partitions
// had new leaders), and how long the broker was down.
type killed struct {
	node        int
	state       bool
	source      []int
	coordinator bool
	resumed     time.Duration
	// elected is how long until the cluster had moved every partition the
	// node led to another leader; produced, until a message produced after
	// that was stored on every partition (the producer's own failover).
	elected, produced time.Duration
	down              time.Duration
}

// summary is the kill as the RELIABILITY line shows it:
// node<id>:state+p<n>+...+coordinator (what it led).
func (k killed) summary() string {
	led := []string{}
	if k.state {
		led = append(led, "state")
	}
	for _, p := range k.source {
		led = append(led, "p"+strconv.Itoa(p))
	}
	if k.coordinator {
		led = append(led, "coordinator")
	}
	if len(led) == 0 {
		led = append(led, "nothing")
	}
	return fmt.Sprintf("node%d:%s", k.node, strings.Join(led, "+"))
}

// failover SIGKILLs the node choose picks from the current leaders of the
// state topic's and the source topic's partitions (by node id), waits
// until the group has resumed (it committed, on every source partition, a
// message produced after the kill: the sign-ins keep coming) and
// brokerDown has passed, then starts the node again. procs must keep
// running throughout.
func (w *world) failover(ctx context.Context, c *cluster, choose func(state, source map[int][]int, coordinator int) int, procs ...*proc) killed {
	w.t.Helper()
	state, err := c.leaders(ctx, w.state)
	if err != nil {
		w.t.Fatal(err)
	}
	source, err := c.leaders(ctx, w.topic)
	if err != nil {
		w.t.Fatal(err)
	}
	coord, err := c.coordinator(ctx, w.group)
	if err != nil {
		w.t.Fatal(err)
	}
	k := killed{node: choose(state, source, coord)}
	if k.node == 0 {
		w.t.Fatalf("no broker to kill among the leaders: state topic %v, source topic %v", state, source)
	}
	k.state, k.source, k.coordinator = len(state[k.node]) > 0, source[k.node], coord == k.node
	committed, end, err := w.offsets(ctx, w.topic, w.group, w.partitions)
	if err != nil {
		w.t.Fatal(err)
	}
	var lag int64
	for p, e := range end {
		lag += e - max(committed[p], 0)
	}
	at := time.Now()
	c.kill(ctx, k.node)
	w.t.Logf("killed node %d (%s) at %s: lag %d, suspend calls answered %d, end offsets before the kill %v",
		k.node, k.summary(), at.Format("15:04:05.000"), lag, w.sim.calls().answered, end)
	// Offsets at or past base were written after the dead node's
	// partitions had new leaders: base is taken once every partition
	// answers again, so a commit past it is work done after the failover,
	// not the tail of what was written while the node was dying.
	var base map[int]int64
	relWait(w.t, 2*time.Minute, fmt.Sprintf("the group committing a message produced after node %d's partitions had new leaders on every partition, and %s down", k.node, brokerDown), func() (bool, string) {
		if base == nil {
			if !c.ledNothing(ctx, k.node, w.state, w.topic) {
				return false, fmt.Sprintf("node %d still leads partitions of the state or source topic", k.node)
			}
			qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			now := w.ends(qctx)
			cancel()
			if len(now) < w.partitions {
				return false, fmt.Sprintf("end offsets of %d of %d partitions", len(now), w.partitions)
			}
			k.elected, base = time.Since(at), now
		}
		if k.produced == 0 {
			qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			now := w.ends(qctx)
			cancel()
			grown := len(now) == w.partitions
			for p, e := range base {
				grown = grown && now[p] > e
			}
			if grown {
				k.produced = time.Since(at)
			}
		}
		if k.resumed == 0 {
			qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			now, err := w.committed(qctx)
			cancel()
			if err != nil {
				return false, err.Error()
			}
			for _, p := range slices.Sorted(maps.Keys(base)) {
				if now[p] <= base[p] {
					return false, fmt.Sprintf("partition %d committed %d, its end was %d once it had a new leader", p, now[p], base[p])
				}
			}
			k.resumed = time.Since(at)
		}
		return time.Since(at) >= brokerDown, "resumed; waiting out the downtime"
	}, procs...)
	c.start(ctx, k.node)
	k.down = time.Since(at)
	w.t.Logf("node %d back after %s; after the kill, its partitions had new leaders at %s, every partition had a message produced after the kill at %s, the group committed one on every partition at %s",
		k.node, k.down.Round(100*time.Millisecond), k.elected.Round(100*time.Millisecond), k.produced.Round(100*time.Millisecond), k.resumed.Round(100*time.Millisecond))
	return k
}

// settledEnds returns the end offset of every source partition, asking
// again while a partition's leader moves.
func (w *world) settledEnds(ctx context.Context) map[int]int64 {
	w.t.Helper()
	var end map[int]int64
	relWait(w.t, time.Minute, "the end offsets of every source partition", func() (bool, string) {
		_, e, err := w.offsets(ctx, w.topic, "", w.partitions)
		if err != nil {
			return false, err.Error()
		}
		end = e
		return true, ""
	})
	return end
}

// committed returns the group's committed offset of each source
// partition, asking the group coordinator only (a partition whose leader
// is down does not stop the answer).
func (w *world) committed(ctx context.Context) (map[int]int64, error) {
	parts := make([]int, w.partitions)
	for i := range parts {
		parts[i] = i
	}
	of, err := w.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: w.group, Topics: map[string][]int{w.topic: parts}})
	if err == nil {
		err = of.Error
	}
	if err != nil {
		return nil, fmt.Errorf("fetch offsets of group %s: %w", w.group, err)
	}
	out := map[int]int64{}
	for _, p := range of.Topics[w.topic] {
		if p.Error != nil {
			return nil, fmt.Errorf("fetch offset of group %s on %s/%d: %w", w.group, w.topic, p.Partition, p.Error)
		}
		out[p.Partition] = p.CommittedOffset
	}
	return out, nil
}

// ends returns the end offset of each source partition that answers
// (one whose leader is down is left out).
func (w *world) ends(ctx context.Context) map[int]int64 {
	reqs := make([]kafka.OffsetRequest, w.partitions)
	for i := range reqs {
		reqs[i] = kafka.LastOffsetOf(i)
	}
	out := map[int]int64{}
	lo, err := w.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{w.topic: reqs}})
	if err != nil {
		return out
	}
	for _, p := range lo.Topics[w.topic] {
		if p.Error == nil {
			out[p.Partition] = p.LastOffset
		}
	}
	return out
}

// sourceEvents reads the whole source topic (total records) and counts
// the records of each event id: a producer that retries a write the dying
// leader had taken but not acknowledged writes it twice.
func (w *world) sourceEvents(ctx context.Context, total int64) map[string]int {
	w.t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: strings.Split(w.brokers, ","), GroupID: fmt.Sprintf("%s.check.%d", w.topic, time.Now().UnixNano()), Topic: w.topic,
		StartOffset: kafka.FirstOffset, SessionTimeout: 6 * time.Second, MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond,
	})
	defer r.Close()
	ids := map[string]int{}
	for n := int64(0); n < total; n++ {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			w.t.Fatalf("read back %s: %d of %d records: %v", w.topic, n, total, err)
		}
		var v struct {
			UUID string `json:"uuid"`
		}
		if err := json.Unmarshal(m.Value, &v); err != nil {
			w.t.Fatalf("read back %s: record at %d/%d: %v", w.topic, m.Partition, m.Offset, err)
		}
		ids[v.UUID]++
	}
	return ids
}

// consumerProblems returns the consumer's log lines at warn or error.
func consumerProblems(p *proc) []string {
	var out []string
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) {
			out = append(out, line)
		}
	}
	return out
}

// ledgerSuspensions counts the users whose latest record in the world's
// state topic names the suspension tripline made.
func (w *world) ledgerSuspensions(ctx context.Context) int {
	w.t.Helper()
	recs, err := w.stateRecords(ctx)
	if err != nil {
		w.t.Fatalf("read the state topic: %v", err)
	}
	latest := map[string]stateRecord{}
	for _, r := range recs {
		latest[r.Key] = r
	}
	n := 0
	for _, r := range latest {
		if !r.SuspendedAt.IsZero() {
			n++
		}
	}
	return n
}
