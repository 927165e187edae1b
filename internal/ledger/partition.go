package ledger

import "hash/fnv"

// partitionFor returns the partition, out of n, that holds key: the 32-bit
// FNV-1a hash of the key's bytes, read as a signed int32, modulo n, made
// non-negative. It is the mapping of kafka-go's kafka.Hash balancer and of
// Sarama's default hash partitioner, so every instance (and any tool using
// those clients) agrees on it. It changes when n changes, which is why a
// ledger topic must never gain partitions.
func partitionFor(key string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(key)) // never fails
	p := int32(h.Sum32()) % int32(n)
	if p < 0 {
		p = -p
	}
	return int(p)
}
