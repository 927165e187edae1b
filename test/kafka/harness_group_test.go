//go:build kafka

package kafka

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// Helpers for the scenarios that run several consumer processes in one
// group: who owns which partition, what each process's /readyz says, and the
// consumer's other commands run against the same world.

// assignment describes the world's consumer group: its state and, per
// member client id, the partitions of the source topic assigned to it.
func (w *world) assignment(ctx context.Context) (state string, owned map[string][]int, err error) {
	resp, err := w.client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{w.group}})
	if err != nil {
		return "", nil, fmt.Errorf("describe group %s: %w", w.group, err)
	}
	owned = map[string][]int{}
	for _, g := range resp.Groups {
		if g.Error != nil {
			return "", nil, fmt.Errorf("describe group %s: %w", g.GroupID, g.Error)
		}
		state = g.GroupState
		for _, m := range g.Members {
			var parts []int
			for _, tp := range m.MemberAssignments.Topics {
				if tp.Topic == w.topic {
					parts = append(parts, tp.Partitions...)
				}
			}
			slices.Sort(parts)
			owned[m.ClientID] = parts
		}
	}
	return state, owned, nil
}

// clientOf returns the member client id in owned that belongs to p (the
// consumer names itself <client id>-<host>-<pid>), or "".
func clientOf(owned map[string][]int, p *proc) string {
	suffix := "-" + strconv.Itoa(p.cmd.Process.Pid)
	for id := range owned {
		if strings.HasSuffix(id, suffix) {
			return id
		}
	}
	return ""
}

// spread is a relWait condition: the group is Stable with exactly procs
// as members, each owning at least one partition, and together every
// partition of the source topic.
func (w *world) spread(procs ...*proc) func() (bool, string) {
	return func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		state, owned, err := w.assignment(ctx)
		if err != nil {
			return false, err.Error()
		}
		note := fmt.Sprintf("state %s, members %v", state, owned)
		if state != "Stable" || len(owned) != len(procs) {
			return false, note
		}
		covered := map[int]bool{}
		for _, p := range procs {
			parts := owned[clientOf(owned, p)]
			if len(parts) == 0 {
				return false, note + ", " + p.name + " owns nothing"
			}
			for _, part := range parts {
				covered[part] = true
			}
		}
		return len(covered) == w.partitions, note
	}
}

// ownership polls the group's assignment in the background and remembers,
// per process, every partition ever assigned to it.
type ownership struct {
	w     *world
	mu    sync.Mutex
	procs []*proc
	seen  map[string]map[int]bool // proc name -> partitions
	polls int
	stop  chan struct{}
	done  chan struct{}
}

// watchOwnership starts polling every 250 ms until stopped (or the test ends).
func (w *world) watchOwnership() *ownership {
	o := &ownership{w: w, seen: map[string]map[int]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	go o.run()
	w.t.Cleanup(o.halt)
	return o
}

// track adds a process to watch.
func (o *ownership) track(p *proc) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.procs = append(o.procs, p)
	if o.seen[p.name] == nil {
		o.seen[p.name] = map[int]bool{}
	}
}

func (o *ownership) run() {
	defer close(o.done)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, owned, err := o.w.assignment(ctx)
		cancel()
		if err == nil {
			o.mu.Lock()
			o.polls++
			for _, p := range o.procs {
				for _, part := range owned[clientOf(owned, p)] {
					o.seen[p.name][part] = true
				}
			}
			o.mu.Unlock()
		}
		select {
		case <-o.stop:
			return
		case <-tick.C:
		}
	}
}

func (o *ownership) halt() {
	select {
	case <-o.stop:
	default:
		close(o.stop)
	}
	<-o.done
}

// result stops the polling and returns, per process, the partitions it
// was ever seen to own, sorted, and how many polls answered.
func (o *ownership) result() (map[string][]int, int) {
	o.halt()
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string][]int{}
	for name, parts := range o.seen {
		list := []int{}
		for p := range parts {
			list = append(list, p)
		}
		slices.Sort(list)
		out[name] = list
	}
	return out, o.polls
}

// readyz returns the status and body of the process's /readyz.
func (p *proc) readyz() (int, string, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + p.httpAddr + "/readyz")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// readyzLists is a relWait condition: every process answers /readyz 200
// and its body lists (want true) or does not list (want false) line.
func readyzLists(line string, want bool, procs ...*proc) func() (bool, string) {
	return func() (bool, string) {
		var notes []string
		ok := true
		for _, p := range procs {
			status, body, err := p.readyz()
			has := strings.Contains(body, line)
			if err != nil || status != http.StatusOK || has != want {
				ok = false
				notes = append(notes, fmt.Sprintf("%s: %d %q %v", p.name, status, strings.TrimSpace(lastBytes(body, 300)), err))
			}
		}
		return ok, strings.Join(notes, "; ")
	}
}

// auditLines counts the process's audit log lines, all or with result.
func (p *proc) auditLines(result string) int {
	n := 0
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		if strings.Contains(line, `"msg":"audit"`) && (result == "" || strings.Contains(line, `"result":"`+result+`"`)) {
			n++
		}
	}
	return n
}

// cli runs the consumer binary with args and the world's environment (the
// same TRIPLINE_* configuration as `consumer run`) and returns its stdout,
// its stderr and its exit status.
func (w *world) cli(ctx context.Context, args ...string) (stdout, stderr string, code int) {
	w.t.Helper()
	cmd := exec.CommandContext(ctx, consumerBinary(w.t), args...)
	cmd.Env = w.environ()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		w.t.Fatalf("consumer %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), errOut.String(), code
}

// mustCLI is cli that fails the test unless the command exits 0.
func (w *world) mustCLI(ctx context.Context, args ...string) (stdout, stderr string) {
	w.t.Helper()
	stdout, stderr, code := w.cli(ctx, args...)
	if code != 0 {
		w.t.Fatalf("consumer %s: exit status %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, lastBytes(stdout, 4096), lastBytes(stderr, 4096))
	}
	return stdout, stderr
}

// stateRecord is one record of the world's state topic, as the decision
// service writes it: a user's entry (with the suspension tripline made, if
// any) or a breaker scope's trip or re-arm.
type stateRecord struct {
	Offset int64
	Key    string
	// Of a user/ record: when the suspension's decision started, by
	// which instance, for which event.
	SuspendedAt       time.Time
	SuspendedBy       string
	SuspendedForEvent string
	// Of a breaker/ record.
	Open        bool
	BreakerAt   time.Time
	BreakerInfo string
}

// stateRecords reads the world's state topic (one partition) from its first
// offset to its end, for diagnostics.
func (w *world) stateRecords(ctx context.Context) ([]stateRecord, error) {
	_, end, err := w.offsets(ctx, w.state, "", 1)
	if err != nil {
		return nil, err
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: strings.Split(w.brokers, ","), Topic: w.state, Partition: 0,
		MinBytes: 1, MaxBytes: 10 << 20, MaxWait: 100 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(kafka.FirstOffset); err != nil {
		return nil, err
	}
	var out []stateRecord
	for {
		if len(out) > 0 && out[len(out)-1].Offset+1 >= end[0] {
			return out, nil
		}
		if end[0] == 0 {
			return nil, nil
		}
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return out, fmt.Errorf("read state topic %s: %w", w.state, err)
		}
		rec := stateRecord{Offset: m.Offset, Key: string(m.Key)}
		var v struct {
			SuspendedBy *struct {
				At       time.Time `json:"at"`
				Instance string    `json:"instance"`
				Event    string    `json:"event"`
			} `json:"suspended_by"`
			Open     bool      `json:"open"`
			At       time.Time `json:"at"`
			By       string    `json:"by"`
			Reason   string    `json:"reason"`
			Instance string    `json:"instance"`
			Count    int       `json:"count"`
			Cap      int       `json:"cap"`
		}
		if err := json.Unmarshal(m.Value, &v); err == nil {
			if s := v.SuspendedBy; s != nil {
				rec.SuspendedAt, rec.SuspendedBy, rec.SuspendedForEvent = s.At, s.Instance, s.Event
			}
			if strings.HasPrefix(rec.Key, "breaker/") {
				rec.Open, rec.BreakerAt = v.Open, v.At
				rec.BreakerInfo = fmt.Sprintf("by=%s reason=%q instance=%s count=%d cap=%d", v.By, v.Reason, v.Instance, v.Count, v.Cap)
			}
		}
		out = append(out, rec)
	}
}

// logState writes the state topic's records to the test log, one a line.
func (w *world) logState() {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs, err := w.stateRecords(ctx)
	var b strings.Builder
	for _, r := range recs {
		switch {
		case strings.HasPrefix(r.Key, "breaker/"):
			fmt.Fprintf(&b, "  @%d %s open=%t at=%s %s\n", r.Offset, r.Key, r.Open, r.BreakerAt.Format(time.RFC3339Nano), r.BreakerInfo)
		case !r.SuspendedAt.IsZero():
			fmt.Fprintf(&b, "  @%d %s suspended_by.at=%s instance=%s event=%s\n", r.Offset, r.Key, r.SuspendedAt.Format(time.RFC3339Nano), r.SuspendedBy, r.SuspendedForEvent)
		default:
			fmt.Fprintf(&b, "  @%d %s\n", r.Offset, r.Key)
		}
	}
	w.t.Logf("state topic %s (%d records, err %v):\n%s", w.state, len(recs), err, b.String())
}
