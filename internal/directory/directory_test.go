package directory_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tripline-dev/tripline/internal/directory"
	"github.com/tripline-dev/tripline/internal/fakeclock"
	"github.com/tripline-dev/tripline/internal/onepassword"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/remediate"
)

var (
	_ directory.Lister    = (*onepassword.Client)(nil)
	_ remediate.Directory = (*directory.Directory)(nil)
)

type fakeClock = fakeclock.Clock

type env struct {
	sim    *opsim.Server
	client *onepassword.Client
	clock  *fakeClock
	dir    *directory.Directory
}

// newEnv serves a simulator over HTTP and builds a directory on a real
// client, both on one fake clock.
func newEnv(t testing.TB, seed opsim.Seed, generate int, cfg directory.Config) *env {
	t.Helper()
	clock := fakeclock.New(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	sim, err := opsim.New(opsim.Config{Seed: seed, Generate: generate, Now: clock.Now, Rand: rand.New(rand.NewPCG(3, 4))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	client, err := onepassword.New(context.Background(), onepassword.Config{
		BaseURL: ts.URL, AllowInsecureLoopback: true, AccountID: sim.Account(),
		ClientID: opsim.DefaultClientID, ClientSecret: opsim.DefaultClientSecret,
	}, onepassword.WithTransport(ts.Client().Transport), onepassword.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := directory.New(cfg, client, directory.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	return &env{sim: sim, client: client, clock: clock, dir: dir}
}

func (e *env) lists() int {
	n := 0
	for _, r := range e.sim.Requests() {
		if r.Endpoint == opsim.EndpointList {
			n++
		}
	}
	return n
}

var seedUsers = opsim.Seed{Users: []opsim.UserSeed{
	{ID: "ALICE", Email: "Alice.Smith@Example.com"},
	{ID: "BOB", Email: "bob@example.com", State: opsim.StateSuspended},
}}

func TestLookupNormalizesEmail(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seedUsers, 0, directory.Config{})
	if e.dir.Ready() {
		t.Fatal("Ready before any load")
	}
	if err := e.dir.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !e.dir.Ready() || e.dir.Len() != 2 {
		t.Fatalf("Ready=%v Len=%d after refresh", e.dir.Ready(), e.dir.Len())
	}
	for _, email := range []string{"alice.smith@example.com", "ALICE.SMITH@EXAMPLE.COM", "  Alice.Smith@example.com\t\n"} {
		got, err := e.dir.Lookup(t.Context(), email)
		want := remediate.User{ID: "ALICE", Email: "Alice.Smith@Example.com", State: remediate.StateActive}
		if err != nil || got != want {
			t.Errorf("Lookup(%q) = %+v, %v; want %+v", email, got, err, want)
		}
	}
	got, err := e.dir.Lookup(t.Context(), "bob@example.com")
	if err != nil || got.State != remediate.StateSuspended {
		t.Errorf("Lookup(bob) = %+v, %v", got, err)
	}
	if n := e.lists(); n != 1 {
		t.Errorf("%d list requests, want 1", n)
	}
}

func TestMissRefreshesOnceThenFinds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seedUsers, 0, directory.Config{})
	// First lookup on an empty directory loads it.
	got, err := e.dir.Lookup(t.Context(), "bob@example.com")
	if err != nil || got.ID != "BOB" {
		t.Fatalf("Lookup = %+v, %v", got, err)
	}
	if n := e.lists(); n != 1 {
		t.Fatalf("%d list requests, want 1", n)
	}
	// Unknown: one more listing (the previous one was a miss refresh, so
	// wait out the rate limit first), then ErrNotFound, then cached.
	e.clock.Advance(directory.DefaultMinMissRefreshInterval)
	if _, err := e.dir.Lookup(t.Context(), "carol@example.com"); !errors.Is(err, remediate.ErrUserNotFound) {
		t.Fatalf("Lookup(carol) = %v, want ErrNotFound", err)
	}
	if n := e.lists(); n != 2 {
		t.Fatalf("%d list requests after a miss, want 2", n)
	}
	e.clock.Advance(directory.DefaultMinMissRefreshInterval)
	if _, err := e.dir.Lookup(t.Context(), "carol@example.com"); !errors.Is(err, remediate.ErrUserNotFound) {
		t.Fatalf("Lookup(carol) again = %v", err)
	}
	if n := e.lists(); n != 2 {
		t.Fatalf("a cached miss caused a listing (%d)", n)
	}
}

func TestMissFindsNewUser(t *testing.T) {
	t.Parallel()
	// The simulator cannot add users after start, so the directory first
	// loads from a lister that lacks the user, then the simulator's.
	e := newEnv(t, seedUsers, 0, directory.Config{})
	var calls atomic.Int32
	lister := listerFunc(func(ctx context.Context, filter string, size int, fn func([]remediate.User) error) (int, error) {
		if calls.Add(1) == 1 {
			return 1, fn([]remediate.User{{ID: "BOB", Email: "bob@example.com", State: remediate.StateActive}})
		}
		return e.client.ListAll(ctx, filter, size, fn)
	})
	dir, err := directory.New(directory.Config{}, lister, directory.WithClock(e.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, err := dir.Lookup(t.Context(), "alice.smith@example.com")
	if err != nil || got.ID != "ALICE" {
		t.Fatalf("Lookup after miss = %+v, %v", got, err)
	}
	if calls.Load() != 2 || e.lists() != 1 {
		t.Errorf("%d listings, %d at the simulator; want 2 and 1", calls.Load(), e.lists())
	}
}

type listerFunc func(ctx context.Context, filter string, size int, fn func([]remediate.User) error) (int, error)

func (f listerFunc) ListAll(ctx context.Context, filter string, size int, fn func([]remediate.User) error) (int, error) {
	return f(ctx, filter, size, fn)
}

func TestSprayOfUnknownEmails(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seedUsers, 100, directory.Config{})
	if err := e.dir.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	base := e.lists()
	var wg sync.WaitGroup
	var notFound atomic.Int32
	for w := range 10 {
		wg.Go(func() {
			for i := range 100 {
				_, err := e.dir.Lookup(t.Context(), fmt.Sprintf("attacker%d-%d@evil.example", w, i))
				if errors.Is(err, remediate.ErrUserNotFound) {
					notFound.Add(1)
				} else {
					t.Errorf("Lookup: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if notFound.Load() != 1000 {
		t.Errorf("%d of 1000 lookups answered ErrNotFound", notFound.Load())
	}
	if n := e.lists() - base; n > 1 {
		t.Errorf("1,000 unknown emails caused %d listings, want at most 1", n)
	}
	// After the interval, one more miss may refresh again.
	e.clock.Advance(directory.DefaultMinMissRefreshInterval)
	before := e.lists()
	e.dir.Lookup(t.Context(), "late@evil.example")
	if n := e.lists() - before; n != 1 {
		t.Errorf("a miss after the interval caused %d listings, want 1", n)
	}
}

// gateLister blocks each listing until released, and counts listings.
type gateLister struct {
	calls   atomic.Int32
	started chan struct{}
	release chan struct{}
	users   []remediate.User
}

func (g *gateLister) ListAll(ctx context.Context, _ string, _ int, fn func([]remediate.User) error) (int, error) {
	g.calls.Add(1)
	g.started <- struct{}{}
	select {
	case <-g.release:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return 1, fn(g.users)
}

func TestConcurrentMissesShareOneListing(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		g := &gateLister{started: make(chan struct{}, 1), release: make(chan struct{}),
			users: []remediate.User{{ID: "U1", Email: "one@example.com", State: remediate.StateActive}}}
		// Every clock reading is an hour later than the last, so the
		// miss-refresh rate limit never applies: only sharing can keep
		// the listings to one.
		var mu sync.Mutex
		now := time.Unix(0, 0)
		clock := func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(time.Hour)
			return now
		}
		dir, err := directory.New(directory.Config{}, g, directory.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		const n = 50
		results := make(chan error, n)
		for i := range n {
			go func() {
				email := "one@example.com"
				if i%2 == 1 {
					email = fmt.Sprintf("nobody%d@example.com", i)
				}
				_, err := dir.Lookup(t.Context(), email)
				results <- err
			}()
		}
		<-g.started
		synctest.Wait() // every lookup is now parked behind the one listing
		close(g.release)
		for range n {
			if err := <-results; err != nil && !errors.Is(err, remediate.ErrUserNotFound) {
				t.Errorf("Lookup: %v", err)
			}
		}
		if c := g.calls.Load(); c != 1 {
			t.Errorf("%d listings for %d concurrent misses, want 1", c, n)
		}
	})
}

func TestMissCacheExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seedUsers, 0, directory.Config{MissTTL: time.Minute, MinMissRefreshInterval: time.Second})
	if err := e.dir.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	lookup := func() {
		t.Helper()
		if _, err := e.dir.Lookup(t.Context(), "ghost@example.com"); !errors.Is(err, remediate.ErrUserNotFound) {
			t.Fatalf("Lookup = %v", err)
		}
	}
	lookup() // refresh, miss cached until +60s
	if e.lists() != 2 {
		t.Fatalf("%d lists, want 2", e.lists())
	}
	e.clock.Advance(59 * time.Second)
	lookup()
	if e.lists() != 2 {
		t.Fatalf("lookup within MissTTL listed again (%d)", e.lists())
	}
	e.clock.Advance(time.Second)
	lookup()
	if e.lists() != 3 {
		t.Fatalf("lookup after MissTTL did not refresh (%d lists)", e.lists())
	}
}

func TestMissCacheBounded(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	lister := listerFunc(func(context.Context, string, int, func([]remediate.User) error) (int, error) {
		calls.Add(1)
		return 1, nil
	})
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	dir, _ := directory.New(directory.Config{MaxMisses: 10, MinMissRefreshInterval: time.Nanosecond}, lister, directory.WithClock(func() time.Time { return now }))
	for i := range 100 {
		dir.Lookup(t.Context(), fmt.Sprintf("u%d@x", i))
		now = now.Add(time.Nanosecond)
	}
	// At most 10 misses are cached, so at least 90 of the 100 emails
	// refresh again.
	before := calls.Load()
	for i := range 100 {
		dir.Lookup(t.Context(), fmt.Sprintf("u%d@x", i))
		now = now.Add(time.Nanosecond)
	}
	if got := calls.Load() - before; got < 90 {
		t.Errorf("%d of 100 repeated misses refreshed; the cache holds more than 10", got)
	}
}

func TestLookupByUserID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seedUsers, 0, directory.Config{})
	// An id is found through the listing (loaded by the miss), in any case,
	// and never through a read of that one user.
	got, err := e.dir.Lookup(t.Context(), "BOB")
	if err != nil || got.ID != "BOB" || got.State != remediate.StateSuspended {
		t.Fatalf("Lookup(BOB) = %+v, %v; want BOB SUSPENDED", got, err)
	}
	if got, err := e.dir.Lookup(t.Context(), "alice"); err != nil || got.ID != "ALICE" || got.Email != "Alice.Smith@Example.com" {
		t.Errorf("Lookup(alice) = %+v, %v; an id in another case names the same user", got, err)
	}
	if _, err := e.dir.Lookup(t.Context(), "NOBODY"); !errors.Is(err, remediate.ErrUserNotFound) {
		t.Errorf("Lookup(NOBODY) = %v, want ErrUserNotFound", err)
	}
	if _, err := e.dir.Lookup(t.Context(), "  "); !errors.Is(err, remediate.ErrUserNotFound) {
		t.Errorf("Lookup(blank) = %v, want ErrUserNotFound", err)
	}
	lists := e.lists()
	if _, err := e.dir.Lookup(t.Context(), strings.Repeat("a", 300)+"@example.com"); !errors.Is(err, remediate.ErrUserNotFound) || e.lists() != lists {
		t.Errorf("Lookup(300-byte email) = %v after %d listings, want ErrUserNotFound without one", err, e.lists()-lists)
	}
	for _, r := range e.sim.Requests() {
		if r.Endpoint != opsim.EndpointList && r.Endpoint != opsim.EndpointToken {
			t.Errorf("a lookup made a %s request", r.Endpoint)
		}
	}
}

func TestLoadedAt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seedUsers, 0, directory.Config{})
	if !e.dir.LoadedAt().IsZero() {
		t.Fatal("LoadedAt before any load is not zero")
	}
	first := e.clock.Now()
	if err := e.dir.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !e.dir.LoadedAt().Equal(first) {
		t.Fatalf("LoadedAt = %s, want %s", e.dir.LoadedAt(), first)
	}
	e.clock.Advance(time.Minute)
	if err := e.dir.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !e.dir.LoadedAt().Equal(first.Add(time.Minute)) {
		t.Errorf("LoadedAt after a second load = %s, want a minute later", e.dir.LoadedAt())
	}
}

func TestLookupFoldsUnicode(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seedUsers, 0, directory.Config{})
	// Full-width letters fold onto the ASCII address.
	got, err := e.dir.Lookup(t.Context(), "ＡＬＩＣＥ.smith@example.com")
	if err != nil || got.ID != "ALICE" {
		t.Fatalf("Lookup(full-width) = %+v, %v; want ALICE", got, err)
	}
}

func TestRefreshErrorKeepsListing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, seedUsers, 0, directory.Config{})
	if err := e.dir.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.sim.SetFaults(opsim.Faults{opsim.EndpointList: {Rate503: 1}})
	err := e.dir.Refresh(t.Context())
	var r interface{ Retryable() bool }
	if err == nil || !errors.As(err, &r) || !r.Retryable() {
		t.Fatalf("Refresh with the API down = %v, want a retryable error", err)
	}
	if _, err := e.dir.Lookup(t.Context(), "bob@example.com"); err != nil || e.dir.Len() != 2 {
		t.Errorf("listing lost after a failed refresh: %v, Len %d", err, e.dir.Len())
	}
	// A miss whose refresh fails returns the failure, not ErrNotFound.
	e.clock.Advance(time.Hour)
	if _, err := e.dir.Lookup(t.Context(), "new@example.com"); err == nil || errors.Is(err, remediate.ErrUserNotFound) || !errors.As(err, &r) {
		t.Errorf("Lookup with the API down = %v", err)
	}
}

// TestNotLoadedRetriesAtOnce: until a first listing loads, a lookup lists
// again instead of waiting MinMissRefreshInterval, so a token endpoint that
// failed at start-up does not leave every user unresolvable for minutes.
func TestNotLoadedRetriesAtOnce(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	lister := listerFunc(func(_ context.Context, _ string, _ int, fn func([]remediate.User) error) (int, error) {
		if calls.Add(1) == 1 {
			return 0, errors.New("token endpoint unavailable")
		}
		return 1, fn([]remediate.User{{ID: "A", Email: "a@x", State: remediate.StateActive}})
	})
	dir, _ := directory.New(directory.Config{}, lister, directory.WithClock(func() time.Time { return time.Unix(0, 0) }))
	if _, err := dir.Lookup(t.Context(), "a@x"); err == nil || errors.Is(err, remediate.ErrUserNotFound) {
		t.Fatalf("first Lookup = %v, want the listing failure", err)
	}
	e, err := dir.Lookup(t.Context(), "a@x") // same instant: no rate limit before the first load
	if err != nil || e.ID != "A" {
		t.Errorf("second Lookup = %+v, %v; want the user from a new listing", e, err)
	}
	if _, err := dir.Lookup(t.Context(), "zed@x"); !errors.Is(err, remediate.ErrUserNotFound) {
		t.Errorf("unknown email after the load = %v, want ErrNotFound", err)
	}
	if calls.Load() != 2 {
		t.Errorf("listings = %d, want 2: once loaded, a miss at the same instant must not list again", calls.Load())
	}
}

func TestRunRefreshesOnInterval(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		lister := listerFunc(func(ctx context.Context, _ string, _ int, fn func([]remediate.User) error) (int, error) {
			n := calls.Add(1)
			return 1, fn([]remediate.User{{ID: fmt.Sprint("U", n), Email: fmt.Sprintf("u%d@x", n), State: remediate.StateActive}})
		})
		dir, _ := directory.New(directory.Config{RefreshInterval: time.Minute}, lister)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- dir.Run(ctx) }()
		synctest.Wait()
		if calls.Load() != 1 || !dir.Ready() {
			t.Fatalf("Run did not load at start (%d calls)", calls.Load())
		}
		time.Sleep(59 * time.Second) // fake time inside the bubble
		synctest.Wait()
		if calls.Load() != 1 {
			t.Fatalf("refreshed before the interval (%d calls)", calls.Load())
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if calls.Load() != 2 {
			t.Fatalf("%d calls after one interval, want 2", calls.Load())
		}
		if _, err := dir.Lookup(ctx, "u2@x"); err != nil {
			t.Errorf("the second listing is not in place: %v", err)
		}
		time.Sleep(3 * time.Minute)
		synctest.Wait()
		if calls.Load() != 5 {
			t.Fatalf("%d calls after four intervals, want 5", calls.Load())
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil on cancel", err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	_, err := directory.New(directory.Config{RefreshInterval: -1, MissTTL: -1, PageSize: 5000}, listerFunc(nil))
	if err == nil {
		t.Fatal("New accepted an invalid config")
	}
	for _, want := range []string{"refresh interval", "miss ttl", "page size"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v does not mention %q", err, want)
		}
	}
}

// TestRunRetriesAFailedFirstListingSoon: Run does not wait a whole
// RefreshInterval after the first listing failed.
func TestRunRetriesAFailedFirstListingSoon(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		lister := listerFunc(func(_ context.Context, _ string, _ int, fn func([]remediate.User) error) (int, error) {
			if calls.Add(1) == 1 {
				return 0, errors.New("token endpoint unavailable")
			}
			return 1, fn([]remediate.User{{ID: "A", Email: "a@x", State: remediate.StateActive}})
		})
		dir, _ := directory.New(directory.Config{RefreshInterval: time.Hour}, lister)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- dir.Run(ctx) }()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if !dir.Ready() || calls.Load() != 2 {
			t.Errorf("after 10s: ready %v, listings %d; want loaded by the second try", dir.Ready(), calls.Load())
		}
		cancel()
		<-done
	})
}

func TestUsersWhoseEmailsFoldTogetherResolveToNeither(t *testing.T) {
	t.Parallel()
	// The simulator refuses such an account; a real one can have it.
	lister := listerFunc(func(_ context.Context, _ string, _ int, fn func([]remediate.User) error) (int, error) {
		return 1, fn([]remediate.User{
			{ID: "REAL", Email: "kate@example.com"},
			{ID: "LOOKALIKE", Email: "\u212aate@example.com"}, // Kelvin sign K
			{ID: "OTHER", Email: "other@example.com"},
		})
	})
	dir, err := directory.New(directory.Config{}, lister)
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"kate@example.com", "KATE@example.com", "\u212aate@example.com"} {
		if _, err := dir.Lookup(t.Context(), id); !errors.Is(err, remediate.ErrAmbiguousIdentity) {
			t.Errorf("Lookup(%q) = %v, want ErrAmbiguousIdentity", id, err)
		}
	}
	if got, err := dir.Lookup(t.Context(), "REAL"); err != nil || got.ID != "REAL" {
		t.Errorf("by id, the user still resolves: %+v, %v", got, err)
	}
	if got, err := dir.Lookup(t.Context(), "other@example.com"); err != nil || got.ID != "OTHER" {
		t.Errorf("other users are unaffected: %+v, %v", got, err)
	}
	if n := dir.Conflicts(); n != 1 {
		t.Errorf("Conflicts() = %d, want 1", n)
	}
}
