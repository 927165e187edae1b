package rules

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"runtime"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/ordered"
)

// ReplayConfig configures Replay.
type ReplayConfig struct {
	// Set is the rule set to evaluate (required). Its count() state
	// carries over between the events of one replay, as in the consumer.
	Set *Set
	// Decode turns one input line into events (required). Nothing it
	// returns may point into the line: Replay reuses the line buffers.
	// event.Decoder.Decode qualifies.
	Decode DecodeFunc
	// Workers is the number of goroutines that decode and evaluate
	// (default runtime.GOMAXPROCS(0)). The output does not depend on it.
	Workers int
	// MaxClockSkew is the consumer's event.max_clock_skew: an event dated
	// more than this ahead of Now is not evaluated and is reported as a
	// decode error (future_time), as the consumer dead-letters it. 0 turns
	// the check off.
	MaxClockSkew time.Duration
	// Now is the clock MaxClockSkew is measured from: the wall clock when
	// the replay starts (the default), not the replayed events' times.
	Now time.Time
	// Errors receives one line per problem, with its input line number:
	// decode errors, rule runtime errors and the read error that stopped
	// the replay, if any (default io.Discard).
	Errors io.Writer
}

// ReplaySummary is what a replay went through.
type ReplaySummary struct {
	// Lines is the number of the last input line handled (blank lines
	// included) and Events the number of events evaluated. An event dated
	// too far ahead counts as a decode error, not as an event.
	Lines, Events int
	// Decisions is the number of decisions, ByRule the same by rule id.
	Decisions int
	ByRule    map[string]int
	// DecodeErrors and RuleErrors count the problems reported on
	// ReplayConfig.Errors.
	DecodeErrors, RuleErrors int
	// ReadErr is the error that stopped reading the input before its end,
	// reported on ReplayConfig.Errors as "line N: read: ...".
	ReadErr error
	// Interrupted is set when ctx was cancelled before the end of the
	// input.
	Interrupted bool
}

// OK reports whether every input line was read, decoded and evaluated
// without error.
func (s ReplaySummary) OK() bool {
	return s.DecodeErrors == 0 && s.RuleErrors == 0 && s.ReadErr == nil && !s.Interrupted
}

// WriteTo writes the summary as `consumer replay` prints it at the end: a
// line of totals, then one line per rule that decided, sorted by rule id.
func (s ReplaySummary) WriteTo(w io.Writer) (int64, error) {
	ids := make([]string, 0, len(s.ByRule))
	for id := range s.ByRule {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	b := fmt.Appendf(nil, "replay: %d lines, %d events, %d decisions, %d decode errors, %d rule errors\n",
		s.Lines, s.Events, s.Decisions, s.DecodeErrors, s.RuleErrors)
	for _, id := range ids {
		b = fmt.Appendf(b, "  %-28s %d\n", id, s.ByRule[id])
	}
	n, err := w.Write(b)
	return int64(n), err
}

// Replay evaluates cfg.Set over the lines of in, one Kafka message value
// per line, without acting, and writes every decision to out as a JSON
// line (see replayDecision), in input order. Blank lines are skipped.
//
// Lines are decoded and evaluated on cfg.Workers goroutines, and the
// output is the same bytes whatever their number: the events of one user
// (the identity count() counts by) are evaluated in input order, so
// count() sees what it would see one line at a time. Only when the count()
// state is full may which counter it forgets first, and so a decision,
// differ between runs.
//
// A cancelled ctx stops the replay early (Interrupted). Replay returns an
// error only for an invalid cfg or when it cannot write to out or
// cfg.Errors ("write: ..."); then the summary is incomplete.
func Replay(ctx context.Context, cfg ReplayConfig, in io.Reader, out io.Writer) (ReplaySummary, error) {
	r, err := newReplayer(cfg, out)
	if err != nil {
		return ReplaySummary{}, err
	}
	return r.run(ctx, in)
}

// replayer is one run of Replay.
type replayer struct {
	set     *Set
	decode  DecodeFunc
	workers int
	seed    maphash.Seed
	maxSkew time.Duration
	now     time.Time
	// free holds chunk buffers for the reader to use again.
	free chan []byte

	out    *bufio.Writer
	errOut io.Writer
	// sum holds the emitter's totals.
	sum ReplaySummary
}

// newReplayer checks cfg and applies its defaults.
func newReplayer(cfg ReplayConfig, out io.Writer) (*replayer, error) {
	switch {
	case cfg.Set == nil || cfg.Decode == nil:
		return nil, errors.New("replay: a rule set and a decoder are required")
	case cfg.Workers < 0:
		return nil, fmt.Errorf("replay: negative workers %d", cfg.Workers)
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Now.IsZero() {
		cfg.Now = time.Now()
	}
	if cfg.Errors == nil {
		cfg.Errors = io.Discard
	}
	return &replayer{
		set: cfg.Set, decode: cfg.Decode, workers: cfg.Workers, seed: maphash.MakeSeed(),
		maxSkew: cfg.MaxClockSkew, now: cfg.Now, free: make(chan []byte, 8*cfg.Workers),
		out: bufio.NewWriterSize(out, 64<<10), errOut: cfg.Errors,
		sum: ReplaySummary{ByRule: map[string]int{}},
	}, nil
}

// run reads in on one goroutine, decodes its chunks on r.workers and
// evaluates and emits them in input order (see ordered.Map).
func (r *replayer) run(ctx context.Context, in io.Reader) (ReplaySummary, error) {
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
	mapErr := ordered.Map(ctx, ordered.Config{Workers: r.workers, Window: 2 * r.workers}, chunks, r.decodeChunk, func(lines []replayLine) error {
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
		return r.sum, fmt.Errorf("write: %w", writeErr)
	}
	if readErr != nil && mapErr == nil {
		r.sum.ReadErr = readErr
		fmt.Fprintf(r.errOut, "line %d: read: %v\n", readLines+1, readErr)
	}
	r.sum.Interrupted = ctx.Err() != nil
	for _, n := range r.sum.ByRule {
		r.sum.Decisions += n
	}
	return r.sum, nil
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
					Line: l.line, EventID: ev.EventID, RuleID: d.RuleID, Mode: string(d.Mode), Action: string(d.Action),
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

// emit prints the results of a chunk in input order and adds them to the
// summary. It runs in the emitter.
func (r *replayer) emit(lines []replayLine) error {
	var errs []byte
	for i := range lines {
		l := &lines[i]
		r.sum.Lines = l.line
		if l.err != nil {
			r.sum.DecodeErrors++
			errs = fmt.Appendf(errs, "line %d: decode (%s): %v\n", l.line, event.Reason(l.err), l.err)
		}
		r.sum.DecodeErrors += l.futures
		errs = append(errs, l.future...)
		r.sum.Events += len(l.evs)
		for _, res := range l.res {
			r.sum.RuleErrors += res.ruleErrs
			errs = append(errs, res.errs...)
			for _, id := range res.decisions {
				r.sum.ByRule[id]++
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
