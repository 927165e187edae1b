package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/demo"
	"github.com/tripline-dev/tripline/internal/ledger"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/signing"
)

// startupUsers is how many user records the state topic holds.
const startupUsers = 100_000

// startupStateTopic is the state topic the benchmark fills.
const startupStateTopic = "tripline.state.startup"

// BenchmarkLedgerStartup fills a state topic on the embedded broker with
// 100,000 signed user records, as tripline writes them after suspending
// 100,000 users (the stamp of the suspension, its provenance, the event
// id, the rule's cooldown), then starts the consumer binary on it and
// reports the time to ready (/readyz answering 200), the process's peak
// resident memory (VmHWM) and CPU time, and, loading the same topic in
// process, the heap the ledger keeps per user record (the table's
// per-key state included). Goals: ready in at most 3 s, peak RSS at most
// 150 MiB, at most 1 KiB per user record. Run it with
// `make bench-ledger-startup`; STARTUP_PROFILE=dir writes CPU and heap
// profiles of the in-process load there.
func BenchmarkLedgerStartup(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "consumer")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	sb, err := demo.StartSandbox(demo.SandboxConfig{Topics: []string{"signins"}, Seed: opsim.Seed{}, Generate: 20})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Close()
	cfg := sb.Config("startup", "../../rules", "signins")
	cfg.Kafka.StateTopic = startupStateTopic
	keys, err := cfg.Kafka.SigningKeys()
	if err != nil {
		b.Fatal(err)
	}
	records := startupRecords(b, keys)
	fillStateTopic(b, sb.Broker().Addr(), records)
	var ready, peak, cpu []float64
	for range b.N {
		r, p, c := startConsumerUntilReady(b, bin, cfg)
		ready, peak, cpu = append(ready, r.Seconds()), append(peak, float64(p)/(1<<20)), append(cpu, c.Seconds())
	}
	perUser := ledgerHeapPerUser(b, sb.Broker().Addr(), keys)
	b.ReportMetric(median(ready), "ready-s")
	b.ReportMetric(median(peak), "peak-RSS-MiB")
	b.ReportMetric(median(cpu)/startupUsers*1e6, "cpu-us/user")
	b.ReportMetric(perUser, "ledger-heap-B/user")
	b.Logf("%d signed user records: ready in %.2f s, peak RSS %.0f MiB, CPU %.2f s, ledger heap %.0f B per user record (runs: ready %v s, RSS %v MiB)",
		startupUsers, median(ready), median(peak), median(cpu), perUser, ready, peak)
}

// startupRecords returns the records tripline writes after suspending
// startupUsers users, signed under keys.
func startupRecords(b *testing.B, keys *signing.Keyring) []remediate.StoredRecord {
	b.Helper()
	capture := &captureStore{}
	now := time.Now().Add(-time.Hour)
	led := remediate.NewLedger(capture, remediate.LedgerConfig{Instance: "tripline-7d9f8c6b5-x2k4q", Keys: keys})
	rules := []string{"okta_impossible_travel", "entra_risky_signin_high", "okta_mfa_fatigue", "cloudtrail_root_console_login"}
	for i := range startupUsers {
		at := now.Add(time.Duration(i) * 10 * time.Millisecond)
		rule := rules[i%len(rules)]
		st := remediate.Stamp{Rule: rule, Event: fmt.Sprintf("evt-%08x-4b1d-4c1e-9f0a-%012x", i, i*7919), Action: "suspend",
			Result: "suspended", Before: "ACTIVE", At: at, Instance: "tripline-7d9f8c6b5-x2k4q", Hold: at.Add(-40 * time.Millisecond)}
		e := remediate.UserEntry{UserID: fmt.Sprintf("U%025d", i), Last: &st, Events: []string{st.Event},
			Cooldowns: map[string]time.Time{rule: at}}
		sb := st
		e.SuspendedBy = &sb
		if err := led.PutUser(b.Context(), e); err != nil {
			b.Fatal(err)
		}
	}
	return capture.records
}

// captureStore keeps what the ledger writes.
type captureStore struct{ records []remediate.StoredRecord }

func (c *captureStore) Put(_ context.Context, key string, value []byte, signature string) error {
	c.records = append(c.records, remediate.StoredRecord{Key: key, Value: value, Signature: signature})
	return nil
}

// fillStateTopic creates the state topic as tripline does (compacted, one
// partition) and writes records to it.
func fillStateTopic(b *testing.B, addr string, records []remediate.StoredRecord) {
	b.Helper()
	tbl, err := ledger.New(ledger.Config{Brokers: []string{addr}, Topic: startupStateTopic, Create: true, Partitions: 1}, func(string, []byte, string) {})
	if err != nil {
		b.Fatal(err)
	}
	if err := tbl.Load(b.Context()); err != nil {
		b.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(addr), Topic: startupStateTopic, BatchSize: 1000, BatchBytes: 512 << 10, BatchTimeout: 10 * time.Millisecond, RequiredAcks: kafka.RequireAll}
	defer w.Close()
	msgs := make([]kafka.Message, 0, len(records))
	for _, r := range records {
		msgs = append(msgs, kafka.Message{Key: []byte(r.Key), Value: r.Value, Headers: []kafka.Header{{Key: ledger.HeaderSignature, Value: []byte(r.Signature)}}})
	}
	for len(msgs) > 0 {
		n := min(len(msgs), 10_000)
		if err := w.WriteMessages(b.Context(), msgs[:n]...); err != nil {
			var werrs kafka.WriteErrors
			if errors.As(err, &werrs) && len(werrs) > 0 {
				err = fmt.Errorf("%d of %d records not written; first: %w", werrs.Count(), len(werrs), cmp.Or(firstErr(werrs), err))
			}
			b.Fatal(err)
		}
		msgs = msgs[n:]
	}
}

// firstErr returns the first error of errs (nil when there is none).
func firstErr(errs kafka.WriteErrors) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// startConsumerUntilReady starts the consumer binary on cfg and returns how
// long it took to answer /readyz with 200, its peak RSS and its CPU time
// then; it stops the process.
func startConsumerUntilReady(b *testing.B, bin string, cfg config.Config) (time.Duration, int64, time.Duration) {
	b.Helper()
	addr := startupAddr(b)
	var stderr strings.Builder
	cmd := exec.Command(bin, "run")
	cmd.Env = append(os.Environ(), cliEnv(cfg)...)
	cmd.Env = append(cmd.Env, "TRIPLINE_HTTP_ADDR="+addr, "TRIPLINE_LOG_LEVEL=info",
		"TRIPLINE_DLQ_SIGNING_KEY="+cfg.Kafka.DLQSigningKey.Reveal())
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	client := &http.Client{Timeout: time.Second}
	deadline := start.Add(2 * time.Minute)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if res, err := client.Get("http://" + addr + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("the consumer was not ready in 2 minutes:\n%s", stderr.String())
		}
		<-tick.C
	}
	took := time.Since(start)
	peak := peakRSS(b, cmd.Process.Pid)
	cpu := processCPU(b, cmd.Process.Pid)
	for line := range strings.Lines(stderr.String()) {
		if strings.Contains(line, `"action ledger loaded"`) {
			if _, rest, ok := strings.Cut(line, `"took":"`); ok {
				load, _, _ := strings.Cut(rest, `"`)
				b.Logf("ready in %s (the ledger's load took %s), peak RSS %.0f MiB, CPU %s", took.Round(time.Millisecond), load, float64(peak)/(1<<20), cpu)
			}
		}
	}
	return took, peak, cpu
}

// processCPU reads a process's user plus system CPU time.
func processCPU(b *testing.B, pid int) time.Duration {
	b.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which may hold spaces): utime and
	// stime are the 14th and 15th fields of the line.
	rest := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseInt(rest[11], 10, 64)
	stime, _ := strconv.ParseInt(rest[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// ledgerHeapPerUser loads the state topic in this process, as the consumer
// does, and returns the live heap it keeps per user record.
func ledgerHeapPerUser(b *testing.B, addr string, keys *signing.Keyring) float64 {
	b.Helper()
	dir := os.Getenv("STARTUP_PROFILE")
	if dir != "" {
		f, err := os.Create(filepath.Join(dir, "startup-cpu.pprof"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
	}
	before := liveHeap()
	led := remediate.NewLedger(nil, remediate.LedgerConfig{Instance: "bench", Keys: keys})
	tbl, err := ledger.New(ledger.Config{Brokers: []string{addr}, Topic: startupStateTopic, Partitions: 1}, led.Apply)
	if err != nil {
		b.Fatal(err)
	}
	led.SetStore(tbl)
	start := time.Now()
	if err := tbl.Load(b.Context()); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	if n := led.Users(); n != startupUsers {
		b.Fatalf("ledger holds %d users, want %d (refused: %v)", n, startupUsers, led.RefusedCounts())
	}
	if dir != "" {
		pprof.StopCPUProfile()
	}
	after := liveHeap()
	if dir != "" {
		f, err := os.Create(filepath.Join(dir, "startup-heap.pprof"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.WriteHeapProfile(f); err != nil {
			b.Fatal(err)
		}
	}
	runtime.KeepAlive(tbl)
	runtime.KeepAlive(led)
	b.Logf("in-process load of %d user records: %s", startupUsers, took.Round(time.Millisecond))
	return float64(after-before) / startupUsers
}

// liveHeap returns the bytes of live heap objects after a collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// startupAddr returns a free loopback address.
func startupAddr(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// median returns the median of xs (the upper one of an even count).
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	return s[len(s)/2]
}
