package ledger_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tripline-dev/tripline/internal/ledger"
)

func TestMemoryPutAppliesSynchronously(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	m := ledger.NewMemory(rec.apply)

	value := []byte("v1")
	mustPut(t, m, "u1", value)
	value[0] = 'X' // the caller may reuse its buffer
	if got := rec.table()["u1"]; got != "v1" {
		t.Errorf("after Put, u1 = %q, want v1", got)
	}
	mustPut(t, m, "u1", nil)
	if diff := cmp.Diff([]string{"v1", "<nil>"}, rec.callsFor("u1")); diff != "" {
		t.Errorf("applies (-want +got):\n%s", diff)
	}

	if err := m.Put(t.Context(), "", []byte("v"), ""); err == nil {
		t.Error("Put with an empty key succeeded")
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if err := m.Put(cancelled, "u2", []byte("v"), ""); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a cancelled context: %v", err)
	}
	if _, ok := rec.table()["u2"]; ok {
		t.Error("a failed Put was applied")
	}
}

func TestMemoryConcurrentPuts(t *testing.T) {
	t.Parallel()
	// apply touches unguarded state: -race reports overlapping calls.
	seen := map[string]int{}
	m := ledger.NewMemory(func(k string, _ []byte, _ string) { seen[k]++ })
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if err := m.Put(t.Context(), "k", []byte("v"), ""); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if seen["k"] != 800 {
		t.Errorf("applied %d times, want 800", seen["k"])
	}
	if err := ledger.NewMemory(nil).Put(t.Context(), "k", nil, ""); err != nil {
		t.Errorf("Memory with a nil apply: %v", err)
	}
}
