package ledger

import (
	"bytes"
	"context"
	"fmt"
	"sync"
)

// Memory is an in-process table with the same contract as Table, for tests
// of other packages and for commands that need no durability: Put applies
// the record synchronously, before it returns. Nothing is shared between
// processes and nothing survives a restart.
//
// Memory is safe for concurrent use; it calls the ApplyFunc one call at a
// time.
type Memory struct {
	mu    sync.Mutex
	apply ApplyFunc
}

// NewMemory returns an empty Memory that hands every Put to apply. A nil
// apply discards the records.
func NewMemory(apply ApplyFunc) *Memory {
	if apply == nil {
		apply = func(string, []byte, string) {}
	}
	return &Memory{apply: apply}
}

// Put applies key=value (a nil value is a tombstone), signed with
// signature, before it returns. It fails, applying nothing, if key is empty
// or ctx is already done, as Table.Put would.
func (m *Memory) Put(ctx context.Context, key string, value []byte, signature string) error {
	if key == "" {
		return errEmptyKey
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ledger put: %w", err)
	}
	value = bytes.Clone(value) // nil stays nil: a tombstone
	m.mu.Lock()
	defer m.mu.Unlock()
	m.apply(key, value, signature)
	return nil
}
