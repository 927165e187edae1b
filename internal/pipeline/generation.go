package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/segmentio/kafka-go"
	"go.opentelemetry.io/otel/codes"
	"golang.org/x/sync/semaphore"

	"github.com/tripline-dev/tripline/internal/remediate"
)

// run is the work of one generation: its partitions, the messages fetched
// from them, their decisions and commits.
type run struct {
	c        *Consumer
	gen      Generation
	exec     *keyed
	buffered *semaphore.Weighted // bytes of messages in flight
	decoders *decoders           // prepare messages in fetch order

	stop    context.Context // done when fetching must stop
	stopNow context.CancelFunc
	work    context.Context // what in-flight decisions run under
	endWork context.CancelFunc

	mu         sync.Mutex
	over       bool // the generation returned: late finishers change nothing
	fatal      error
	trackers   map[TopicPartition]*tracker
	sent       map[TopicPartition]int64 // last offset committed per partition
	counted    map[TopicPartition]int64 // messages committed per partition
	finished   int                      // messages finished since the last commit
	lastCommit time.Time                // when the last commit was sent
	full       chan struct{}            // a batch of finished messages waits
}

// generation runs the generation until its partitions are revoked (genCtx),
// shutdown starts (ctx), a bounded source ends, or a fatal error: it stops
// fetching, lets the messages in flight finish within the shutdown grace,
// commits what finished and returns the fatal error, if any.
func (r *run) generation(ctx, genCtx context.Context) error {
	c := r.c
	r.trackers, r.sent, r.counted, r.full = map[TopicPartition]*tracker{}, map[TopicPartition]int64{}, map[TopicPartition]int64{}, make(chan struct{}, 1)
	r.lastCommit = time.Now() // a caught-up partition commits a twentieth of the interval after the start at the soonest
	r.stop, r.stopNow = context.WithCancel(context.WithoutCancel(ctx))
	defer r.stopNow()
	stopOnCtx := context.AfterFunc(ctx, r.stopNow)
	defer stopOnCtx()
	stopOnRevoke := context.AfterFunc(genCtx, r.stopNow)
	defer stopOnRevoke()
	// Work goes on past the stop for the shutdown grace.
	r.work, r.endWork = context.WithCancel(context.WithoutCancel(ctx))
	defer r.endWork()
	graceTimer := context.AfterFunc(r.stop, func() {
		t := time.AfterFunc(c.cfg.ShutdownGrace, r.endWork)
		context.AfterFunc(r.work, func() { t.Stop() })
	})
	defer graceTimer()

	claims := r.gen.Claims()
	for _, cl := range claims {
		r.trackers[cl.TopicPartition] = newTracker(cl.Offset)
	}
	commitsDone := make(chan struct{})
	commitCtx, stopCommits := context.WithCancel(context.Background())
	go func() {
		defer close(commitsDone)
		r.commitLoop(commitCtx)
	}()
	var partitions sync.WaitGroup
	for _, cl := range claims {
		partitions.Go(func() { r.partition(cl) })
	}
	if len(claims) == 0 {
		<-r.stop.Done() // a member without partitions waits for the next rebalance
	}
	partitions.Wait()
	r.mu.Lock()
	r.over = true
	r.mu.Unlock()
	stopCommits()
	<-commitsDone
	final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.commit(final); err != nil {
		c.log.Warn("final offset commit failed; the messages after the last commit are redelivered", "error", err.Error())
	}
	return r.fatalErr()
}

// fail records a fatal error and stops the generation at once.
func (r *run) fail(err error) {
	r.mu.Lock()
	if r.fatal == nil {
		r.fatal = err
	}
	r.mu.Unlock()
	r.stopNow()
	r.endWork()
}

func (r *run) fatalErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fatal
}

// partition reads one claimed partition: each message is prepared
// (decoded, evaluated) on the decoders, and handed over in offset order.
// It returns once fetching stopped and every message it fetched is
// finished or abandoned.
func (r *run) partition(cl Claim) {
	c := r.c
	reader := r.gen.Reader(cl)
	defer reader.Close()
	var inFlight sync.WaitGroup
	ordered := make(chan chan *message, c.cfg.PartitionBuffer)
	handed := make(chan struct{})
	go func() {
		defer close(handed)
		for next := range ordered {
			r.handOver(<-next, &inFlight)
		}
	}()
	r.fetch(cl, reader, ordered, &inFlight)
	close(ordered)
	finished := make(chan struct{})
	go func() {
		<-handed
		inFlight.Wait()
		close(finished)
	}()
	// Past the grace, what is still in flight is abandoned: it is left for
	// redelivery, and whatever it does later is no longer this
	// generation's (see finish).
	select {
	case <-finished:
	case <-r.work.Done():
	}
}

// fetch reads until the stop, the end of a bounded partition or a fatal
// error, and starts preparing each message.
func (r *run) fetch(cl Claim, reader PartitionReader, ordered chan<- chan *message, inFlight *sync.WaitGroup) {
	c := r.c
	m := c.deps.Metrics
	topicAttr := attrs("topic", cl.Topic)
	partAttr := attrs("topic", cl.Topic, "partition", strconv.Itoa(cl.Partition))
	b := outageBackOff(100*time.Millisecond, c.cfg.FetchRetry)
	track := r.trackers[cl.TopicPartition]
	for {
		msg, err := reader.FetchMessage(r.stop)
		switch {
		case r.stop.Err() != nil, errors.Is(err, ErrEndOfInput):
			return
		case err != nil:
			if err := r.fetchFailed(b, err); err != nil {
				r.fail(err)
				return
			}
			continue
		}
		b.Reset()
		// Classified once, here: nothing after reads tripline's headers of
		// the message again.
		env := c.classify(msg)
		if env.kind == kindParked && !r.waitDue(&env) {
			return
		}
		c.count(func(s *Stats) { s.Consumed++ })
		m.consumed.Add(r.stop, 1, topicAttr)
		if msg.HighWaterMark > 0 {
			m.lag.Record(r.stop, max(0, msg.HighWaterMark-msg.Offset-1), partAttr)
		}
		// Memory: wait until the messages in flight leave room for this one.
		if r.buffered.Acquire(r.stop, c.weight(msg)) != nil {
			return
		}
		track.fetched(msg.Offset)
		inFlight.Add(1)
		// Queued for the decoders, the message is prepared while fetching
		// goes on.
		next := make(chan *message, 1)
		if !r.decoders.submit(r.stop, decodeJob{ctx: r.work, env: env, next: next}) {
			r.buffered.Release(c.weight(msg))
			inFlight.Done()
			return
		}
		select {
		case ordered <- next:
		case <-r.stop.Done():
			// Not handed over: abandon it once prepared.
			go func() { r.abandon(<-next); inFlight.Done() }()
			return
		}
	}
}

// fetchFailed waits before the next fetch after a failure. It returns an
// error, which stops the consumer, when the reader was closed or fetching
// kept failing for longer than FetchRetry.
func (r *run) fetchFailed(b *backoff.ExponentialBackOff, err error) error {
	c := r.c
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("fetch: reader closed: %w", err)
	}
	wait := b.NextBackOff()
	if wait == backoff.Stop {
		return fmt.Errorf("fetch: failing for over %s: %w", c.cfg.FetchRetry, err)
	}
	c.deps.Metrics.fetchErrors.Add(r.stop, 1)
	c.log.WarnContext(r.stop, "fetch failed; retrying", "wait", wait.String(), "error", err.Error())
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-r.stop.Done():
	case <-t.C:
	}
	return nil
}

// handOver gives a prepared message's decisions to the keyed executor (in
// offset order, so one user's decisions keep their order), or finishes it
// when it has none.
func (r *run) handOver(m *message, inFlight *sync.WaitGroup) {
	done := func() { inFlight.Done() }
	if len(m.decisions) == 0 {
		r.finish(m)
		done()
		return
	}
	c := r.c
	m.pending = len(m.decisions)
	c.count(func(s *Stats) { s.Decisions += int64(len(m.decisions)) })
	for i, h := range m.decisions {
		err := r.exec.submit(r.stop, h.key(), func() { r.decided(m, h, done) })
		if err != nil {
			// Stopping: the decisions not handed over leave the message
			// for redelivery.
			m.mu.Lock()
			m.abandoned = true
			m.pending -= len(m.decisions) - i
			last := m.pending == 0
			m.mu.Unlock()
			if last {
				r.finish(m)
				done()
			}
			return
		}
	}
}

// decided runs one decision of m and finishes m after its last one.
func (r *run) decided(m *message, h handover, done func()) {
	out, f, err := r.c.decideSafely(m.ctx, r.stop, h)
	m.mu.Lock()
	if out.Result != "" && err == nil {
		m.outcomes = append(m.outcomes, out)
	}
	switch {
	case errors.Is(err, errShutdown):
		m.abandoned = true
	case err != nil:
		m.fatal = err
	case f != nil:
		m.fails = append(m.fails, *f)
	}
	m.pending--
	last := m.pending == 0
	m.mu.Unlock()
	if last {
		r.finish(m)
		done()
	}
}

// finish takes a message whose decisions are all decided to its final
// outcome: dead-letter its failures, then mark its offset finished, and
// hand Deps.OnOutcome the outcome of every message the partition's
// watermark passed. A message abandoned (shutdown) or that met a fatal
// error is not finished: it stays uncommitted, for redelivery, and no
// outcome is reported for it or for the messages after it.
func (r *run) finish(m *message) {
	c := r.c
	defer r.buffered.Release(m.weight)
	defer m.span.End()
	r.mu.Lock()
	over := r.over
	r.mu.Unlock()
	switch {
	case over:
		return // abandoned when the generation ended: redelivered to the next owner
	case m.fatal != nil:
		m.span.SetStatus(codes.Error, m.fatal.Error())
		r.fail(m.fatal)
		return
	case m.abandoned:
		return
	}
	if len(m.fails) > 0 {
		m.span.SetStatus(codes.Error, m.fails[0].class)
		if err := c.deadLetter(m); err != nil {
			r.fail(err)
			return
		}
	}
	var note *outcomeNote
	var emit func(outcomeNote)
	if c.deps.OnOutcome != nil {
		note, emit = &outcomeNote{ctx: m.ctx, out: m.outcome()}, c.emitOutcome
	}
	track := r.trackers[m.tp]
	if _, moved := track.finish(m.env.msg.Offset, note, emit); moved {
		r.mu.Lock()
		r.finished++
		full := r.finished >= c.cfg.CommitBatch
		r.mu.Unlock()
		if full {
			select {
			case r.full <- struct{}{}:
			default:
			}
		}
	}
}

// abandon ends a message that was prepared but never handed over.
func (r *run) abandon(m *message) {
	r.buffered.Release(m.weight)
	m.span.End()
}

// commitLoop commits every CommitInterval, whenever CommitBatch messages
// finished, and, every twentieth of the interval, when a partition has
// caught up with everything it fetched (the tail of a burst does not wait
// for the interval), until ctx is done. After a failed commit (the group's
// coordinator died), the next try waits for the interval: a caught-up
// partition would otherwise try, and log, twenty times as often.
func (r *run) commitLoop(ctx context.Context) {
	t := time.NewTicker(max(r.c.cfg.CommitInterval/20, time.Millisecond))
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.mu.Lock()
			due := time.Since(r.lastCommit) >= r.c.cfg.CommitInterval
			r.mu.Unlock()
			if !due && (failing || !r.caughtUp()) {
				continue
			}
		case <-r.full:
		}
		err := r.commit(ctx)
		failing = err != nil
		if err != nil && ctx.Err() == nil {
			r.c.log.Warn("offset commit failed; retrying at the next interval", "error", err.Error())
		}
	}
}

// caughtUp reports whether a partition has finished everything it fetched
// and has a watermark not committed yet.
func (r *run) caughtUp() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for tp, t := range r.trackers {
		if w := t.watermark(); w >= 0 && w > r.sent[tp] && t.inFlight() == 0 {
			return true
		}
	}
	return false
}

// commit commits the watermark of every partition that moved since the
// last commit.
func (r *run) commit(ctx context.Context) error {
	offsets := map[TopicPartition]int64{}
	r.mu.Lock()
	for tp, t := range r.trackers {
		if w := t.watermark(); w >= 0 && w > r.sent[tp] {
			offsets[tp] = w
		}
	}
	r.finished = 0
	r.lastCommit = time.Now()
	r.mu.Unlock()
	if len(offsets) == 0 {
		return nil
	}
	if err := r.gen.Commit(ctx, offsets); err != nil {
		return err
	}
	var n int64
	r.mu.Lock()
	for tp, w := range offsets {
		released := r.trackers[tp].releasedUpTo(w)
		n += released - r.counted[tp]
		r.sent[tp], r.counted[tp] = w, released
	}
	r.mu.Unlock()
	r.c.deps.Metrics.commits.Add(ctx, 1)
	r.c.count(func(s *Stats) { s.Committed += n })
	return nil
}

// decideSafely runs decide, turning a panic into a failure of class panic.
// The context of a message (prepared under the work context) outlives the
// stop for the shutdown grace and carries the message's trace.
func (c *Consumer) decideSafely(ctx, stop context.Context, h handover) (out remediate.Outcome, f *failure, err error) {
	defer func() {
		if p := recover(); p != nil {
			c.log.ErrorContext(ctx, "panic while deciding", "rule_id", h.d.RuleID, "event_id", h.d.EventID, "panic", fmt.Sprint(p))
			out, f, err = remediate.Outcome{}, &failure{class: ClassPanic, ruleID: h.d.RuleID, message: fmt.Sprintf("panic: %v", p), attempts: 1, first: time.Now(), item: h.item, value: h.value}, nil
		}
	}()
	return c.decide(ctx, stop, h)
}

// weight is what a message counts against Config.BufferBytes: its key,
// value and headers, at most the whole budget.
func (c *Consumer) weight(msg kafka.Message) int64 {
	n := len(msg.Key) + len(msg.Value)
	for _, h := range msg.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return min(int64(n)+64, c.cfg.BufferBytes)
}
