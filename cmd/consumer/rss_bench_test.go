package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/demo"
	"github.com/tripline-dev/tripline/internal/opsim"
)

// BenchmarkRSSUnderMaxSizeMessages runs the consumer binary against the
// embedded broker while 400 sign-ins of almost 1 MiB each (the largest event
// the decoder takes), each for a distinct user the account does not know,
// stream in, and reports the process's peak resident memory (VmHWM): what
// windows, caches and keys keep of them must stay bounded.
// Run it with `make bench-rss`.
func BenchmarkRSSUnderMaxSizeMessages(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "consumer")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	const messages = 400
	for range b.N {
		sb, err := demo.StartSandbox(demo.SandboxConfig{Topics: []string{"signins"}, Seed: opsim.Seed{}, Generate: 20})
		if err != nil {
			b.Fatal(err)
		}
		cfg := sb.Config("rss", "../../rules", "signins")
		var msgs []kafka.Message
		pad := strings.Repeat("x", (1<<20)-2048)
		for i := range messages {
			v := oktaSignIn(fmt.Sprint("big", i), fmt.Sprintf("stranger%05d@example.com", i), "HIGH")
			v = append(v[:len(v)-1], fmt.Sprintf(`,"displayMessage":%q}`, pad)...)
			msgs = append(msgs, kafka.Message{Key: []byte(fmt.Sprint(i)), Value: v})
		}
		w := &kafka.Writer{Addr: kafka.TCP(sb.Broker().Addr()), Topic: "signins", Balancer: &kafka.Hash{}, BatchBytes: 2 << 20, BatchSize: 1, RequiredAcks: kafka.RequireAll}
		if err := w.WriteMessages(b.Context(), msgs...); err != nil {
			b.Fatal(err)
		}
		w.Close()
		msgs = nil
		cmd := exec.Command(bin, "run")
		cmd.Env = append(os.Environ(), cliEnv(cfg)...)
		cmd.Env = append(cmd.Env, "TRIPLINE_KAFKA_MAX_BYTES=2097152", "TRIPLINE_LOG_LEVEL=error")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		deadline := time.Now().Add(3 * time.Minute)
		for {
			bounds, err := sb.Conn().PartitionBounds(b.Context(), "signins", cfg.Kafka.GroupID)
			done := err == nil
			for _, bd := range bounds {
				done = done && bd.Next >= bd.End
			}
			if done {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				b.Fatal("the consumer did not commit the stream in 3 minutes")
			}
			time.Sleep(100 * time.Millisecond)
		}
		b.StopTimer()
		peak := peakRSS(b, cmd.Process.Pid)
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		sb.Close()
		b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
		b.Logf("%d messages of ~1 MiB for distinct unknown users: peak RSS %.0f MiB", messages, float64(peak)/(1<<20))
	}
}

// peakRSS reads a process's peak resident set size (VmHWM) in bytes.
func peakRSS(b *testing.B, pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmHWM")
	return 0
}
