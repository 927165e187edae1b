package remediate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func usersN(n int) []User {
	out := make([]User, n)
	for i := range out {
		out[i] = User{ID: fmt.Sprintf("U%03d", i), Email: fmt.Sprintf("u%03d@example.com", i), State: StateActive}
	}
	return out
}

func TestBreakerTripsAtExactlyTheCap(t *testing.T) {
	t.Parallel()
	users := usersN(6)
	s, api, _, _ := testService(t, Config{Breaker: Limit{Count: 3, Window: 10 * time.Minute}}, users...)
	var results []Result
	for i, u := range users {
		out, err := s.Decide(t.Context(), suspendOf("r1", u.Email, fmt.Sprint("ev", i)))
		results = append(results, out.Result)
		var f *Failure
		if out.Result == ResultBreakerOpen && (!errors.As(err, &f) || f.Class != ClassBreakerOpen) {
			t.Errorf("decision %d: breaker_open with error %v, want a Failure of class breaker_open", i, err)
		}
	}
	want := []Result{ResultSuspended, ResultSuspended, ResultSuspended, ResultBreakerOpen, ResultBreakerOpen, ResultBreakerOpen}
	if fmt.Sprint(results) != fmt.Sprint(want) {
		t.Errorf("results %v, want %v", results, want)
	}
	if n := api.count("suspend"); n != 3 {
		t.Errorf("%d suspend calls, want 3", n)
	}
	if b, ok := s.ledger.Breaker(ScopeGlobal); !ok || !b.Open || b.Count != 3 || b.Cap != 3 {
		t.Errorf("global breaker = %+v, want open at 3 of 3", b)
	}
	if got := s.ledger.OpenScopes(); fmt.Sprint(got) != "[global]" {
		t.Errorf("open scopes %v", got)
	}
}

// slowAPI makes suspend calls overlap.
type slowAPI struct {
	*fakeAPI
	delay time.Duration
}

func (a slowAPI) SuspendUser(ctx context.Context, id string) (User, error) {
	time.Sleep(a.delay)
	return a.fakeAPI.SuspendUser(ctx, id)
}

func TestBreakerCapIsExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	users := usersN(40)
	s, api, _, _ := testService(t, Config{Breaker: Limit{Count: 5, Window: time.Hour}}, users...)
	s.api = slowAPI{api, 5 * time.Millisecond}
	s.decide = nil
	s2, err := New(s.cfg, Deps{Directory: s.dir, API: s.api, Ledger: s.ledger, Now: s.now})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[Result]int{}
	for i, u := range users {
		wg.Go(func() {
			out, _ := s2.Decide(t.Context(), suspendOf("r1", u.Email, fmt.Sprint("ev", i)))
			mu.Lock()
			counts[out.Result]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if counts[ResultSuspended] != 5 || counts[ResultBreakerOpen] != 35 || api.count("suspend") != 5 {
		t.Errorf("outcomes %v with %d suspend calls; want exactly 5 suspended, 35 breaker_open", counts, api.count("suspend"))
	}
}

func TestBreakerFailedActionFreesItsSlot(t *testing.T) {
	t.Parallel()
	users := usersN(3)
	s, api, _, _ := testService(t, Config{Breaker: Limit{Count: 1, Window: time.Hour}}, users...)
	api.errs["suspend"] = fmt.Errorf("boom: %w", ErrPermissionDenied)
	if out, _ := s.Decide(t.Context(), suspendOf("r1", users[0].Email, "ev0")); out.Result != ResultFailed {
		t.Fatalf("first = %s, want failed", out.Result)
	}
	if n := s.ledger.holdsInFlight(); n != 0 {
		t.Fatalf("%d holds still in flight after the failed action, want its hold released", n)
	}
	delete(api.errs, "suspend")
	if out, _ := s.Decide(t.Context(), suspendOf("r1", users[1].Email, "ev1")); out.Result != ResultSuspended {
		t.Errorf("after a failed action the cap let nothing through: %s", out.Result)
	}
	if out, _ := s.Decide(t.Context(), suspendOf("r1", users[2].Email, "ev2")); out.Result != ResultBreakerOpen {
		t.Errorf("third = %s, want breaker_open", out.Result)
	}
}

func TestBreakerPerRuleScope(t *testing.T) {
	t.Parallel()
	users := usersN(4)
	s, _, _, _ := testService(t, Config{}, users...)
	limited := func(u User, ev string) Decision {
		d := suspendOf("noisy", u.Email, ev)
		d.MaxActions = Limit{Count: 2, Window: time.Hour}
		return d
	}
	for i, want := range []Result{ResultSuspended, ResultSuspended, ResultBreakerOpen} {
		if out, _ := s.Decide(t.Context(), limited(users[i], fmt.Sprint("ev", i))); out.Result != want {
			t.Errorf("noisy decision %d = %s, want %s", i, out.Result, want)
		}
	}
	if out, _ := s.Decide(t.Context(), suspendOf("other", users[3].Email, "ev3")); out.Result != ResultSuspended {
		t.Errorf("another rule was held by noisy's breaker: %s", out.Result)
	}
	if got := s.ledger.OpenScopes(); fmt.Sprint(got) != "[rule:noisy]" {
		t.Errorf("open scopes %v, want [rule:noisy]", got)
	}
}

func TestBreakerStaysOpenAcrossRestartAndRearms(t *testing.T) {
	t.Parallel()
	users := usersN(5)
	s, _, st, now := testService(t, Config{Breaker: Limit{Count: 2, Window: time.Hour}}, users...)
	for i := range 3 {
		s.Decide(t.Context(), suspendOf("r1", users[i].Email, fmt.Sprint("ev", i)))
	}
	// A restarted instance (or a second one) reads the same store.
	l2 := NewLedger(st, LedgerConfig{Instance: "second", Now: func() time.Time { return *now }})
	st.join(l2)
	s2, err := New(s.cfg, Deps{Directory: s.dir, API: s.api, Ledger: l2, Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := s2.Decide(t.Context(), suspendOf("r1", users[3].Email, "ev3")); out.Result != ResultBreakerOpen {
		t.Fatalf("after a restart = %s, want breaker_open", out.Result)
	}
	if err := l2.Rearm(t.Context(), ScopeGlobal, "", "", *now); err == nil {
		t.Error("a re-arm without --by and --reason was accepted")
	}
	if err := l2.Rearm(t.Context(), "nonsense", "ops", "checked", *now); err == nil {
		t.Error("a re-arm of an unknown scope was accepted")
	}
	if err := l2.Rearm(t.Context(), ScopeGlobal, "alice", "reviewed the burst", *now); err != nil {
		t.Fatal(err)
	}
	// The re-arm restarts the window: the 2 earlier suspensions no longer count.
	if out, _ := s2.Decide(t.Context(), suspendOf("r1", users[3].Email, "ev3")); out.Result != ResultSuspended {
		t.Errorf("after the re-arm = %s, want suspended", out.Result)
	}
	if b, _ := l2.Breaker(ScopeGlobal); b.Open || b.By != "alice" {
		t.Errorf("breaker after re-arm = %+v", b)
	}
	// The first instance sees the re-arm through the store too.
	if got := s.ledger.OpenScopes(); len(got) != 0 {
		t.Errorf("first instance still sees %v open", got)
	}
}

// TestBreakerHoldAndItsSuspensionCountOnce: each suspension under a
// breaker leaves a hold and a user record in the store; an instance that
// reads the store afresh counts each suspension once.
func TestBreakerHoldAndItsSuspensionCountOnce(t *testing.T) {
	t.Parallel()
	users := usersN(3)
	s, _, st, now := testService(t, Config{Breaker: Limit{Count: 5, Window: time.Hour}}, users...)
	for i, u := range users {
		if out, _ := s.Decide(t.Context(), suspendOf("r1", u.Email, fmt.Sprint("ev", i))); out.Result != ResultSuspended {
			t.Fatalf("decision %d = %s", i, out.Result)
		}
	}
	l2 := NewLedger(st, LedgerConfig{Instance: "restarted", Now: func() time.Time { return *now }})
	st.join(l2)
	for name, l := range map[string]*Ledger{"running": s.ledger, "restarted": l2} {
		if n := l.Suspensions(ScopeGlobal, time.Hour, *now); n != 3 {
			t.Errorf("%s instance counts %d suspensions, want 3", name, n)
		}
		if n := l.holdsInFlight(); n != 0 {
			t.Errorf("%s instance sees %d holds in flight, want 0", name, n)
		}
	}
}

// TestBreakerHoldOfADeadInstance: another instance took the last slot of a
// cap of 1 and died mid-call (its hold is neither confirmed nor released).
// A decision waits for it; once the hold is older than holdTimeout it counts
// as a suspension made, and the decision trips the breaker.
func TestBreakerHoldOfADeadInstance(t *testing.T) {
	t.Parallel()
	users := usersN(2)
	var mu sync.Mutex
	clock := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	}
	base, api, _, _ := testService(t, Config{}, users...)
	s, err := New(Config{Breaker: Limit{Count: 1, Window: time.Hour}, Retry: base.cfg.Retry},
		Deps{Directory: base.dir, API: api, Ledger: base.ledger, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := base.ledger.PutHold(t.Context(), Hold{UserID: users[0].ID, Rule: "r1", At: now(), Instance: "dead"}); err != nil {
		t.Fatal(err)
	}
	result := make(chan Result, 1)
	go func() {
		out, _ := s.Decide(t.Context(), suspendOf("r1", users[1].Email, "ev1"))
		result <- out.Result
	}()
	waitUntil(t, func() bool { return base.ledger.Waiting() == 1 })
	select {
	case r := <-result:
		t.Fatalf("decided %s while the other instance's hold was in flight", r)
	default:
	}
	mu.Lock()
	clock = clock.Add(holdTimeout)
	mu.Unlock()
	if r := <-result; r != ResultBreakerOpen || api.count("suspend") != 0 {
		t.Errorf("after the hold timed out: %s with %d suspend calls, want breaker_open and none", r, api.count("suspend"))
	}
}

// TestBreakerRedecidedUserReplacesItsHold: an instance died mid-call on a
// user, holding the last slot of a cap of 1. The user's message is
// redelivered: its new decision replaces the dead hold instead of waiting
// for it, and acts.
func TestBreakerRedecidedUserReplacesItsHold(t *testing.T) {
	t.Parallel()
	users := usersN(1)
	s, api, _, now := testService(t, Config{Breaker: Limit{Count: 1, Window: time.Hour}}, users...)
	if err := s.ledger.PutHold(t.Context(), Hold{UserID: users[0].ID, Rule: "r1", At: now.Add(-time.Second), Instance: "dead"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan Result, 1)
	go func() {
		out, _ := s.Decide(t.Context(), suspendOf("r1", users[0].Email, "ev0"))
		done <- out.Result
	}()
	select {
	case r := <-done:
		if r != ResultSuspended || api.count("suspend") != 1 {
			t.Errorf("redecided user: %s with %d suspend calls, want suspended with 1", r, api.count("suspend"))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the redecided user waited for its own dead hold")
	}
	if n := s.ledger.Suspensions(ScopeGlobal, time.Hour, *now); n != 1 {
		t.Errorf("%d suspensions counted, want 1", n)
	}
}

// TestBreakerWaitEndsOnShutdown: a decision waiting for holds in flight
// returns ErrInterrupted when the consumer shuts down.
func TestBreakerWaitEndsOnShutdown(t *testing.T) {
	t.Parallel()
	users := usersN(2)
	s, _, _, now := testService(t, Config{Breaker: Limit{Count: 1, Window: time.Hour}}, users...)
	if err := s.ledger.PutHold(t.Context(), Hold{UserID: users[0].ID, Rule: "r1", At: *now, Instance: "other"}); err != nil {
		t.Fatal(err)
	}
	stop, shutdown := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := s.Decide(WithStop(t.Context(), stop), suspendOf("r1", users[1].Email, "ev1"))
		errc <- err
	}()
	waitUntil(t, func() bool { return s.ledger.Waiting() == 1 })
	shutdown()
	if err := <-errc; !errors.Is(err, ErrInterrupted) {
		t.Errorf("Decide = %v, want ErrInterrupted", err)
	}
}

func TestBreakerDryRunOnlyChecks(t *testing.T) {
	t.Parallel()
	users := usersN(4)
	s, api, st, _ := testService(t, Config{DryRun: true, Breaker: Limit{Count: 1, Window: time.Hour}}, users...)
	for i := range 3 {
		if out, _ := s.Decide(t.Context(), suspendOf("r1", users[i].Email, fmt.Sprint("ev", i))); out.Result != ResultDryRun {
			t.Errorf("dry run decision %d = %s", i, out.Result)
		}
	}
	if len(api.calls) != 0 || len(st.writes) != 0 {
		t.Errorf("dry run made calls %v and writes %v", api.calls, st.writes)
	}
	if err := s.ledger.PutBreaker(t.Context(), BreakerEntry{Scope: ScopeGlobal, Open: true}); err != nil {
		t.Fatal(err)
	}
	if out, _ := s.Decide(t.Context(), suspendOf("r1", users[3].Email, "ev3")); out.Result != ResultBreakerOpen {
		t.Errorf("dry run with an open breaker = %s, want breaker_open", out.Result)
	}
}

// gatedDir holds the lookup of one identity until open is closed, and
// closes entered when that lookup starts.
type gatedDir struct {
	*fakeDir
	identity string
	entered  chan struct{}
	open     chan struct{}
}

func (d gatedDir) Lookup(ctx context.Context, id string) (User, error) {
	if id == d.identity {
		close(d.entered)
		<-d.open
	}
	return d.fakeDir.Lookup(ctx, id)
}

// gatedAPI holds every suspend until open is closed.
type gatedAPI struct {
	*fakeAPI
	open chan struct{}
}

func (a gatedAPI) SuspendUser(ctx context.Context, id string) (User, error) {
	<-a.open
	return a.fakeAPI.SuspendUser(ctx, id)
}

// TestBreakerCountsSuspensionsThatStartedLater: X starts first but is slow
// to resolve; Y and Z take the last two slots of a cap of 2; X then waits
// for them. When they succeed, X must count their suspensions although they
// are dated after X started, and be held.
func TestBreakerCountsSuspensionsThatStartedLater(t *testing.T) {
	t.Parallel()
	users := usersN(3)
	base, _, _, _ := testService(t, Config{}, users...)
	var mu sync.Mutex
	clock := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { // every look at the clock is a millisecond later
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Millisecond)
		return clock
	}
	entered, lookup, calls := make(chan struct{}), make(chan struct{}), make(chan struct{})
	api := gatedAPI{base.api.(*fakeAPI), calls}
	s, err := New(Config{Breaker: Limit{Count: 2, Window: time.Hour}, Retry: base.cfg.Retry},
		Deps{Directory: gatedDir{base.dir.(*fakeDir), users[0].Email, entered, lookup}, API: api, Ledger: base.ledger, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan Result, 3)
	decide := func(u User, ev string) {
		out, _ := s.Decide(context.Background(), suspendOf("r1", u.Email, ev))
		results <- out.Result
	}
	go decide(users[0], "x") // starts first, held in its lookup
	<-entered
	go decide(users[1], "y")
	go decide(users[2], "z")
	waitUntil(t, func() bool { return base.ledger.holdsInFlight() == 2 })
	close(lookup) // x reaches the breaker: both slots are taken, it waits
	waitUntil(t, func() bool { return base.ledger.Waiting() == 1 })
	close(calls) // y and z succeed
	got := map[Result]int{}
	for range 3 {
		got[<-results]++
	}
	if got[ResultSuspended] != 2 || got[ResultBreakerOpen] != 1 || api.count("suspend") != 2 {
		t.Errorf("outcomes %v, %d suspend calls; want 2 suspended and x held", got, api.count("suspend"))
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

func (l *Ledger) holdsInFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending)
}

// laggyHub is a state topic whose records reach the other instances only
// when they sync (as ledger.Table's tail may lag behind by any amount), and
// the writer's own ledger at once (as ledger.Table.Put does).
type laggyHub struct {
	mu      sync.Mutex
	log     []laggyRecord
	ledgers []*Ledger
	read    []int // per ledger, how far into log it has applied
}

type laggyRecord struct {
	from      int
	key       string
	value     []byte
	signature string
}

// laggyView is one instance's store on the hub.
type laggyView struct {
	hub *laggyHub
	idx int
}

func (h *laggyHub) join(l *Ledger) *laggyView {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ledgers = append(h.ledgers, l)
	h.read = append(h.read, 0)
	return &laggyView{h, len(h.ledgers) - 1}
}

func (v *laggyView) Put(_ context.Context, key string, value []byte, signature string) error {
	v.hub.mu.Lock()
	v.hub.log = append(v.hub.log, laggyRecord{v.idx, key, value, signature})
	v.hub.mu.Unlock()
	v.hub.ledgers[v.idx].Apply(key, value, signature)
	return nil
}

// Sync applies every record written so far by the other instances.
func (v *laggyView) Sync(context.Context) error {
	v.hub.mu.Lock()
	defer v.hub.mu.Unlock()
	for ; v.hub.read[v.idx] < len(v.hub.log); v.hub.read[v.idx]++ {
		if r := v.hub.log[v.hub.read[v.idx]]; r.from != v.idx {
			v.hub.ledgers[v.idx].Apply(r.key, r.value, r.signature)
		}
	}
	return nil
}

// TestBreakerOvershootAcrossInstancesIsBounded: three instances share a
// state topic whose records reach the others only when they sync, and
// decide on 80 users at once, each suspend call taking 20 ms. Together they
// make at most cap + instances - 1 suspensions: each counts, before its
// call, every hold the others wrote, and misses only those written while
// it counted, one per other instance at most.
func TestBreakerOvershootAcrossInstancesIsBounded(t *testing.T) {
	t.Parallel()
	const capN, instances = 10, 3
	users := usersN(80)
	dir := &fakeDir{users: map[string]User{}, loadedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	api := &fakeAPI{states: map[string]string{}, errs: map[string]error{}}
	for _, u := range users {
		dir.users[u.ID] = u
		api.states[u.ID] = u.State
	}
	hub := &laggyHub{}
	var services []*Service
	for i := range instances {
		led := NewLedger(nil, LedgerConfig{Instance: fmt.Sprint("instance-", i)})
		led.SetStore(hub.join(led))
		s, err := New(Config{Breaker: Limit{Count: capN, Window: time.Hour},
			Retry: RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxElapsed: time.Second, MaxAttempts: 2}},
			Deps{Directory: dir, API: slowAPI{api, 20 * time.Millisecond}, Ledger: led})
		if err != nil {
			t.Fatal(err)
		}
		services = append(services, s)
	}
	var wg sync.WaitGroup
	for i, u := range users {
		s := services[i%instances]
		wg.Go(func() { s.Decide(t.Context(), suspendOf("r1", u.Email, fmt.Sprint("ev", i))) })
	}
	wg.Wait()
	if n := api.count("suspend"); n < capN || n > capN+instances-1 {
		t.Errorf("%d suspend calls across %d instances, want between the cap %d and cap + instances - 1 = %d", n, instances, capN, capN+instances-1)
	}
	for i, s := range services {
		if b, ok := s.ledger.Breaker(ScopeGlobal); !ok || !b.Open {
			t.Errorf("instance %d: global breaker %+v, want open", i, b)
		}
	}
}
