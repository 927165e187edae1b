package ledger

import "time"

// SetMaxFailure shortens how long t's fetch loops retry before giving up.
func SetMaxFailure(t *Table, d time.Duration) { t.maxFailure = d }

// PartitionFor exposes the key-to-partition mapping.
func PartitionFor(key string, n int) int { return partitionFor(key, n) }
