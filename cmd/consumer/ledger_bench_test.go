package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/demo"
)

const (
	// ledgerUsers is how many distinct users BenchmarkLedgerRate suspends,
	// one risky sign-in each, and how many the simulator holds.
	ledgerUsers = 50_000
	// ledgerSpan is how many suspensions the first and the last rate
	// cover.
	ledgerSpan = 10_000
	// ledgerPartitions is the source topic's partition count.
	ledgerPartitions = 6
)

// syncTimeoutLog is what the consumer logs (at warn) when a breaker
// decision could not sync its ledger with the state topic in time.
var syncTimeoutLog = []byte("cannot read the other instances' latest suspensions")

// BenchmarkLedgerRate measures whether the consumer's suspension rate
// holds up as its history grows: the embedded broker, the Users API
// simulator holding ledgerUsers users, the shipped rules with every cap
// raised far above the run (global breaker and each rule's max_actions, so
// every decision takes a breaker hold and counts its windows), and one
// risky sign-in for each of the ledgerUsers users, produced before the
// consumer (Main, as `consumer run` wires it) starts. From the times the
// simulator answered each suspend call it reports the rate over the first
// ledgerSpan suspensions and over the last ledgerSpan, their ratio (goal
// >= 0.8: the work per suspension does not grow with history) and the
// ledger syncs that timed out (the consumer's "breaker: cannot read the
// other instances' latest suspensions" warnings, counted in its log; goal
// 0).
//
// LEDGER_PROFILE_DIR, when set, receives a CPU profile of the process
// (consumer, broker and simulator together) over the first and the last
// ledgerSpan suspensions: first.pprof and last.pprof. It also reports the
// process's CPU time per suspension over both spans, which the machine's
// other load sways less than the rates.
//
// Run it with make bench-ledger (-benchtime=1x; about two minutes).
func BenchmarkLedgerRate(b *testing.B) {
	var res ledgerResult
	for range b.N {
		res = runLedgerRate(b)
	}
	b.ReportMetric(res.first, "first-10k-susp/s")
	b.ReportMetric(res.last, "last-10k-susp/s")
	b.ReportMetric(res.last/res.first, "ratio")
	b.ReportMetric(float64(res.syncTimeouts), "sync-timeouts")
	b.ReportMetric(res.total.Seconds(), "total-s")
	b.ReportMetric(float64(res.firstCPU.Microseconds()), "first-cpu-us/susp")
	b.ReportMetric(float64(res.lastCPU.Microseconds()), "last-cpu-us/susp")
	b.ReportMetric(0, "ns/op")
	b.Logf("%d suspensions in %.1f s: first %d at %.0f/s, last %d at %.0f/s, ratio %.2f (goal >= 0.8); per 10,000: %s; ledger syncs timed out: %d (goal 0); CPU per suspension (consumer, broker and simulator) %s first, %s last",
		ledgerUsers, res.total.Seconds(), ledgerSpan, res.first, ledgerSpan, res.last, res.last/res.first, res.steps, res.syncTimeouts,
		res.firstCPU.Round(time.Microsecond), res.lastCPU.Round(time.Microsecond))
	if res.syncTimeouts > 0 {
		b.Errorf("%d ledger syncs timed out, want 0", res.syncTimeouts)
	}
}

// ledgerResult is what one run of BenchmarkLedgerRate measured.
type ledgerResult struct {
	first, last  float64 // suspensions per second
	steps        string  // the rate over each successive ledgerSpan
	total        time.Duration
	syncTimeouts int
	// firstCPU and lastCPU are the process's CPU time per suspension
	// over the first and the last span: less sensitive than the rates to
	// the machine's other load.
	firstCPU, lastCPU time.Duration
}

// runLedgerRate runs one measurement on a fresh world.
func runLedgerRate(b *testing.B) ledgerResult {
	sb, err := demo.StartSandbox(demo.SandboxConfig{Topics: []string{"siem.signins"}, Partitions: ledgerPartitions, Generate: ledgerUsers})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Close()
	clock := newSuspendClock(sb.Sim())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: clock, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	cfg := sb.Config("ledger-rate", raisedRules(b, 10*ledgerUsers), "siem.signins")
	cfg.Breaker.Global = fmt.Sprintf("%d/1h", 10*ledgerUsers)
	cfg.OnePassword.BaseURL = "http://" + ln.Addr().String()
	cfg.Retry.MaxElapsed = time.Minute
	if err := sb.Conn().Produce(b.Context(), "siem.signins", records(riskyMessages(1, ledgerUsers))...); err != nil {
		b.Fatal(err)
	}
	ids := make([]string, ledgerUsers)
	for i := range ids {
		u, ok := sb.Sim().UserByEmail(fmt.Sprintf("user%05d@example.com", i+1))
		if !ok {
			b.Fatalf("the simulator has no user%05d", i+1)
		}
		ids[i] = u.ID
	}

	logs := &lineCounter{match: syncTimeoutLog}
	ctx, cancel := context.WithCancel(b.Context())
	m, err := app.NewMain(ctx, cfg, app.Options{Log: logs, Lookup: func(string) (string, bool) { return "", false }})
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
		m.Close()
	}()

	// CPU time of the whole process (consumer, broker, simulator) at the
	// first suspension, after the first span, before and after the last.
	var cpu [4]time.Duration
	profile := newPhaseProfiler(b, os.Getenv("LEDGER_PROFILE_DIR"))
	waitCtx, stop := context.WithTimeout(ctx, 10*time.Minute)
	defer stop()
	for i, phase := range []struct {
		until   int
		profile string // the phase that starts once until users are suspended
	}{{1, "first"}, {ledgerSpan, ""}, {ledgerUsers - ledgerSpan, "last"}, {ledgerUsers, ""}} {
		if n := waitAnswered(waitCtx, clock, phase.until); n < phase.until {
			b.Fatalf("%d of %d users suspended within ten minutes", n, phase.until)
		}
		cpu[i] = selfCPU()
		profile.stop()
		if phase.profile != "" {
			profile.start(phase.profile)
		}
	}

	at := make([]time.Time, 0, ledgerUsers)
	for _, id := range ids {
		t, _ := clock.at(id)
		at = append(at, t)
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	rate := func(from, to int) float64 { return float64(to-from-1) / at[to-1].Sub(at[from]).Seconds() }
	var steps []string
	for i := 0; i+ledgerSpan <= len(at); i += ledgerSpan {
		steps = append(steps, strconv.FormatFloat(rate(i, i+ledgerSpan), 'f', 0, 64))
	}
	return ledgerResult{
		first:        rate(0, ledgerSpan),
		last:         rate(len(at)-ledgerSpan, len(at)),
		steps:        fmt.Sprint(steps),
		total:        at[len(at)-1].Sub(at[0]),
		syncTimeouts: logs.count(),
		firstCPU:     (cpu[1] - cpu[0]) / (ledgerSpan - 1),
		lastCPU:      (cpu[3] - cpu[2]) / ledgerSpan,
	}
}

// waitAnswered waits until the clock has seen n users suspended or ctx is
// done, and returns how many it has seen. It counts every suspension the
// clock saw: in this benchmark each is one of the risky users.
func waitAnswered(ctx context.Context, clock *suspendClock, n int) int {
	for {
		clock.mu.Lock()
		got, more := len(clock.answered), clock.notify
		clock.mu.Unlock()
		if got >= n {
			return got
		}
		select {
		case <-ctx.Done():
			return got
		case <-more:
		}
	}
}

// lineCounter is a log sink that counts the writes (the JSON handler
// writes one line at a time) holding match.
type lineCounter struct {
	match []byte
	mu    sync.Mutex
	n     int
}

func (c *lineCounter) Write(p []byte) (int, error) {
	if bytes.Contains(p, c.match) {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	}
	return len(p), nil
}

func (c *lineCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// phaseProfiler writes a CPU profile of each phase to dir ("" : none).
type phaseProfiler struct {
	b   *testing.B
	dir string
	f   *os.File
}

func newPhaseProfiler(b *testing.B, dir string) *phaseProfiler {
	return &phaseProfiler{b: b, dir: dir}
}

func (p *phaseProfiler) start(name string) {
	if p.dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(p.dir, name+".pprof"))
	if err != nil {
		p.b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		p.b.Fatal(err)
	}
	p.f = f
}

func (p *phaseProfiler) stop() {
	if p.f == nil {
		return
	}
	pprof.StopCPUProfile()
	p.f.Close()
	p.f = nil
}
