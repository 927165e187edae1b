package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/devbroker"
	"github.com/tripline-dev/tripline/internal/opsim"
)

const (
	// containEvery is how often a risky sign-in for a new user arrives.
	containEvery = 200 * time.Millisecond
	// containPartitions is the source topic's partition count.
	containPartitions = 6
	// containWarmup is how long the background runs before the first
	// measured risky sign-in.
	containWarmup = 5 * time.Second
)

// BenchmarkContain measures the time to contain a risky user as a
// security team sees it: from the moment a risky sign-in for a new user is
// produced to Kafka to the moment the Users API (the simulator) answers
// its suspend call, while a steady background of ordinary sign-ins flows
// through the same topic. The consumer runs as its own process, the binary
// built from this package with the shipped rules (caps raised) and the
// production defaults of the configuration, so its CPU time and peak RSS
// are its alone (/proc/PID); the broker (when embedded), the producers and
// the simulator run in the benchmark's process, on the same cores.
//
// Each sub-benchmark is one broker, background rate and Users API latency
// (added to every call; a decision makes two, the read before and the
// suspend): broker=embedded (kfake in process, 6 partitions) unless
// KAFKA_BROKERS names a real broker (its topics, group and tripline's own
// topics are created with unique names and deleted after), rate in events
// per second (CONTAIN_RATES, default 2000,10000), api latency
// (CONTAIN_API_LATENCIES, default 0ms,50ms). After a warm-up, one risky
// sign-in every 200 ms for CONTAIN_SECONDS (default 30) seconds, each for a
// user never seen before. It reports the p50, p99 and max of produce to
// suspension, the consumer's CPU (percent of one core) and peak RSS over
// the run, the benchmark process's CPU, the background rate reached, and
// the p99 of the consumer's own tripline_time_to_action_seconds (from its
// /metrics, interpolated within the histogram's buckets). CONTAIN_LOG_DIR
// keeps the consumer's log (GODEBUG=gctrace=1 in the environment adds its
// GC trace); TRIPLINE_* variables in the environment reach the consumer.
// CONTAIN_PROBE=1 adds a bare kafka-go reader per partition (in the
// benchmark's process) and reports produce to its read: the broker's share
// of the figure, to tell its delays from tripline's. The log line gives the
// machine's load average at the start and the end of each run.
//
// Run it with make bench-contain (-benchtime=1x: each sub-benchmark runs
// once, about CONTAIN_SECONDS + 15 s).
func BenchmarkContain(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "consumer")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	seconds := 30
	if v := os.Getenv("CONTAIN_SECONDS"); v != "" {
		var err error
		if seconds, err = strconv.Atoi(v); err != nil || seconds < 1 {
			b.Fatalf("CONTAIN_SECONDS=%q: want a positive number of seconds", v)
		}
	}
	brokers := os.Getenv("KAFKA_BROKERS")
	where := "embedded"
	if brokers != "" {
		where = "kafka"
	}
	for _, rate := range envList(b, "CONTAIN_RATES", "2000,10000") {
		for _, latency := range envList(b, "CONTAIN_API_LATENCIES", "0ms,50ms") {
			r, err := strconv.Atoi(rate)
			if err != nil || r < 1 {
				b.Fatalf("CONTAIN_RATES: %q is not a rate", rate)
			}
			l, err := time.ParseDuration(latency)
			if err != nil || l < 0 {
				b.Fatalf("CONTAIN_API_LATENCIES: %q is not a duration", latency)
			}
			cc := containConfig{bin: bin, brokers: brokers, rate: r, latency: l, risky: seconds * int(time.Second/containEvery)}
			b.Run(fmt.Sprintf("broker=%s/rate=%d/api=%s", where, r, l), func(b *testing.B) {
				var res containResult
				for range b.N {
					res = runContain(b, cc)
				}
				res.report(b, cc)
			})
		}
	}
}

// containConfig is one sub-benchmark of BenchmarkContain.
type containConfig struct {
	bin     string
	brokers string // a real broker's bootstrap list, or "" for the embedded one
	rate    int
	latency time.Duration
	risky   int
}

// containResult is what one run measured.
type containResult struct {
	took        []time.Duration // produce to suspension, sorted
	produced    []time.Duration // produce to the broker's acknowledgement, sorted
	decided     []time.Duration // produce to the first Users API call about the user, sorted
	probed      []time.Duration // produce to a bare reader's read (CONTAIN_PROBE), sorted
	missing     int
	consumerCPU float64 // percent of one core, over the measured phase
	benchCPU    float64 // the benchmark process's, idem
	peakRSS     int64
	bgRate      float64
	bgSlowest   time.Duration
	ttaP99      float64 // the consumer's tripline_time_to_action p99, seconds
	slowest     []string
	load        [2]string // the machine's 1-minute load average at the start and the end
}

func (r containResult) report(b *testing.B, cc containConfig) {
	p50, p99, worst := quantile(r.took, 0.5), quantile(r.took, 0.99), quantile(r.took, 1)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p99), "p99-ms")
	b.ReportMetric(ms(worst), "max-ms")
	b.ReportMetric(r.consumerCPU, "consumer-cpu-%")
	b.ReportMetric(float64(r.peakRSS)/(1<<20), "consumer-peak-rss-MiB")
	b.ReportMetric(r.benchCPU, "bench-cpu-%")
	b.ReportMetric(r.bgRate, "bg-events/s")
	b.ReportMetric(r.ttaP99*1000, "tta-metric-p99-ms")
	b.ReportMetric(ms(quantile(r.decided, 0.99)), "to-first-call-p99-ms")
	b.ReportMetric(0, "ns/op")
	b.Logf("%d risky users: produce to suspension p50 %.1f ms, p99 %.1f ms, max %.1f ms (goal p99 <= 100 ms + API latency); produce acks p99 %.1f ms, max %.1f ms; "+
		"produce to the first API call p50 %.1f ms, p99 %.1f ms; "+
		"background %.0f events/s (slowest write %.0f ms); consumer CPU %.0f%% of a core, peak RSS %.0f MiB; benchmark process CPU %.0f%%; consumer's tripline_time_to_action_seconds p99 ~%.0f ms",
		len(r.took), ms(p50), ms(p99), ms(worst), ms(quantile(r.produced, 0.99)), ms(quantile(r.produced, 1)),
		ms(quantile(r.decided, 0.5)), ms(quantile(r.decided, 0.99)),
		r.bgRate, ms(r.bgSlowest), r.consumerCPU, float64(r.peakRSS)/(1<<20), r.benchCPU, r.ttaP99*1000)
	b.Logf("slowest: %s; load average %s at the start, %s at the end", strings.Join(r.slowest, ", "), r.load[0], r.load[1])
	if len(r.probed) > 0 {
		b.ReportMetric(ms(quantile(r.probed, 0.99)), "probe-p99-ms")
		b.Logf("produce to a bare reader (the broker's share): p50 %.1f ms, p99 %.1f ms, max %.1f ms",
			ms(quantile(r.probed, 0.5)), ms(quantile(r.probed, 0.99)), ms(quantile(r.probed, 1)))
	}
	if os.Getenv("CONTAIN_IN_PROCESS") != "" {
		b.Logf("CONTAIN_IN_PROCESS: the consumer ran in the benchmark's process; its CPU and RSS are the whole process's (consumer, broker, producers, simulator)")
	}
	if r.missing > 0 {
		b.Errorf("%d of %d risky users not suspended within a minute", r.missing, r.missing+len(r.took))
	}
}

// runContain runs one measurement: a fresh topic, simulator and consumer.
func runContain(b *testing.B, cc containConfig) containResult {
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	name := fmt.Sprintf("contain-%d-%d", os.Getpid(), time.Now().UnixNano())
	brokers := containBroker(b, cc.brokers, name)

	sim, err := opsim.New(opsim.Config{Generate: cc.risky + 1})
	if err != nil {
		b.Fatal(err)
	}
	if cc.latency > 0 {
		sim.SetFaults(opsim.Faults{opsim.EndpointAny: {Latency: cc.latency}})
	}
	clock := newSuspendClock(sim)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: clock, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	httpAddr := freeBenchAddr(b)
	client := sim.Clients()[0]
	logDir := os.Getenv("CONTAIN_LOG_DIR")
	if logDir == "" {
		logDir = b.TempDir()
	}
	logFile, err := os.Create(filepath.Join(logDir, name+".log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logFile.Close()
	env := []string{
		"TRIPLINE_KAFKA_BROKERS=" + brokers, "TRIPLINE_KAFKA_GROUP_ID=" + name, "TRIPLINE_KAFKA_TOPICS=" + name,
		"TRIPLINE_KAFKA_DLQ_TOPIC=" + name + ".dlq", "TRIPLINE_KAFKA_STATE_TOPIC=" + name + ".state",
		"TRIPLINE_KAFKA_RETRY_TOPIC=" + name + ".retry", "TRIPLINE_KAFKA_APPROVALS_TOPIC=" + name + ".approvals",
		"TRIPLINE_KAFKA_START_FROM_EARLIEST=true", "TRIPLINE_DLQ_SIGNING_KEY=contain-benchmark-signing-key-0123456789",
		"TRIPLINE_RULES_DIR=" + raisedRules(b, 100*cc.risky), "TRIPLINE_BREAKER_GLOBAL=" + fmt.Sprintf("%d/10m", 100*cc.risky),
		"TRIPLINE_OP_BASE_URL=http://" + ln.Addr().String(), "TRIPLINE_OP_ALLOW_INSECURE_LOOPBACK=true",
		"TRIPLINE_OP_ACCOUNT_ID=" + sim.Account(), "TRIPLINE_OP_CLIENT_ID=" + client.ID, "TRIPLINE_OP_CLIENT_SECRET=" + client.Secret,
		"TRIPLINE_HTTP_ADDR=" + httpAddr, "TRIPLINE_LOG_FORMAT=json",
	}
	consumer := startContainConsumer(b, cc.bin, env, logFile)
	exited := consumer.exited
	defer func() {
		consumer.stop()
		if cc.brokers != "" {
			deleteTopics(cc.brokers, name, name+".dlq", name+".state", name+".retry", name+".approvals")
		}
	}()
	waitReady(b, "http://"+httpAddr+"/readyz", exited, logFile.Name())

	var res containResult
	res.load[0] = loadAverage()
	users := make([]opsim.User, cc.risky+1)
	for i := range users {
		u, ok := sim.UserByEmail(fmt.Sprintf("user%05d@example.com", i+1))
		if !ok {
			b.Fatalf("the simulator has no user%05d", i+1)
		}
		users[i] = u
	}
	// CONTAIN_PROBE: a bare reader per partition notes when each risky
	// sign-in becomes readable, to tell the broker's delays from
	// tripline's (it reads the whole topic, in the benchmark's process).
	var pr *probe
	if os.Getenv("CONTAIN_PROBE") != "" {
		keys := map[string]bool{}
		for _, u := range users {
			keys[u.Email] = true
		}
		pr = startProbe(strings.Split(brokers, ","), name, containPartitions, keys)
		defer pr.stop()
	}

	// Two producers with their own connections: the background, batched
	// as a SIEM's forwarder would, and the risky sign-ins, each written
	// alone and acknowledged, so that its produce time is its own.
	bg := &steadyProducer{rate: cc.rate, pool: backgroundEvents(b), w: &kafka.Writer{
		Addr: kafka.TCP(strings.Split(brokers, ",")...), Topic: name, Balancer: &kafka.Hash{}, Transport: &kafka.Transport{},
		BatchSize: max(cc.rate/50, 10), BatchBytes: 4 << 20, BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafka.RequireAll,
	}}
	defer bg.w.Close()
	risky := &kafka.Writer{
		Addr: kafka.TCP(strings.Split(brokers, ",")...), Topic: name, Balancer: &kafka.Hash{}, Transport: &kafka.Transport{},
		BatchSize: 1, BatchTimeout: time.Millisecond, RequiredAcks: kafka.RequireAll,
	}
	defer risky.Close()
	bgCtx, stopBG := context.WithCancel(ctx)
	bgDone := make(chan error, 1)
	go func() { bgDone <- bg.run(bgCtx) }()
	defer func() {
		stopBG()
		if err := <-bgDone; err != nil {
			b.Error(err)
		}
	}()

	produce := func(u opsim.User) (time.Time, time.Duration) {
		at := time.Now()
		m := kafka.Message{Key: []byte(u.Email), Value: oktaSignIn("contain-"+u.ID, u.Email, "HIGH"), Time: at}
		if err := risky.WriteMessages(ctx, m); err != nil {
			b.Fatalf("produce a risky sign-in: %v", err)
		}
		return at, time.Since(at)
	}

	// Warm-up: the background flows, the consumer catches up, and a first
	// risky user is suspended (token, connections).
	warm := time.NewTimer(containWarmup)
	select {
	case <-warm.C:
	case err := <-exited:
		b.Fatalf("the consumer exited during the warm-up: %v (log %s)", err, logFile.Name())
	}
	produce(users[0])
	waitCtx, stopWait := context.WithTimeout(ctx, time.Minute)
	n := clock.wait(waitCtx, []string{users[0].ID})
	stopWait()
	if n != 1 {
		b.Fatalf("the warm-up's risky user was not suspended within a minute (log %s)", logFile.Name())
	}

	// Measured: one risky sign-in for a new user every containEvery.
	measured := users[1:]
	producedAt := make([]time.Time, len(measured))
	before, err := readProc(consumer.pid)
	if err != nil {
		b.Fatal(err)
	}
	bgBefore, _ := bg.stats()
	selfBefore, start := selfCPU(), time.Now()
	tick := time.NewTicker(containEvery)
	for i, u := range measured {
		if i > 0 {
			<-tick.C
		}
		var ack time.Duration
		producedAt[i], ack = produce(u)
		res.produced = append(res.produced, ack)
	}
	tick.Stop()
	ids := make([]string, len(measured))
	for i, u := range measured {
		ids[i] = u.ID
	}
	waitCtx, stopWait = context.WithTimeout(ctx, time.Minute)
	clock.wait(waitCtx, ids)
	stopWait()
	after, err := readProc(consumer.pid)
	if err != nil {
		b.Fatal(err)
	}
	wall := time.Since(start)
	bgAfter, slowest := bg.stats()
	res.consumerCPU = 100 * float64(after.cpu-before.cpu) / float64(wall)
	res.benchCPU = 100 * float64(selfCPU()-selfBefore) / float64(wall)
	res.peakRSS, res.bgRate, res.bgSlowest = after.peak, float64(bgAfter-bgBefore)/wall.Seconds(), slowest

	type sample struct {
		took time.Duration
		at   time.Duration
	}
	var samples []sample
	for i, u := range measured {
		at, ok := clock.at(u.ID)
		if !ok {
			res.missing++
			continue
		}
		samples = append(samples, sample{at.Sub(producedAt[i]), producedAt[i].Sub(start)})
		if first, ok := clock.firstCall(u.ID); ok {
			res.decided = append(res.decided, first.Sub(producedAt[i]))
		}
		if pr != nil {
			if seen, ok := pr.at(u.Email); ok {
				res.probed = append(res.probed, seen.Sub(producedAt[i]))
			}
		}
	}
	slices.SortFunc(samples, func(a, b sample) int { return int(b.took - a.took) })
	for i, s := range samples {
		res.took = append(res.took, s.took)
		if i < 5 {
			res.slowest = append(res.slowest, fmt.Sprintf("%.0f ms at +%.1f s", float64(s.took)/float64(time.Millisecond), s.at.Seconds()))
		}
	}
	slices.Sort(res.took)
	slices.Sort(res.produced)
	slices.Sort(res.decided)
	slices.Sort(res.probed)
	res.load[1] = loadAverage()
	if samples, err := scrape("http://" + httpAddr + "/metrics"); err == nil {
		res.ttaP99 = histogramQuantile(samples, "tripline_time_to_action_seconds", 0.99)
	} else {
		b.Logf("scrape the consumer's metrics: %v", err)
	}
	return res
}

// containBroker returns the bootstrap list to use, with topic created on
// containPartitions partitions: on a real broker (brokers) with the
// broker's defaults, deleted after the run; or on an embedded one started
// for the run, with segment.bytes of CONTAIN_SEGMENT_BYTES (default 1 MiB;
// 0 leaves kfake's 100 MiB). kfake keeps each partition's active segment
// in one in-memory byte slice that grows by doubling, copying the whole
// segment each time, inside the broker's single request loop: with 100 MiB
// segments, each of those copies (tens of MiB at 10,000 events/s) stalls
// every produce and fetch for tens to hundreds of milliseconds. Those
// stalls are the embedded broker's, not tripline's; small segments keep
// them out of the figures.
func containBroker(b *testing.B, brokers, topic string) string {
	var configs []kafka.ConfigEntry
	if brokers == "" {
		br, err := devbroker.Start(devbroker.Config{Listen: "127.0.0.1:0", Partitions: containPartitions, MinSessionTimeout: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { br.Close() })
		brokers = br.Addr()
		segment := "1048576"
		if v, ok := os.LookupEnv("CONTAIN_SEGMENT_BYTES"); ok {
			segment = v
		}
		if segment != "0" {
			configs = append(configs, kafka.ConfigEntry{ConfigName: "segment.bytes", ConfigValue: segment})
		}
	}
	client := &kafka.Client{Addr: kafka.TCP(strings.Split(brokers, ",")...), Timeout: 30 * time.Second}
	resp, err := client.CreateTopics(b.Context(), &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		{Topic: topic, NumPartitions: containPartitions, ReplicationFactor: -1, ConfigEntries: configs},
	}})
	if err == nil {
		err = resp.Errors[topic]
	}
	if err != nil {
		b.Fatalf("create topic %s on %s: %v", topic, brokers, err)
	}
	return brokers
}

// deleteTopics deletes the run's topics from a real broker (best effort).
func deleteTopics(brokers string, topics ...string) {
	client := &kafka.Client{Addr: kafka.TCP(strings.Split(brokers, ",")...), Timeout: 30 * time.Second}
	client.DeleteTopics(context.Background(), &kafka.DeleteTopicsRequest{Topics: topics})
}

// backgroundEvents are the ordinary sign-ins of the background: the
// benchmark's benign Okta events (about 1 KiB, no rule matches them) for
// 20,000 users of another domain than the simulator's, so that no risky
// user is ever seen before its risky sign-in.
func backgroundEvents(b *testing.B) []kafka.Message {
	msgs := benignEvents(b, 20_000)
	for i := range msgs {
		msgs[i].Key = bytes.ReplaceAll(msgs[i].Key, []byte("@example.com"), []byte("@background.example.com"))
		msgs[i].Value = bytes.ReplaceAll(msgs[i].Value, []byte("@example.com"), []byte("@background.example.com"))
	}
	return msgs
}

// waitReady waits until the consumer's /readyz answers 200 (a member of
// the group, directory and ledger loaded), for at most a minute.
func waitReady(b *testing.B, url string, exited <-chan error, log string) {
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-exited:
			b.Fatalf("the consumer exited before it was ready: %v (log %s)", err, log)
		case <-deadline.C:
			b.Fatalf("the consumer was not ready within a minute (log %s)", log)
		case <-poll.C:
		}
	}
}

// freeBenchAddr is a loopback address free at the time of the call.
func freeBenchAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// containConsumer is the consumer under measurement: its process id (for
// /proc), a channel that yields when it exits, and stop.
type containConsumer struct {
	pid    int
	exited <-chan error
	stop   func()
}

// startContainConsumer starts the consumer with the environment env (over
// the benchmark's own), logging to log: the binary bin as a process, or,
// with CONTAIN_IN_PROCESS set, Main in this process (so that go test
// -cpuprofile and -trace see the consumer, the broker and the producers
// together; its CPU and RSS are then the whole process's).
func startContainConsumer(b *testing.B, bin string, env []string, log *os.File) containConsumer {
	if os.Getenv("CONTAIN_IN_PROCESS") == "" {
		cmd := exec.Command(bin, "run")
		cmd.Stdout, cmd.Stderr = log, log
		cmd.Env = append(os.Environ(), env...)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		exited, done := make(chan error, 1), make(chan struct{})
		go func() {
			exited <- cmd.Wait()
			close(done)
		}()
		return containConsumer{pid: cmd.Process.Pid, exited: exited, stop: func() {
			cmd.Process.Signal(os.Interrupt)
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		}}
	}
	set := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		set[k] = v
	}
	lookup := func(k string) (string, bool) {
		if v, ok := set[k]; ok {
			return v, true
		}
		return os.LookupEnv(k)
	}
	cfg, err := config.Load("", lookup)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m, err := app.NewMain(ctx, cfg, app.Options{Log: log, Lookup: lookup})
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		err := m.Run(ctx)
		exited <- err
		close(done)
	}()
	return containConsumer{pid: os.Getpid(), exited: exited, stop: func() {
		cancel()
		<-done
		m.Close()
	}}
}
