//go:build kafka

package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/kafkatest"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// TestReliabilityBreakerAcrossInstances runs three consumer processes in
// one group (6 partitions, one state topic) with a global breaker of 30
// suspensions per 10 minutes, and produces a burst of 200 risky sign-ins of
// distinct users, each suspend call taking 25 ms, interleaved with 400
// benign sign-ins and near misses of 200 other users, who must all stay
// ACTIVE to the end (after the replay too).
//
// The breaker must trip, and the suspensions must stay within the cap plus
// the cross-instance allowance. Before each suspension an instance syncs
// its ledger with the state topic, counts the suspensions made and the
// holds in flight on every instance, and writes its own hold, one decision
// at a time per instance: a decision misses only the holds other instances
// wrote while it counted, at most one per other instance. The bound is
// therefore cap + instances - 1 = 32.
// Every other risky decision must be dead-lettered as breaker_open, and
// every instance must see the breaker open (/readyz names it,
// tripline_breaker_open is 1).
//
// Then `consumer breaker status` must show it OPEN, `consumer breaker reset`
// must re-arm it on every instance, and `consumer dlq replay --execute` (one
// process, so the cap is exact) must act on exactly 30 of the held decisions
// (the cap again, counted from the re-arm), hold the rest again, and suspend
// nobody twice.
func TestReliabilityBreakerAcrossInstances(t *testing.T) {
	const burst, benign, limit, partitions, instances = 200, 200, 30, 6, 3
	allowance := instances - 1 // one hold per other instance, written while one counted
	bound := limit + allowance
	brokers := kafkatest.Brokers(t)
	s := startSim(t, opsim.Seed{}, burst+benign)
	w := newWorld(t, brokers, partitions, s)
	w.env["TRIPLINE_BREAKER_GLOBAL"] = fmt.Sprintf("%d/10m", limit)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// Each suspend call takes 25 ms (a real Users API call takes longer), so
	// many suspensions are in flight on every instance at once.
	s.SetFaults(opsim.Faults{opsim.EndpointSuspend: {Latency: 25 * time.Millisecond}})
	var procs []*proc
	for i := range instances {
		procs = append(procs, w.start(fmt.Sprintf("consumer-%c", 'a'+i)))
	}
	relWait(t, 2*time.Minute, "three members sharing the partitions", w.spread(procs...), procs...)
	_, owned, err := w.assignment(ctx)
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]kafka.Message, 0, 3*burst)
	emails := make([]string, 0, burst)
	for i := 1; i <= burst; i++ {
		e := userEmail(i)
		emails = append(emails, e)
		msgs = append(msgs, kafka.Message{Key: []byte(e), Value: oktaSignIn(fmt.Sprint("burst-", i), e, "HIGH")})
		for j := range 2 { // users burst+1 .. burst+benign: benign sign-ins only
			b := userEmail(burst + 1 + (2*i+j)%benign)
			msgs = append(msgs, kafka.Message{Key: []byte(b), Value: benignSignIn(fmt.Sprint("benign-", i, "-", j), b, 2*i+j)})
		}
	}
	start := time.Now()
	w.produce(ctx, msgs...)
	relWait(t, 2*time.Minute, "every risky sign-in of the burst decided and committed", w.drained(nil), procs...)
	took := time.Since(start)

	// The trip: suspensions within the bound, the rest held in the DLQ.
	suspended := s.suspended(emails)
	var trippedBy []string
	for _, p := range procs {
		if strings.Contains(p.stderr.String(), "breaker tripped") {
			trippedBy = append(trippedBy, p.name)
		}
	}
	if len(trippedBy) == 0 {
		t.Errorf("no instance logged \"breaker tripped\"")
	}
	if suspended < limit || suspended > bound {
		t.Errorf("%d users suspended by the burst, want %d to %d (cap %d, plus at most one hold per other instance)", suspended, limit, bound, limit)
		w.logState()
	}
	held := w.deadLetters()
	heldKeys := assertHeld(t, s, held, 1)
	if len(held) != burst-suspended {
		t.Errorf("DLQ holds %d records, want %d (the burst minus the %d suspended)", len(held), burst-suspended, suspended)
	}
	for _, e := range emails {
		if s.state(e) != "SUSPENDED" && !heldKeys[e] {
			t.Errorf("risky user %s neither suspended nor held in the DLQ", e)
		}
	}
	c := s.calls()
	if c.received != int64(suspended) || c.answered != int64(suspended) {
		t.Errorf("%d suspend calls (%d answered) for %d suspended users, want one each", c.received, c.answered, suspended)
	}

	// Every instance sees it open.
	relWait(t, 30*time.Second, "every instance's /readyz naming the open breaker", readyzLists("breaker open: global", true, procs...), procs...)
	gauge := regexp.MustCompile(`(?m)^tripline_breaker_open\{[^}]*scope="global"[^}]*\} 1$`)
	var breakerOpenAudits []string
	for _, p := range procs {
		if m := scrape(t, "http://"+p.httpAddr+"/metrics"); !gauge.MatchString(m) {
			t.Errorf("%s: /metrics has no tripline_breaker_open{scope=\"global\"} 1", p.name)
		}
		breakerOpenAudits = append(breakerOpenAudits, strconv.Itoa(p.auditLines(string(remediate.ResultBreakerOpen))))
	}

	// breaker status, then reset.
	out, _ := w.mustCLI(ctx, "breaker", "status")
	if !hasStatusLine(out, "global", "OPEN") {
		t.Errorf("consumer breaker status does not show global OPEN:\n%s", out)
	}
	out, _ = w.mustCLI(ctx, "breaker", "status", "--json")
	st := breakerJSON(t, out, "global")
	if !st.Open || st.Count != suspended || st.Cap != limit {
		t.Errorf("consumer breaker status --json: global %+v, want open with count %d (the suspended users) and cap %d", st, suspended, limit)
	}
	out, _ = w.mustCLI(ctx, "breaker", "reset", "--scope", "global", "--by", "suite", "--reason", "test")
	if !strings.Contains(out, "re-armed breaker global") {
		t.Errorf("consumer breaker reset printed:\n%s", out)
	}
	rearmStart := time.Now()
	relWait(t, 30*time.Second, "every instance's /readyz without the breaker", readyzLists("breaker open: global", false, procs...), procs...)
	rearmSeen := time.Since(rearmStart)
	out, _ = w.mustCLI(ctx, "breaker", "status")
	if !hasStatusLine(out, "global", "armed") {
		t.Errorf("consumer breaker status after the reset does not show global armed:\n%s", out)
	}

	// Replay the held decisions: the cap again from the re-arm.
	before := s.suspended(emails)
	out, errOut := w.mustCLI(ctx, "dlq", "replay", "--execute")
	after := s.suspended(emails)
	wantActed := min(limit, len(held))
	sum := replaySummary(t, errOut)
	if sum.replayed != len(held) || sum.acted != wantActed || sum.stillFailing != len(held)-wantActed || sum.nothing != 0 {
		t.Errorf("dlq replay: replayed %d, acted %d, still failing %d, nothing to do %d; want %d, %d, %d, 0\n%s",
			sum.replayed, sum.acted, sum.stillFailing, sum.nothing, len(held), wantActed, len(held)-wantActed, lastBytes(errOut, 2048))
	}
	if after-before != wantActed {
		t.Errorf("the replay suspended %d more users, want %d (the cap after the re-arm)", after-before, wantActed)
	}
	if t.Failed() {
		t.Logf("consumer dlq replay --execute, stderr:\n%s", errOut)
		w.logState()
	}
	if n := strings.Count(out, "still_failing class="+remediate.ClassBreakerOpen); n != len(held)-wantActed {
		t.Errorf("dlq replay printed %d records still failing as breaker_open, want %d", n, len(held)-wantActed)
	}
	all := w.deadLetters()
	if len(all) != len(held)+len(held)-wantActed {
		t.Errorf("DLQ holds %d records after the replay, want %d held plus %d held again", len(all), len(held), len(held)-wantActed)
	}
	var first, second []kafka.Message // read across partitions: split by attempts
	for _, m := range all {
		if deadLetterOf(m).Attempts == 1 {
			first = append(first, m)
		} else {
			second = append(second, m)
		}
	}
	if len(first) != len(held) {
		t.Errorf("DLQ holds %d first-attempt records after the replay, want the %d held before", len(first), len(held))
	}
	again := assertHeld(t, s, second, 2)
	for e := range again {
		if !heldKeys[e] {
			t.Errorf("%s held again but was not held before", e)
		}
	}
	c = s.calls()
	if c.received != int64(after) || c.answered != int64(after) || len(c.twice) > 0 {
		t.Errorf("%d suspend calls (%d answered) for %d suspended users, want one each (suspended twice: %v)", c.received, c.answered, after, c.twice)
	}
	if len(held) > limit {
		// The replay tripped the breaker again; the instances see that too.
		relWait(t, 30*time.Second, "every instance's /readyz naming the breaker the replay tripped", readyzLists("breaker open: global", true, procs...), procs...)
	}
	for _, p := range procs {
		p.stop(t, 30*time.Second)
	}
	f := figures{events: len(msgs), risky: burst, suspended: after, callsPerRisky: c.perRisky(after), dlq: len(all)}
	f.committedAtEnd = w.assertCommittedAtEnd(int64(len(msgs)))
	f.wronglySuspended = w.assertNoneWronglySuspended(emails)

	report(t, "breaker", f, "users=%d benign_users=%d instances=%d partitions=%d owned=%s cap=%d bound=%d suspended_by_burst=%d extra=%d held=%d held_classes=%v tripped_by=%s breaker_open_audits=%s readyz_open=%d/%d rearm_seen_in=%s replay_acted=%d replay_held_again=%d suspend_calls=%d took=%s",
		burst+benign, benign, instances, partitions, ownedCounts(owned), limit, bound, suspended, suspended-limit, len(held), classCounts(held),
		strings.Join(trippedBy, "+"), strings.Join(breakerOpenAudits, "/"), instances, instances, rearmSeen.Round(100*time.Millisecond),
		sum.acted, sum.stillFailing, c.received, took.Round(100*time.Millisecond))
}

// assertHeld checks that every record is a breaker_open dead letter of a
// user who is not suspended, with the attempts given, at most one per user,
// and returns their keys (emails).
func assertHeld(t *testing.T, s *sim, records []kafka.Message, attempts int) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	for _, m := range records {
		k := string(m.Key)
		d := deadLetterOf(m)
		if d.Class != remediate.ClassBreakerOpen || d.Attempts != attempts {
			t.Errorf("DLQ record %s: class %q attempts %d, want %s and %d", k, d.Class, d.Attempts, remediate.ClassBreakerOpen, attempts)
		}
		if keys[k] {
			t.Errorf("%s held twice", k)
		}
		keys[k] = true
		if st := s.state(k); st != "ACTIVE" {
			t.Errorf("%s held in the DLQ but %s", k, st)
		}
	}
	return keys
}

// hasStatusLine reports whether `consumer breaker status` output has a row
// for scope in state.
func hasStatusLine(out, scope, state string) bool {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == scope && f[1] == state {
			return true
		}
	}
	return false
}

// breakerScope is one line of `consumer breaker status --json`.
type breakerScope struct {
	Scope string `json:"scope"`
	Open  bool   `json:"open"`
	Count int    `json:"count"`
	Cap   int    `json:"cap"`
}

func breakerJSON(t *testing.T, out, scope string) breakerScope {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var b breakerScope
		if err := dec.Decode(&b); err != nil {
			t.Fatalf("consumer breaker status --json: %v\n%s", err, out)
		}
		if b.Scope == scope {
			return b
		}
	}
	t.Fatalf("consumer breaker status --json has no scope %s:\n%s", scope, out)
	return breakerScope{}
}

type replayCounts struct{ replayed, acted, stillFailing, nothing int }

var replayLine = regexp.MustCompile(`replayed (\d+): acted (\d+), still failing (\d+), nothing to do (\d+)`)

// replaySummary parses the summary `consumer dlq replay --execute` prints
// on stderr.
func replaySummary(t *testing.T, stderr string) replayCounts {
	t.Helper()
	m := replayLine.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no summary in the output of consumer dlq replay:\n%s", lastBytes(stderr, 4096))
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	return replayCounts{n(1), n(2), n(3), n(4)}
}

// ownedCounts lists how many partitions each member owned, sorted.
func ownedCounts(owned map[string][]int) string {
	var counts []string
	for _, parts := range owned {
		counts = append(counts, strconv.Itoa(len(parts)))
	}
	slices.Sort(counts)
	return strings.Join(counts, "/")
}
