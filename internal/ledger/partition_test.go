package ledger

import (
	"fmt"
	"testing"

	"github.com/segmentio/kafka-go"
)

func TestPartitionForMatchesKafkaHash(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 3, 6, 12} {
		parts := make([]int, n)
		for i := range parts {
			parts[i] = i
		}
		seen := map[int]bool{}
		for i := range 1000 {
			key := fmt.Sprintf("user-%d", i)
			want := (&kafka.Hash{}).Balance(kafka.Message{Key: []byte(key)}, parts...)
			got := partitionFor(key, n)
			if got != want {
				t.Fatalf("partitionFor(%q, %d) = %d, kafka.Hash says %d", key, n, got, want)
			}
			seen[got] = true
		}
		if len(seen) != n {
			t.Errorf("1000 keys use %d of %d partitions", len(seen), n)
		}
	}
}

// The mapping is part of the topic's format: instances of different
// versions must agree on it. These values must never change.
func TestPartitionForIsStable(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]int{"a": 0, "user-1": 0, "user-3": 2, "00000000-0000-0000-0000-000000000000": 1} {
		if got := partitionFor(key, 3); got != want {
			t.Errorf("partitionFor(%q, 3) = %d, want %d", key, got, want)
		}
	}
}
