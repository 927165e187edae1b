package ledger

import (
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// TestFetchRetryStaysShort checks that a fetch failing again and again
// (its leader died) is tried again at least about once a second, so the
// table follows the new leader soon after its election.
func TestFetchRetryStaysShort(t *testing.T) {
	t.Parallel()
	f := (&Table{maxFailure: time.Hour}).newFetcher(0)
	var longest time.Duration
	for i := range 200 {
		d := f.b.NextBackOff()
		if d == backoff.Stop || d <= 0 {
			t.Fatalf("attempt %d: wait %s, want a positive wait within the failure budget", i+1, d)
		}
		longest = max(longest, d)
	}
	if longest > 1500*time.Millisecond {
		t.Errorf("longest wait between fetches %s, want at most 1.5s", longest)
	}
}
