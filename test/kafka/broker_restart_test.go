//go:build kafka

package kafka

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/devbroker"
	"github.com/tripline-dev/tripline/internal/kafkatest"
)

// restartable is a broker the test may stop and start again on the same
// address with its data intact.
type restartable struct {
	addr    string
	restart func(t *testing.T) time.Duration // returns how long it was down
}

// restartableBroker returns the external broker when KAFKA_BROKERS is set
// (restarted through the pid file scripts/kafka-local.sh keeps), else an
// embedded broker persisted in a data directory.
func restartableBroker(t *testing.T) restartable {
	t.Helper()
	if kafkatest.External() {
		addr := strings.Split(strings.TrimSpace(os.Getenv(kafkatest.EnvBrokers)), ",")[0]
		return restartable{addr: addr, restart: func(t *testing.T) time.Duration { return restartLocalKafka(t, addr) }}
	}
	dir := t.TempDir()
	cfg := devbroker.Config{Listen: "127.0.0.1:0", DataDir: dir, MinSessionTimeout: kafkatest.MinSessionTimeout}
	b, err := devbroker.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cur := &b
	t.Cleanup(func() { (*cur).Close() })
	addr := b.Addr()
	return restartable{addr: addr, restart: func(t *testing.T) time.Duration {
		start := time.Now()
		(*cur).Close()
		time.Sleep(2 * time.Second)
		cfg.Listen = addr
		nb, err := devbroker.Start(cfg)
		if err != nil {
			t.Fatalf("restart embedded broker on %s: %v", addr, err)
		}
		*cur = nb
		return time.Since(start)
	}}
}

// restartLocalKafka stops the broker scripts/kafka-local.sh started on
// addr's port (SIGTERM, as `down` does, but keeping its data), starts the
// same command line again, records the new pid in the pid file so `down`
// still works, and waits until the broker answers metadata requests.
func restartLocalKafka(t *testing.T, addr string) time.Duration {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("KAFKA_BROKERS %q: %v", addr, err)
	}
	cache := os.Getenv("KAFKA_CACHE_DIR")
	if cache == "" {
		cache = filepath.Join("..", "..", ".cache", "kafka")
	}
	runDir := filepath.Join(cache, "run-"+port)
	pidFile := filepath.Join(runDir, "kafka.pid")
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Skipf("broker restart needs the broker started by scripts/kafka-local.sh (no pid file: %v)", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("pid file %s: %v", pidFile, err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Skipf("broker restart needs /proc/%d/cmdline: %v", pid, err)
	}
	argv := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))

	start := time.Now()
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatalf("stop broker pid %d: %v", pid, err)
	}
	for syscall.Kill(pid, 0) == nil {
		if time.Since(start) > 60*time.Second {
			t.Fatalf("broker pid %d still running 60s after SIGTERM", pid)
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, err := os.OpenFile(filepath.Join(runDir, "server.log"), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = cwd
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // outlives the test binary, like the script's
	if err := cmd.Start(); err != nil {
		t.Fatalf("start broker again: %v", err)
	}
	go cmd.Wait()
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	client := kafkatest.Client(addr)
	for {
		md, err := client.Metadata(ctx, &kafka.MetadataRequest{})
		if err == nil && len(md.Brokers) > 0 && md.Controller.ID >= 0 {
			break
		}
		if ctx.Err() != nil {
			out, _ := os.ReadFile(filepath.Join(runDir, "server.log"))
			t.Fatalf("broker on %s not back within 2 minutes: %v\n%s", addr, err, lastBytes(string(bytes.TrimSpace(out)), 2048))
		}
		time.Sleep(250 * time.Millisecond)
	}
	return time.Since(start)
}
