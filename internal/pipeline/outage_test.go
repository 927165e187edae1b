package pipeline

import (
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// TestOutageBackOffStaysShort checks that, however many attempts have
// failed, joining and fetching wait at most about a second (the interval
// plus its randomization) before the next one: a broker failover is over
// within seconds, and a longer wait would only stretch it.
func TestOutageBackOffStaysShort(t *testing.T) {
	t.Parallel()
	b := outageBackOff(100*time.Millisecond, time.Hour)
	var longest time.Duration
	for i := range 200 {
		d := b.NextBackOff()
		if d == backoff.Stop || d <= 0 {
			t.Fatalf("attempt %d: wait %s, want a positive wait within the budget", i+1, d)
		}
		longest = max(longest, d)
	}
	if longest > 1500*time.Millisecond {
		t.Errorf("longest wait between attempts %s, want at most 1.5s", longest)
	}
	if longest < 500*time.Millisecond {
		t.Errorf("longest wait between attempts %s: the waits do not grow (want them to reach about a second)", longest)
	}
}
