package onepassword_test

import (
	"runtime"
	"testing"

	"github.com/tripline-dev/tripline/internal/onepassword"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// BenchmarkListAll100k lists 100,000 users from the simulator over HTTP in
// pages of 1,000. peak-heap-MB is the largest live heap seen between pages.
func BenchmarkListAll100k(b *testing.B) {
	env := newSimEnv(b, opsim.Config{Generate: 100_000}, nil)
	ctx := b.Context()
	if err := env.client.Token(ctx); err != nil {
		b.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	var pages, users int
	for b.Loop() {
		users = 0
		n, err := env.client.ListAll(ctx, "", onepassword.MaxPageSize, func(u []remediate.User) error {
			users += len(u)
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		pages = n
	}
	if users != 100_000 {
		b.Fatalf("listed %d users", users)
	}
	b.ReportMetric(float64(pages), "pages")
	b.ReportMetric(float64(peak-min(peak, base))/(1<<20), "peak-heap-MB")
}
