//go:build kafka

package kafka

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/eventtest"
	"github.com/tripline-dev/tripline/internal/kafkatest"
	"github.com/tripline-dev/tripline/internal/opsim"
)

// Figures of TestReliabilityLedgerRate.
const (
	ledgerRateUsers = 50_000
	ledgerRateSpan  = 10_000
	// ledgerRateMinRatio is the lowest rate over the last span the
	// scenario accepts, as a share of the rate over the first.
	ledgerRateMinRatio = 0.8
)

// ledgerRateRule is the risky rule with a max_actions far above the run,
// so that every decision counts its rule's window as well as the global
// one.
var ledgerRateRule = strings.Replace(eventtest.RiskyRule, "    action: suspend\n",
	fmt.Sprintf("    action: suspend\n    max_actions: %d/1h\n", 10*ledgerRateUsers), 1)

// syncTimeoutLine is what the consumer logs when a breaker decision could
// not read the state topic up to its end in time.
const syncTimeoutLine = "cannot read the other instances' latest suspensions"

// TestReliabilityLedgerRate suspends ledgerRateUsers users one after the
// other, one risky sign-in each, produced before one consumer process
// starts, with the global breaker and the rule's max_actions raised far
// above the run: every decision syncs the ledger with the state topic,
// counts both windows (every suspension made so far is in them) and writes
// its hold. The rate over the last ledgerRateSpan suspensions (the
// simulator's answers) must be at least 0.8 times the rate over the first:
// the work per suspension does not grow with history. No ledger sync may
// time out (the consumer's warning, counted in its log). It takes about
// three minutes on a 2-core machine.
func TestReliabilityLedgerRate(t *testing.T) {
	const partitions = 6
	brokers := kafkatest.Brokers(t)
	s := startSim(t, opsim.Seed{}, ledgerRateUsers)
	w := newWorld(t, brokers, partitions, s)
	if err := eventtest.WriteRulesDir(w.rulesDir, ledgerRateRule); err != nil {
		t.Fatal(err)
	}
	w.env["TRIPLINE_BREAKER_GLOBAL"] = fmt.Sprintf("%d/1h", 10*ledgerRateUsers)
	w.env["TRIPLINE_LOG_LEVEL"] = "warn" // 50,000 suspensions: keep the warnings
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	emails := make([]string, ledgerRateUsers)
	msgs := make([]kafka.Message, ledgerRateUsers)
	for i := range emails {
		emails[i] = userEmail(i + 1)
		msgs[i] = kafka.Message{Key: []byte(emails[i]), Value: oktaSignIn(fmt.Sprint("rate-", i+1), emails[i], "HIGH")}
	}
	w.produce(ctx, msgs...)
	p := w.start("consumer-a")
	start := time.Now()
	relWait(t, 12*time.Minute, "every risky user suspended", func() (bool, string) {
		n := s.calls().answered
		return n >= ledgerRateUsers, fmt.Sprintf("%d suspend calls answered", n)
	}, p)
	took := time.Since(start)
	relWait(t, time.Minute, "the group committed the end of the topic", w.drained(emails), p)
	p.stop(t, 30*time.Second)

	s.mu.Lock()
	at := slices.Clone(s.answeredAt)
	s.mu.Unlock()
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	rate := func(from, to int) float64 { return float64(to-from-1) / at[to-1].Sub(at[from]).Seconds() }
	var steps []string
	for i := 0; i+ledgerRateSpan <= len(at); i += ledgerRateSpan {
		steps = append(steps, fmt.Sprintf("%.0f", rate(i, i+ledgerRateSpan)))
	}
	first, last := rate(0, ledgerRateSpan), rate(len(at)-ledgerRateSpan, len(at))
	timeouts := strings.Count(p.stderr.String(), syncTimeoutLine)
	if last < ledgerRateMinRatio*first {
		t.Errorf("suspension rate over the last %d: %.0f/s, over the first %d: %.0f/s; ratio %.2f, want >= %.1f (per %d: %s)",
			ledgerRateSpan, last, ledgerRateSpan, first, last/first, ledgerRateMinRatio, ledgerRateSpan, strings.Join(steps, " "))
	}
	if timeouts > 0 {
		t.Errorf("%d ledger syncs timed out, want 0", timeouts)
	}

	c := s.calls()
	suspended := s.suspended(emails)
	assertOneCallEach(t, c, suspended)
	f := figures{events: len(msgs), risky: len(emails), suspended: suspended, callsPerRisky: c.perRisky(suspended)}
	f.committedAtEnd = w.assertCommittedAtEnd(int64(len(msgs)))
	f.wronglySuspended = w.assertNoneWronglySuspended(emails)
	f.dlq = len(w.deadLetters())
	report(t, "ledger-rate", f, "partitions=%d first_%d_per_s=%.0f last_%d_per_s=%.0f ratio=%.2f per_%d=%s sync_timeouts=%d took=%s",
		partitions, ledgerRateSpan, first, ledgerRateSpan, last, last/first, ledgerRateSpan, strings.Join(steps, "/"), timeouts, took.Round(100*time.Millisecond))
}
