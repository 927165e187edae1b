package pipeline

import (
	"context"
	"sync"

	"golang.org/x/sync/semaphore"
)

// keyed runs jobs with at most limit in flight in the process, one key at
// a time: the jobs of one key (one user) run in the order they were
// submitted, jobs of different keys in parallel. A slow key holds one slot
// and its own later jobs, nothing else.
type keyed struct {
	slots *semaphore.Weighted
	wg    sync.WaitGroup

	mu     sync.Mutex
	queues map[string][]func()
}

func newKeyed(limit int) *keyed {
	return &keyed{slots: semaphore.NewWeighted(int64(limit)), queues: map[string][]func(){}}
}

// submit queues job under key. It waits, while limit jobs are queued or
// running, for one to finish (back-pressure: the caller stops reading), and
// returns ctx's error if ctx ends first.
func (k *keyed) submit(ctx context.Context, key string, job func()) error {
	if err := k.slots.Acquire(ctx, 1); err != nil {
		return err
	}
	k.mu.Lock()
	q, running := k.queues[key]
	k.queues[key] = append(q, job)
	k.mu.Unlock()
	if !running {
		k.wg.Add(1)
		go k.run(key)
	}
	return nil
}

// run runs key's jobs until its queue is empty.
func (k *keyed) run(key string) {
	defer k.wg.Done()
	for {
		k.mu.Lock()
		q := k.queues[key]
		if len(q) == 0 {
			delete(k.queues, key)
			k.mu.Unlock()
			return
		}
		job := q[0]
		q[0] = nil
		k.queues[key] = q[1:]
		k.mu.Unlock()
		job()
		k.slots.Release(1)
	}
}

// wait waits for every job submitted so far to finish.
func (k *keyed) wait() { k.wg.Wait() }
