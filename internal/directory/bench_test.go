package directory_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tripline-dev/tripline/internal/directory"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// BenchmarkDirectoryLookup looks up known emails in a directory of 100,000
// users (the hit path).
func BenchmarkDirectoryLookup(b *testing.B) {
	const n = 100_000
	users := make([]remediate.User, n)
	emails := make([]string, n)
	for i := range users {
		emails[i] = fmt.Sprintf("user%06d@example.com", i)
		users[i] = remediate.User{ID: fmt.Sprintf("ID%024d", i), Email: emails[i], State: remediate.StateActive}
	}
	lister := listerFunc(func(_ context.Context, _ string, size int, fn func([]remediate.User) error) (int, error) {
		for i := 0; i < len(users); i += size {
			if err := fn(users[i:min(i+size, len(users))]); err != nil {
				return 0, err
			}
		}
		return (len(users) + size - 1) / size, nil
	})
	dir, err := directory.New(directory.Config{}, lister)
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	if err := dir.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("lower-case", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := dir.Lookup(ctx, emails[i%n]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("mixed-case", func(b *testing.B) {
		mixed := make([]string, 1000)
		for i := range mixed {
			mixed[i] = fmt.Sprintf(" User%06d@Example.com ", i*97)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := dir.Lookup(ctx, mixed[i%len(mixed)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
