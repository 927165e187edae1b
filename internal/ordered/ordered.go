// Package ordered runs a function over a stream of items on several
// goroutines and hands the results back one at a time, in the order the
// items came in, with a bound on how many items are in flight.
//
// It is a leaf package (it imports no other tripline package). `consumer
// replay` uses it to decode lines on every core while printing in input
// order; anything that needs "parallel work, sequential effects" (a
// pipeline that decodes a partition's messages in parallel and commits in
// offset order) can use it too.
package ordered

import (
	"context"
	"errors"
	"runtime"

	"golang.org/x/sync/errgroup"
)

// Config configures Map. Zero values select the defaults.
type Config struct {
	// Workers is the number of goroutines that call fn (default
	// runtime.GOMAXPROCS(0)).
	Workers int
	// Window is the most items in flight: received from in and not yet
	// given to emit, besides the one being handed to a worker (default
	// 4 × Workers; at least Workers). It bounds the memory Map holds,
	// whatever the order in which the items complete: when the oldest
	// item is slow, the workers finish at most Window-1 later items and
	// then wait for it.
	Window int
}

// ErrConfig is returned by Map for a negative Workers or Window.
var ErrConfig = errors.New("ordered: invalid config")

func (c Config) withDefaults() (Config, error) {
	if c.Workers < 0 || c.Window < 0 {
		return c, ErrConfig
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Window == 0 {
		c.Window = 4 * c.Workers
	}
	c.Window = max(c.Window, c.Workers, 1)
	return c, nil
}

// Map receives items from in until it is closed, calls fn on each from one
// of cfg.Workers goroutines, and calls emit with each result, in the order
// the items were received, from the goroutine that called Map. emit is
// never called concurrently, so it needs no locking.
//
// Map returns nil once in is closed and every result has been emitted. It
// returns early, with ctx.Err(), when ctx is done (emit is not called once
// Map has seen it), or with emit's error when emit fails: then it stops
// receiving from in, waits for the calls of fn in progress to return and
// drops the results not yet emitted. It never leaves a goroutine behind.
// The caller owns in: Map does not close or drain it.
//
// Map costs about a microsecond per item (BenchmarkMap): give it batches
// when fn is cheap.
//
// fn gets a context that is cancelled when Map stops early; results of fn
// that carry errors are the caller's business (make R hold them). A panic
// in fn is not recovered: recover inside fn if an item may panic.
func Map[T, R any](ctx context.Context, cfg Config, in <-chan T, fn func(context.Context, T) R, emit func(R) error) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	// Each item gets the next of Window result slots, reused in turn. A
	// slot holds at most one result: the item that reuses it is received
	// only after the emitter took the slot's previous result (see below),
	// so a worker never blocks on sending a result.
	slots := make([]chan R, cfg.Window)
	for i := range slots {
		slots[i] = make(chan R, 1)
	}
	type job struct {
		item T
		slot chan R
	}
	jobs := make(chan job)
	// order holds the slots of the items in flight, in the order received.
	// With room for Window-1 slots plus the one the emitter waits on, when
	// the dispatcher hands out slot i%Window for item i, the emitter has
	// taken the slot of item i-Window+1 from order, and so has emitted the
	// result of item i-Window, the slot's previous user.
	order := make(chan chan R, cfg.Window-1)

	stopCtx, stop := context.WithCancel(ctx)
	defer stop()
	g, gctx := errgroup.WithContext(stopCtx)
	g.Go(func() error {
		defer close(jobs)
		defer close(order)
		for i := 0; ; i++ {
			var it T
			select {
			case <-gctx.Done():
				return nil
			case v, ok := <-in:
				if !ok {
					return nil
				}
				it = v
			}
			slot := slots[i%len(slots)]
			select {
			case <-gctx.Done():
				return nil
			case order <- slot:
			}
			select {
			case <-gctx.Done():
				// The emitter stops at gctx.Done too: it never waits
				// for this slot.
				return nil
			case jobs <- job{it, slot}:
			}
		}
	})
	for range cfg.Workers {
		g.Go(func() error {
			for j := range jobs {
				j.slot <- fn(gctx, j.item)
			}
			return nil
		})
	}

	emitErr := emitAll(gctx, order, emit)
	// Stop the dispatcher and the workers when the emitter stopped early;
	// after the last result it changes nothing.
	stop()
	_ = g.Wait() // the goroutines return only nil
	switch {
	case emitErr != nil:
		return emitErr
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return nil
}

// emitAll emits the result of each slot of order in turn until order is
// closed, gctx is done or emit fails.
func emitAll[R any](gctx context.Context, order <-chan chan R, emit func(R) error) error {
	for {
		var slot chan R
		var ok bool
		select {
		case <-gctx.Done():
			return nil
		case slot, ok = <-order:
			if !ok {
				return nil
			}
		}
		select {
		case <-gctx.Done():
			return nil
		case r := <-slot:
			if gctx.Err() != nil {
				// Both were ready: stopping wins, so that nothing is
				// emitted once ctx is done.
				return nil
			}
			if err := emit(r); err != nil {
				return err
			}
		}
	}
}
