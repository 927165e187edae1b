package ordered_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tripline-dev/tripline/internal/ordered"
)

// feed sends 0..n-1 on a new channel from a goroutine of the test and
// closes it; sent counts the sends completed. Cancel ctx to stop it early.
func feed(t *testing.T, ctx context.Context, n int, sent *atomic.Int64) <-chan int {
	t.Helper()
	in := make(chan int)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(in)
		for i := range n {
			select {
			case in <- i:
				if sent != nil {
					sent.Add(1)
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(wg.Wait)
	return in
}

// gate lets the test decide when each call of fn returns: fn(i) reports
// that it started, then waits for the test to release i.
type gate struct {
	started chan int
	release []chan struct{}
}

func newGate(n int) *gate {
	g := &gate{started: make(chan int, n), release: make([]chan struct{}, n)}
	for i := range g.release {
		g.release[i] = make(chan struct{})
	}
	return g
}

func (g *gate) fn(ctx context.Context, i int) int {
	g.started <- i
	select {
	case <-g.release[i]:
	case <-ctx.Done():
	}
	return i * i
}

// TestOrderUnderRandomCompletion releases the started calls in a random
// order, so that results complete in any order, and checks that they are
// emitted in input order and that no more than Window+1 items are ever in
// flight.
func TestOrderUnderRandomCompletion(t *testing.T) {
	t.Parallel()
	for _, cfg := range []ordered.Config{{Workers: 1, Window: 1}, {Workers: 3, Window: 3}, {Workers: 4, Window: 9}, {Workers: 8}} {
		const n = 1000
		r := rand.New(rand.NewPCG(uint64(cfg.Workers), uint64(cfg.Window)))
		g := newGate(n)
		var sent atomic.Int64
		in := feed(t, t.Context(), n, &sent)
		done := make(chan struct{})
		go func() {
			// The releaser: finishes a random one of the started calls,
			// and waits for one to start when none is left.
			var started []int
			for {
				if len(started) == 0 {
					select {
					case i := <-g.started:
						started = append(started, i)
					case <-done:
						return
					}
				}
			drain:
				for {
					select {
					case i := <-g.started:
						started = append(started, i)
					default:
						break drain
					}
				}
				k := r.IntN(len(started))
				close(g.release[started[k]])
				started[k] = started[len(started)-1]
				started = started[:len(started)-1]
			}
		}()
		window := cfg.Window
		if window == 0 {
			window = 4 * cfg.Workers
		}
		next := 0
		err := ordered.Map(t.Context(), cfg, in, g.fn, func(v int) error {
			if v != next*next {
				t.Fatalf("%+v: emitted %d, want %d (the result of item %d)", cfg, v, next*next, next)
			}
			next++
			if inFlight := sent.Load() - int64(next-1); inFlight > int64(window)+1 {
				t.Fatalf("%+v: %d items in flight, want at most %d", cfg, inFlight, window+1)
			}
			return nil
		})
		close(done)
		if err != nil || next != n {
			t.Fatalf("%+v: %v after %d results, want nil after %d", cfg, err, next, n)
		}
	}
}

// TestOrderUnderRandomWork gives every item a random amount of CPU work,
// with many more items than the window.
func TestOrderUnderRandomWork(t *testing.T) {
	t.Parallel()
	const n = 5000
	in := feed(t, t.Context(), n, nil)
	work := func(_ context.Context, i int) int {
		r := rand.New(rand.NewPCG(uint64(i), 7))
		x := 0
		for range r.IntN(2000) {
			x += r.IntN(3)
		}
		return i + 0*x
	}
	next := 0
	err := ordered.Map(t.Context(), ordered.Config{Workers: 4, Window: 16}, in, work, func(v int) error {
		if v != next {
			t.Fatalf("emitted %d, want %d", v, next)
		}
		next++
		return nil
	})
	if err != nil || next != n {
		t.Fatalf("%v after %d results", err, next)
	}
}

// TestCancel cancels the context while calls are in progress: Map returns
// the context's error, every call of fn has returned by then, and none
// starts afterwards.
func TestCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	in := feed(t, ctx, 1_000_000, nil)
	var active, calls atomic.Int64
	var returned atomic.Bool
	fn := func(ctx context.Context, i int) int {
		if returned.Load() {
			t.Errorf("fn(%d) called after Map returned", i)
		}
		active.Add(1)
		defer active.Add(-1)
		calls.Add(1)
		if i == 500 {
			cancel()
			<-ctx.Done() // fn's context is cancelled too
		}
		return i
	}
	emitted := 0
	err := ordered.Map(ctx, ordered.Config{Workers: 4}, in, fn, func(int) error { emitted++; return nil })
	returned.Store(true)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if n := active.Load(); n != 0 {
		t.Errorf("%d calls of fn still running after Map returned", n)
	}
	if emitted > 500 || calls.Load() >= 1_000_000 {
		t.Errorf("emitted %d results, %d calls: did not stop", emitted, calls.Load())
	}
}

// TestEmitError stops at the first failing emit and returns its error.
func TestEmitError(t *testing.T) {
	t.Parallel()
	in := feed(t, t.Context(), 10_000, nil)
	boom := errors.New("boom")
	var active atomic.Int64
	fn := func(_ context.Context, i int) int {
		active.Add(1)
		defer active.Add(-1)
		return i
	}
	emitted := 0
	err := ordered.Map(t.Context(), ordered.Config{Workers: 3, Window: 5}, in, fn, func(v int) error {
		if v == 100 {
			return boom
		}
		emitted++
		return nil
	})
	if !errors.Is(err, boom) || emitted != 100 {
		t.Fatalf("err %v after %d results, want boom after 100", err, emitted)
	}
	if n := active.Load(); n != 0 {
		t.Errorf("%d calls of fn still running after Map returned", n)
	}
}

func TestEmptyInputAndConfig(t *testing.T) {
	t.Parallel()
	in := make(chan int)
	close(in)
	err := ordered.Map(t.Context(), ordered.Config{}, in, func(_ context.Context, i int) int { return i }, func(int) error {
		t.Error("emit called for an empty input")
		return nil
	})
	if err != nil {
		t.Errorf("empty input: %v", err)
	}
	for _, cfg := range []ordered.Config{{Workers: -1}, {Window: -2}} {
		err := ordered.Map(t.Context(), cfg, in, func(_ context.Context, i int) int { return i }, func(int) error { return nil })
		if !errors.Is(err, ordered.ErrConfig) {
			t.Errorf("%+v: err %v, want ErrConfig", cfg, err)
		}
	}
}

func BenchmarkMap(b *testing.B) {
	in := make(chan int)
	n := b.N
	go func() {
		defer close(in)
		for i := range n {
			in <- i
		}
	}()
	err := ordered.Map(context.Background(), ordered.Config{}, in, func(_ context.Context, i int) int { return i },
		func(int) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
}
