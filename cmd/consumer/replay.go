package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/ordered"
	"github.com/tripline-dev/tripline/internal/pipeline"
	"github.com/tripline-dev/tripline/internal/rules"
)

const replayUsage = `Usage: consumer replay --rules DIR [--config FILE] [--format F] [--workers N] FILE.jsonl|-

Decodes each line of FILE (one Kafka message value per line; - reads stdin),
evaluates it against the rules in DIR and prints every decision as a JSON
line on stdout:

  {"line":N,"event_id":...,"rule_id":...,"mode":...,"action":...,"user":...,
   "reason":...,"severity":...}

It never calls any API, and it prints what the rules decide, not what the
consumer would do: cooldowns, protected identities (protected.yaml) and
breakers (a rule's max_actions, the global caps) are applied only when
acting, by the decision service, so an enforce decision printed here may
not be acted on. Windowed counts (count()) run in event time, as in the
consumer. As in the consumer, an event dated more than event.max_clock_skew
(TRIPLINE_MAX_CLOCK_SKEW, default 5m; 0: off) ahead of the clock when the
replay starts is not evaluated, so it cannot feed count(): it is reported
as a decode error (future_time), as the consumer dead-letters it. Lines
that fail to decode and rule runtime errors are reported on stderr with
the line number; a summary (events evaluated, decisions by rule, errors)
is printed on stderr at the end. Blank lines are skipped. Exit status: 0
when every line decoded and evaluated, 1 otherwise, 2 on usage or
configuration errors.

Lines are decoded and evaluated on every core (--workers, default
GOMAXPROCS) and everything is printed in input order: the same bytes as
with --workers 1. The events of one user (the identity count() counts
by) are evaluated in input order, so count() sees what it would see one
line at a time. Only when the count() state is full (100,000 counters or
64 MB) may which counter it forgets first, and so a decision, differ
between runs. Unless GOGC is set, the replay of a file of 32 MB or more
runs the garbage collector less often (GOGC=800): faster, for about
100 MB more memory.

Flags:
  --rules DIR   rule directory (default rules/)
  --config FILE YAML configuration file (default $TRIPLINE_CONFIG), read,
                with the TRIPLINE_* environment, for event.max_clock_skew
                only: no Kafka or 1Password settings are needed
  --format F    pin the input format instead of auto-detecting it
  --workers N   decode and evaluate on N goroutines (default GOMAXPROCS)
`

// replayDecision is one decision line of `consumer replay`.
type replayDecision struct {
	Line     int    `json:"line"`
	EventID  string `json:"event_id"`
	RuleID   string `json:"rule_id"`
	Mode     string `json:"mode"`
	Action   string `json:"action"`
	User     string `json:"user"`
	Reason   string `json:"reason"`
	Severity string `json:"severity"`
}

// cmdReplay runs `consumer replay`.
func cmdReplay(ctx context.Context, args []string, s streams) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("rules", "rules", "")
	path := fs.String("config", os.Getenv("TRIPLINE_CONFIG"), "")
	formatName := fs.String("format", "", "")
	workers := fs.Int("workers", 0, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(s.out, replayUsage)
			return 0
		}
		fmt.Fprintf(s.err, "consumer replay: %v\n\n%s", err, replayUsage)
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(s.err, "consumer replay: exactly one input file (or -) is required\n\n%s", replayUsage)
		return 2
	}
	if *workers < 0 {
		fmt.Fprintf(s.err, "consumer replay: --workers must not be negative\n")
		return 2
	}
	format, err := event.ParseFormat(*formatName)
	if err != nil {
		fmt.Fprintf(s.err, "consumer replay: %v\n", err)
		return 2
	}
	cfg, err := config.LoadOffline(*path, os.LookupEnv)
	if err != nil {
		fmt.Fprintf(s.err, "consumer replay: configuration problems:\n%v\n", app.Indent(err))
		return 2
	}
	set, err := rules.LoadDir(*dir)
	if err != nil {
		for _, p := range rules.LoadErrors(err) {
			fmt.Fprintf(s.err, "consumer replay: %v\n", p)
		}
		return 1
	}
	dec, err := event.NewDecoder(event.Config{})
	if err != nil {
		fmt.Fprintf(s.err, "consumer replay: %v\n", err)
		return 1
	}
	in := s.in
	var size int64
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintf(s.err, "consumer replay: %v\n", err)
			return 1
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		in = f
	}
	if *workers == 0 {
		*workers = runtime.GOMAXPROCS(0)
	}
	if size >= replayGCMinSize && os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(replayGCPercent))
	}
	r := replayer{dec: dec, set: set, format: format, workers: *workers, seed: maphash.MakeSeed(), free: make(chan []byte, 8*(*workers)),
		maxSkew: cfg.Event.MaxClockSkew, now: time.Now(),
		out: bufio.NewWriterSize(s.out, 64<<10), errOut: s.err, byRule: map[string]int{}}
	return r.run(ctx, in)
}

// replayGCPercent is the GOGC of a replay (unless GOGC is set). A replay
// allocates about 8 KiB per event and keeps only the chunks in flight (a
// few MB, whatever the file's size), so collecting garbage eight times
// less often than the default saves a third of its CPU time: 200,000
// generated lines on two cores took 4.7 s of CPU and 2.7 s of wall time at
// GOGC=100, 3.1 s and 1.7-2.1 s at 800, for 105 MB of peak RSS instead of
// 42 MB.
// It is set for input files of replayGCMinSize bytes or more only: a
// smaller replay is over before the collector matters, and replays run
// side by side in one process (tests) would set and restore the
// process-wide setting over each other.
const (
	replayGCPercent = 800
	replayGCMinSize = 32 << 20
)

// A replay reads lines in chunks; a chunk is decoded by one worker (any
// chunk on any worker: decoding has no state), then its events are
// evaluated by every worker at once, each taking the events of the users
// that hash to it, in input order. Chunks are evaluated one after the
// other, in input order, while later chunks decode. So the events of one
// user are evaluated in input order, as count() needs to see them, and
// evaluation runs on every core.
const (
	chunkLines = 128
	chunkBytes = 128 << 10
)

// chunk is a run of input lines, copied out of the scanner's buffer.
type chunk struct {
	first int    // the line number of the first line
	data  []byte // the lines, one after the other
	ends  []int  // where each line ends in data
}

// replayLine is what one input line gave.
type replayLine struct {
	line int
	evs  []event.Event // the events to evaluate
	err  error         // the decode error, if any
	// future holds the reports of its events dated too far ahead, which
	// are not in evs, and futures how many there were.
	future  []byte
	futures int
	// res holds what each event gave, filled by evaluate.
	res []replayResult
}

// replayResult is what evaluating one event gave: its decision lines and
// rule error lines, ready to print, and the rule ids of its decisions.
type replayResult struct {
	out, errs []byte
	decisions []string
	ruleErrs  int
}

type replayer struct {
	dec     *event.Decoder
	set     *rules.Set
	format  event.Format
	workers int
	seed    maphash.Seed
	// maxSkew is the consumer's event.max_clock_skew (0: off) and now the
	// clock it is measured from: the wall clock when the replay started,
	// not the replayed events' times.
	maxSkew time.Duration
	now     time.Time
	// free holds chunk buffers for the reader to use again.
	free chan []byte

	out    *bufio.Writer
	errOut io.Writer
	// The emitter's totals. A future-dated event counts as a decode
	// error, not as an event.
	lines, events, decodeErrs, ruleErrs int
	byRule                              map[string]int
}

func (r *replayer) run(ctx context.Context, in io.Reader) int {
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	chunks := make(chan chunk)
	var readErr error
	var readLines int
	var g errgroup.Group
	g.Go(func() error {
		defer close(chunks)
		readLines, readErr = readChunks(readCtx, in, chunks, r.free)
		return nil
	})
	var writeErr error
	mapErr := ordered.Map(ctx, ordered.Config{Workers: r.workers, Window: 2 * r.workers}, chunks, r.decode, func(lines []replayLine) error {
		r.evaluate(lines)
		if err := r.emit(lines); err != nil {
			writeErr = err
			return err
		}
		return nil
	})
	// When Map stopped early, the reader may be waiting to send.
	stopReading()
	_ = g.Wait()
	if writeErr == nil {
		writeErr = r.out.Flush()
	}
	if writeErr != nil {
		fmt.Fprintf(r.errOut, "consumer replay: write: %v\n", writeErr)
		return 1
	}
	failed := false
	if readErr != nil && mapErr == nil {
		failed = true
		fmt.Fprintf(r.errOut, "line %d: read: %v\n", readLines+1, readErr)
	}
	if ctx.Err() != nil {
		failed = true
		fmt.Fprintf(r.errOut, "consumer replay: interrupted after line %d\n", r.lines)
	}
	total := 0
	ids := make([]string, 0, len(r.byRule))
	for id, n := range r.byRule {
		ids = append(ids, id)
		total += n
	}
	sort.Strings(ids)
	fmt.Fprintf(r.errOut, "replay: %d lines, %d events, %d decisions, %d decode errors, %d rule errors\n", r.lines, r.events, total, r.decodeErrs, r.ruleErrs)
	for _, id := range ids {
		fmt.Fprintf(r.errOut, "  %-28s %d\n", id, r.byRule[id])
	}
	if r.decodeErrs > 0 || r.ruleErrs > 0 || failed {
		return 1
	}
	return 0
}

// readChunks sends the lines of in to chunks, in chunks of at most
// chunkLines lines or about chunkBytes bytes, taking their buffers from
// free when it has some. It returns how many lines it read and the read
// error, if any.
func readChunks(ctx context.Context, in io.Reader, chunks chan<- chunk, free <-chan []byte) (int, error) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), event.DefaultMaxBytes+1)
	line := 0
	newChunk := func(size int) chunk {
		select {
		case b := <-free:
			if cap(b) >= size {
				return chunk{first: line + 1, data: b[:0]}
			}
		default:
		}
		return chunk{first: line + 1, data: make([]byte, 0, max(size, chunkBytes))}
	}
	var c chunk
	send := func() bool {
		if len(c.ends) == 0 {
			return true
		}
		select {
		case chunks <- c:
			c = chunk{}
			return true
		case <-ctx.Done():
			return false
		}
	}
	for sc.Scan() {
		b := sc.Bytes()
		if len(c.ends) > 0 && len(c.data)+len(b) > cap(c.data) && !send() {
			return line, nil
		}
		if c.data == nil {
			c = newChunk(len(b))
		}
		line++
		c.data = append(c.data, b...)
		c.ends = append(c.ends, len(c.data))
		if len(c.ends) == chunkLines && !send() {
			return line, nil
		}
	}
	if !send() {
		return line, nil
	}
	return line, sc.Err()
}

// decode decodes the lines of a chunk, then hands its buffer back to the
// reader: nothing Decode returns points into the message it decodes. It
// runs on any worker.
func (r *replayer) decode(_ context.Context, c chunk) []replayLine {
	defer func() {
		select {
		case r.free <- c.data:
		default:
		}
	}()
	lines := make([]replayLine, len(c.ends))
	start := 0
	for i, end := range c.ends {
		value := c.data[start:end]
		start = end
		lines[i].line = c.first + i
		if len(trimSpace(value)) == 0 {
			continue
		}
		lines[i].evs, lines[i].err = r.dec.Decode(value, r.format)
		r.dropFuture(&lines[i])
	}
	return lines
}

// dropFuture takes out of l the events dated more than maxSkew ahead of
// the clock and reports each as the consumer dead-letters it,
// decode/future_time: evaluated, such an event could fill a count()
// window so that real events no longer count. The replay has no Kafka
// record, so only the event's time is checked.
func (r *replayer) dropFuture(l *replayLine) {
	if r.maxSkew <= 0 {
		return
	}
	limit := r.now.Add(r.maxSkew)
	n := 0
	for i := range l.evs {
		ev := &l.evs[i]
		if !ev.Time.After(limit) {
			if n != i {
				l.evs[n] = *ev
			}
			n++
			continue
		}
		l.futures++
		l.future = fmt.Appendf(l.future, "line %d: decode (%s): ", l.line, pipeline.ReasonFutureTime)
		if ev.EventID != "" {
			l.future = fmt.Appendf(l.future, "event %s: ", ev.EventID)
		}
		l.future = fmt.Appendf(l.future, "event time %s is more than %s (event.max_clock_skew) ahead of the clock\n", ev.Time.UTC().Format(time.RFC3339), r.maxSkew)
	}
	clear(l.evs[n:])
	l.evs = l.evs[:n]
}

// evaluate evaluates the events of a chunk on r.workers goroutines: worker
// k evaluates, in input order, the events whose count() identity hashes to
// k (see shard). It runs in the emitter, one chunk after the other.
func (r *replayer) evaluate(lines []replayLine) {
	for i := range lines {
		lines[i].res = make([]replayResult, len(lines[i].evs))
	}
	if r.workers == 1 {
		r.evaluateShard(lines, 0)
		return
	}
	var wg sync.WaitGroup
	for k := range r.workers {
		wg.Go(func() { r.evaluateShard(lines, k) })
	}
	wg.Wait()
}

// evaluateShard evaluates the events of lines that belong to shard k. Each
// event's result is written by its shard only.
func (r *replayer) evaluateShard(lines []replayLine, k int) {
	for i := range lines {
		l := &lines[i]
		for j := range l.evs {
			ev := &l.evs[j]
			if r.workers > 1 && r.shard(ev) != k {
				continue
			}
			out := &l.res[j]
			res := r.set.Evaluate(ev)
			for _, re := range res.Errors {
				out.ruleErrs++
				out.errs = fmt.Appendf(out.errs, "line %d: event %s: %v\n", l.line, ev.EventID, re)
			}
			for _, d := range res.Decisions {
				out.decisions = append(out.decisions, d.RuleID)
				out.out = appendDecision(out.out, replayDecision{
					Line: l.line, EventID: ev.EventID, RuleID: d.RuleID, Mode: d.Mode, Action: d.Action,
					User: d.User, Reason: d.Reason, Severity: d.Severity,
				})
			}
		}
	}
}

// shard is the evaluation shard of an event: a hash of the identity
// count() counts it by, so that the events of one user, even within one
// batch line, are evaluated by one worker in input order.
func (r *replayer) shard(ev *event.Event) int {
	return int(maphash.String(r.seed, counterIdentity(ev)) % uint64(r.workers))
}

// counterIdentity is rules' counterIdentity: the identity count() keys an
// event's counters by. TestReplayParallelMatchesSequential fails if they
// drift apart.
func counterIdentity(ev *event.Event) string {
	switch {
	case ev.UserEmail != "":
		return ev.UserEmail
	case ev.OPUserID != "":
		return ev.OPUserID
	}
	return ev.UserID
}

// emit prints the results of a chunk in input order. It runs in the
// emitter.
func (r *replayer) emit(lines []replayLine) error {
	var errs []byte
	for i := range lines {
		l := &lines[i]
		r.lines = l.line
		if l.err != nil {
			r.decodeErrs++
			errs = fmt.Appendf(errs, "line %d: decode (%s): %v\n", l.line, event.Reason(l.err), l.err)
		}
		r.decodeErrs += l.futures
		errs = append(errs, l.future...)
		r.events += len(l.evs)
		for _, res := range l.res {
			r.ruleErrs += res.ruleErrs
			errs = append(errs, res.errs...)
			for _, id := range res.decisions {
				r.byRule[id]++
			}
			if _, err := r.out.Write(res.out); err != nil {
				return err
			}
		}
	}
	if len(errs) > 0 {
		// Keep stdout and stderr in step for a reader of both.
		if err := r.out.Flush(); err != nil {
			return err
		}
		if _, err := r.errOut.Write(errs); err != nil {
			return err
		}
	}
	return nil
}

// appendDecision appends d as one JSON line, as encoding/json with
// SetEscapeHTML(false) writes it.
func appendDecision(b []byte, d replayDecision) []byte {
	b = append(b, `{"line":`...)
	b = strconv.AppendInt(b, int64(d.Line), 10)
	for _, f := range [...]struct{ name, v string }{
		{`,"event_id":`, d.EventID}, {`,"rule_id":`, d.RuleID}, {`,"mode":`, d.Mode}, {`,"action":`, d.Action},
		{`,"user":`, d.User}, {`,"reason":`, d.Reason}, {`,"severity":`, d.Severity},
	} {
		b = append(b, f.name...)
		b = appendJSONString(b, f.v)
	}
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string, as encoding/json does
// without HTML escaping: invalid UTF-8 becomes U+FFFD, U+2028 and U+2029
// are escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func trimSpace(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	for j > i && (b[j-1] == ' ' || b[j-1] == '\t' || b[j-1] == '\r') {
		j--
	}
	return b[i:j]
}
