package pipeline

import (
	"context"
	"sync"
)

// decoders prepare messages (decode, evaluate) on a fixed set of
// long-lived goroutines, in the order they were queued. The fetch loops
// queue a message and go on fetching, so the readers keep reading ahead
// while the decoders are busy (within the memory budget and the partition
// buffers); a goroutine per message would instead grow a fresh stack for
// the parser's recursion every time.
type decoders struct {
	jobs chan decodeJob
	wg   sync.WaitGroup
}

// decodeJob is one classified message to prepare under ctx; its result
// goes to next.
type decodeJob struct {
	ctx  context.Context
	env  envelope
	next chan<- *message
}

func newDecoders(c *Consumer, workers, queue int) *decoders {
	d := &decoders{jobs: make(chan decodeJob, queue)}
	for range workers {
		d.wg.Go(func() {
			for j := range d.jobs {
				j.next <- c.prepare(j.ctx, j.env)
			}
		})
	}
	return d
}

// submit queues a job, waiting while the queue is full; it returns false,
// without queueing, when stop ends first. A queued job is always prepared,
// even after stop. next must have room for the result.
func (d *decoders) submit(stop context.Context, j decodeJob) bool {
	select {
	case d.jobs <- j:
		return true
	case <-stop.Done():
		return false
	}
}

// close lets the decoders finish the queued jobs and waits for them. No
// job may be submitted after it.
func (d *decoders) close() {
	close(d.jobs)
	d.wg.Wait()
}
