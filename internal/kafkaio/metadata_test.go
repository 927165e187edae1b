package kafkaio

import (
	"testing"
	"time"
)

// TestTransportFollowsNewLeadersQuickly checks that the shared transport
// trusts its cached metadata for at most a second: it never refreshes it
// after an error, so a longer TTL keeps the writers and the ledger's
// fetches on a dead leader for that long after a new one is elected.
func TestTransportFollowsNewLeadersQuickly(t *testing.T) {
	t.Parallel()
	conn, err := NewConnection(Config{Brokers: []string{"127.0.0.1:9092"}})
	if err != nil {
		t.Fatal(err)
	}
	if ttl := conn.Transport.MetadataTTL; ttl <= 0 || ttl > time.Second {
		t.Errorf("transport metadata TTL %s, want set and at most 1s (kafka-go's default is 6s)", ttl)
	}
}
