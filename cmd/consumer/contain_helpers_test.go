package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// suspendClock is the Users API simulator as BenchmarkContain sees it: it
// notes when each user's suspend call was answered (200), by user id, the
// moment the user is suspended, and when the first call about the user
// arrived (the read before the suspend: the decision service has the
// decision).
type suspendClock struct {
	next http.Handler

	mu       sync.Mutex
	answered map[string]time.Time
	first    map[string]time.Time
	notify   chan struct{} // closed and replaced at each suspension
}

func newSuspendClock(next http.Handler) *suspendClock {
	return &suspendClock{next: next, answered: map[string]time.Time{}, first: map[string]time.Time{}, notify: make(chan struct{})}
}

// ServeHTTP serves the simulator and notes the answer to a suspend call.
func (s *suspendClock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	user, _, _ := strings.Cut(r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:], ":")
	if strings.Contains(r.URL.Path, "/users/") {
		s.mu.Lock()
		if _, seen := s.first[user]; !seen {
			s.first[user] = arrived
		}
		s.mu.Unlock()
	}
	sw := &codeWriter{ResponseWriter: w, code: http.StatusOK}
	s.next.ServeHTTP(sw, r)
	id, ok := strings.CutSuffix(r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:], ":suspend")
	if !ok || r.Method != http.MethodPost || sw.code != http.StatusOK {
		return
	}
	at := time.Now()
	s.mu.Lock()
	if _, seen := s.answered[id]; !seen {
		s.answered[id] = at
	}
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
}

// at returns when the user's suspend call was first answered.
func (s *suspendClock) at(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.answered[id]
	return t, ok
}

// firstCall returns when the first call about the user arrived.
func (s *suspendClock) firstCall(id string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.first[id]
	return t, ok
}

// wait waits until every user of ids is suspended or ctx is done, and
// returns how many are.
func (s *suspendClock) wait(ctx context.Context, ids []string) int {
	for {
		s.mu.Lock()
		n := 0
		for _, id := range ids {
			if _, ok := s.answered[id]; ok {
				n++
			}
		}
		more := s.notify
		s.mu.Unlock()
		if n == len(ids) {
			return n
		}
		select {
		case <-ctx.Done():
			return n
		case <-more:
		}
	}
}

// codeWriter remembers the status code written.
type codeWriter struct {
	http.ResponseWriter
	code int
}

func (w *codeWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// procUsage is what /proc says of a process: CPU time (user and system, all
// threads), peak and current resident memory.
type procUsage struct {
	cpu       time.Duration
	peak, rss int64
}

// clockTick is the unit of the CPU times of /proc/PID/stat (USER_HZ, 100 on
// Linux whatever the kernel's HZ).
const clockTick = 10 * time.Millisecond

// readProc reads the usage of process pid.
func readProc(pid int) (procUsage, error) {
	var u procUsage
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, err
	}
	// The command name is in parentheses and may hold spaces: the fields
	// counted from after it.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) < 13 {
		return u, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	u.cpu = time.Duration(utime+stime) * clockTick
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for key, dst := range map[string]*int64{"VmHWM:": &u.peak, "VmRSS:": &u.rss} {
			if v, ok := strings.CutPrefix(sc.Text(), key); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				*dst = kb << 10
			}
		}
	}
	return u, sc.Err()
}

// selfCPU is the CPU time (user and system) this process used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// quantile is the q-quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// steadyProducer writes a background of messages at a steady rate, cycling
// through pool: every tick it writes what is due since the start, so a
// slow write is caught up rather than lost.
type steadyProducer struct {
	w    *kafka.Writer
	pool []kafka.Message
	rate int

	mu      sync.Mutex
	sent    int
	slowest time.Duration // the longest write
}

// run produces until ctx is done, and returns the first write error.
func (p *steadyProducer) run(ctx context.Context) error {
	start := time.Now()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	next := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		p.mu.Lock()
		due := int(time.Since(start).Seconds()*float64(p.rate)) - p.sent
		p.mu.Unlock()
		if due <= 0 {
			continue
		}
		batch := make([]kafka.Message, due)
		for i := range batch {
			batch[i] = kafka.Message{Key: p.pool[next].Key, Value: p.pool[next].Value}
			next = (next + 1) % len(p.pool)
		}
		began := time.Now()
		if err := p.w.WriteMessages(ctx, batch...); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("produce the background: %w", err)
		}
		p.mu.Lock()
		p.sent += due
		p.slowest = max(p.slowest, time.Since(began))
		p.mu.Unlock()
	}
}

// stats returns the messages written and the longest write.
func (p *steadyProducer) stats() (int, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent, p.slowest
}

// scrape reads the Prometheus text exposition at url: each sample's value
// by its series (name and labels, as written).
func scrape(url string) (map[string]float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for line := range strings.Lines(string(body)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out, nil
}

// histogramQuantile estimates the q-quantile of a scraped histogram (its
// _bucket series summed over every other label) as Prometheus's
// histogram_quantile does, by linear interpolation within the bucket.
func histogramQuantile(samples map[string]float64, name string, q float64) float64 {
	byLE := map[float64]float64{}
	for series, v := range samples {
		if !strings.HasPrefix(series, name+"_bucket{") {
			continue
		}
		_, rest, ok := strings.Cut(series, `le="`)
		if !ok {
			continue
		}
		le, _, _ := strings.Cut(rest, `"`)
		bound, err := strconv.ParseFloat(le, 64)
		if le == "+Inf" {
			bound, err = math.Inf(1), nil
		}
		if err == nil {
			byLE[bound] += v
		}
	}
	bounds := slices.Sorted(func(yield func(float64) bool) {
		for b := range byLE {
			if !yield(b) {
				return
			}
		}
	})
	if len(bounds) == 0 || byLE[bounds[len(bounds)-1]] == 0 {
		return math.NaN()
	}
	rank := q * byLE[bounds[len(bounds)-1]]
	lower, below := 0.0, 0.0
	for _, b := range bounds {
		if byLE[b] >= rank {
			if math.IsInf(b, 1) {
				return lower
			}
			return lower + (b-lower)*(rank-below)/(byLE[b]-below)
		}
		lower, below = b, byLE[b]
	}
	return lower
}

// envList reads a comma-separated list from the environment, or def.
func envList(b *testing.B, name, def string) []string {
	b.Helper()
	v := os.Getenv(name)
	if v == "" {
		v = def
	}
	return strings.Split(v, ",")
}

// probe is a bare kafka-go reader per partition of the source topic, with
// no processing, that notes when each risky sign-in (by key) becomes
// visible to a consumer: produce to probe is the broker's (and the
// machine's) share of produce to suspension, tripline's share the rest.
type probe struct {
	readers []*kafka.Reader
	done    chan struct{}

	mu   sync.Mutex
	seen map[string]time.Time
}

// startProbe reads every partition of topic from its first offset until
// stop, noting the first time each key of keys is read.
func startProbe(brokers []string, topic string, partitions int, keys map[string]bool) *probe {
	p := &probe{seen: map[string]time.Time{}, done: make(chan struct{})}
	var wg sync.WaitGroup
	for part := range partitions {
		r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: part,
			MinBytes: 1, MaxBytes: 1 << 20, MaxWait: 500 * time.Millisecond})
		p.readers = append(p.readers, r)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				m, err := r.ReadMessage(context.Background())
				if err != nil {
					return
				}
				if keys[string(m.Key)] {
					at := time.Now()
					p.mu.Lock()
					if _, ok := p.seen[string(m.Key)]; !ok {
						p.seen[string(m.Key)] = at
					}
					p.mu.Unlock()
				}
			}
		}()
	}
	go func() {
		wg.Wait()
		close(p.done)
	}()
	return p
}

// at returns when the probe first read key.
func (p *probe) at(key string) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.seen[key]
	return t, ok
}

// stop closes the readers and waits for their loops.
func (p *probe) stop() {
	for _, r := range p.readers {
		r.Close()
	}
	<-p.done
}

// loadAverage is the machine's 1-minute load average ("?" if unknown).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
