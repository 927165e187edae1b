package ledger_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/kafkatest"
)

// TestSyncWakesAsTheTailCatchesUp: a Sync called right after another
// instance's write, before the tail has read it, returns as soon as the
// tail applies it (it is woken, it does not wait for a deadline), with the
// record applied; a hundred times in a row, each within a few seconds.
func TestSyncWakesAsTheTailCatchesUp(t *testing.T) {
	t.Parallel()
	brokers := kafkatest.Brokers(t)
	topic := topicName(t, brokers)
	recB := newRecorder()
	a := mustLoad(t, config(t, brokers, topic), newRecorder())
	b := mustLoad(t, config(t, brokers, topic), recB)
	run(t, b)
	for i := range 100 {
		key := fmt.Sprint("u", i)
		mustPut(t, a, key, []byte("suspended"))
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		err := b.Sync(ctx)
		cancel()
		if err != nil {
			t.Fatalf("Sync after write %d: %v", i, err)
		}
		if got := recB.table()[key]; got != "suspended" {
			t.Fatalf("after Sync, b has %q for %s, want suspended", got, key)
		}
	}
}
