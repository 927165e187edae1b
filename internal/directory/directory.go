package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/tripline-dev/tripline/internal/onepassword"
)

// Lister lists every user of the account, page by page.
// *onepassword.Client implements it.
//
// ListAll calls fn with each page in order and returns the number of pages
// read. It is called by Refresh, by Run and by a Lookup miss, never by two
// of them at once. An error from ListAll leaves the directory unchanged and
// is returned to the caller of Refresh or Lookup wrapped with %w, so its
// Retryable method stays reachable with errors.As.
type Lister interface {
	ListAll(ctx context.Context, filter string, pageSize int, fn func([]onepassword.User) error) (int, error)
}

// ErrNotFound means no user of the account has the email, according to a
// listing taken at most Config.MinMissRefreshInterval + Config.MissTTL ago.
var ErrNotFound = errors.New("user not found in directory")

// Defaults applied by New.
const (
	DefaultRefreshInterval        = 5 * time.Minute
	DefaultMinMissRefreshInterval = 30 * time.Second
	DefaultMissTTL                = time.Minute
	DefaultPageSize               = onepassword.MaxPageSize
	DefaultMaxMisses              = 10000
)

// Config configures a Directory. Zero values select the defaults.
type Config struct {
	// RefreshInterval is how often Run reloads the listing.
	RefreshInterval time.Duration
	// MinMissRefreshInterval is the least time between two refreshes
	// caused by lookup misses, so that a spray of unknown emails cannot
	// force a listing per event.
	MinMissRefreshInterval time.Duration
	// MissTTL is how long an email confirmed missing answers ErrNotFound
	// without another refresh.
	MissTTL time.Duration
	// PageSize is the page size of listings (at most 1000).
	PageSize int
	// MaxMisses bounds the number of cached misses.
	MaxMisses int
}

func (c *Config) setDefaults() {
	if c.RefreshInterval == 0 {
		c.RefreshInterval = DefaultRefreshInterval
	}
	if c.MinMissRefreshInterval == 0 {
		c.MinMissRefreshInterval = DefaultMinMissRefreshInterval
	}
	if c.MissTTL == 0 {
		c.MissTTL = DefaultMissTTL
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.MaxMisses == 0 {
		c.MaxMisses = DefaultMaxMisses
	}
}

// Validate reports every problem in c at once.
func (c Config) Validate() error {
	var errs []error
	if c.RefreshInterval < 0 {
		errs = append(errs, fmt.Errorf("refresh interval %s is negative", c.RefreshInterval))
	}
	if c.MinMissRefreshInterval < 0 {
		errs = append(errs, fmt.Errorf("min miss refresh interval %s is negative", c.MinMissRefreshInterval))
	}
	if c.MissTTL < 0 {
		errs = append(errs, fmt.Errorf("miss ttl %s is negative", c.MissTTL))
	}
	if c.PageSize < 0 || c.PageSize > onepassword.MaxPageSize {
		errs = append(errs, fmt.Errorf("page size %d is not within 1..%d", c.PageSize, onepassword.MaxPageSize))
	}
	if c.MaxMisses < 0 {
		errs = append(errs, fmt.Errorf("max misses %d is negative", c.MaxMisses))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("validate directory config: %w", err)
	}
	return nil
}

// Entry is one user as the directory knows it.
type Entry struct {
	// ID is the 1Password user id.
	ID string
	// Email is the normalized (trimmed, lower-case) email.
	Email string
	// State is onepassword.StateActive, onepassword.StateSuspended, or
	// whatever state the API reported.
	State string
}

// Option changes how New builds a Directory.
type Option func(*Directory)

// WithClock sets the clock used for the miss cache and the miss-refresh
// rate limit. The default is time.Now. Run's ticker always uses package
// time.
func WithClock(now func() time.Time) Option {
	return func(d *Directory) { d.now = now }
}

// WithLogger sets the logger Run reports failed refreshes to. The default
// discards.
func WithLogger(l *slog.Logger) Option {
	return func(d *Directory) {
		if l != nil {
			d.log = l
		}
	}
}

// Directory maps emails to users. It is safe for concurrent use; lookups of
// known emails never block on a refresh.
type Directory struct {
	cfg    Config
	lister Lister
	now    func() time.Time
	log    *slog.Logger

	snap atomic.Pointer[snapshot]
	sf   singleflight.Group

	mu              sync.Mutex // guards the fields below
	lastMissRefresh time.Time
	misses          map[string]time.Time // email -> expiry
	updates         map[string]update    // id -> state set after a refresh began
	seq             uint64
}

// record is one user; state changes in place through SetState.
type record struct {
	id, email string
	state     atomic.Pointer[string]
}

type snapshot struct {
	byEmail map[string]*record
	byID    map[string]*record
}

type update struct {
	state string
	seq   uint64
}

// New builds a Directory over lister. It is empty (not Ready) until the
// first Refresh, Run or Lookup loads it.
func New(cfg Config, lister Lister, opts ...Option) (*Directory, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if lister == nil {
		return nil, errors.New("new directory: nil lister")
	}
	d := &Directory{
		cfg:     cfg,
		lister:  lister,
		now:     time.Now,
		log:     slog.New(slog.DiscardHandler),
		misses:  make(map[string]time.Time),
		updates: make(map[string]update),
	}
	for _, opt := range opts {
		opt(d)
	}
	return d, nil
}

// Normalize returns the form of an email the directory keys on: trimmed of
// surrounding space and lower-cased.
func Normalize(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// Ready reports whether a listing has been loaded at least once.
func (d *Directory) Ready() bool { return d.snap.Load() != nil }

// Len returns the number of users with an email in the current listing.
func (d *Directory) Len() int {
	if s := d.snap.Load(); s != nil {
		return len(s.byEmail)
	}
	return 0
}

// Lookup returns the user with the email, compared after Normalize.
//
// A known email is answered from memory. An unknown one triggers a refresh
// (shared with any refresh in flight, and at most one per
// MinMissRefreshInterval); if the user is still missing, Lookup returns
// ErrNotFound and remembers the miss for MissTTL. A failed refresh is
// returned wrapped, not as ErrNotFound. Before the first successful load
// with the refresh rate-limited, Lookup returns a retryable error.
func (d *Directory) Lookup(ctx context.Context, email string) (Entry, error) {
	key := Normalize(email)
	if e, ok := d.find(key); ok {
		return e, nil
	}
	if key == "" {
		return Entry{}, fmt.Errorf("lookup: empty email: %w", ErrNotFound)
	}
	if d.missCached(key) {
		return Entry{}, fmt.Errorf("lookup: %w", ErrNotFound)
	}
	if err := d.missRefresh(ctx); err != nil {
		return Entry{}, fmt.Errorf("lookup: %w", err)
	}
	if e, ok := d.find(key); ok {
		return e, nil
	}
	if !d.Ready() {
		return Entry{}, fmt.Errorf("lookup: %w", errNotLoaded)
	}
	d.addMiss(key)
	return Entry{}, fmt.Errorf("lookup: %w", ErrNotFound)
}

func (d *Directory) find(key string) (Entry, bool) {
	s := d.snap.Load()
	if s == nil {
		return Entry{}, false
	}
	r, ok := s.byEmail[key]
	if !ok {
		return Entry{}, false
	}
	return Entry{ID: r.id, Email: r.email, State: *r.state.Load()}, true
}

// notLoadedError says the directory has no listing yet; retrying later can
// help, so it has Retryable like the API client's errors.
type notLoadedError struct{}

func (notLoadedError) Error() string   { return "directory not loaded yet" }
func (notLoadedError) Retryable() bool { return true }

var errNotLoaded error = notLoadedError{}

// missRefresh refreshes because of a miss unless one ran within
// MinMissRefreshInterval. Concurrent misses share one call.
func (d *Directory) missRefresh(ctx context.Context) error {
	_, err, _ := d.sf.Do("miss", func() (any, error) {
		d.mu.Lock()
		now := d.now()
		// Until a listing loads, every miss may try (callers retry with
		// backoff, and concurrent misses share one listing); after that,
		// at most one miss-driven listing per MinMissRefreshInterval.
		allowed := !d.Ready() || d.lastMissRefresh.IsZero() || now.Sub(d.lastMissRefresh) >= d.cfg.MinMissRefreshInterval
		if allowed {
			d.lastMissRefresh = now
		}
		d.mu.Unlock()
		if !allowed {
			return nil, nil
		}
		return nil, d.Refresh(ctx)
	})
	return err
}

func (d *Directory) missCached(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	exp, ok := d.misses[key]
	if !ok {
		return false
	}
	if !d.now().Before(exp) {
		delete(d.misses, key)
		return false
	}
	return true
}

func (d *Directory) addMiss(key string) {
	if d.cfg.MissTTL <= 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if len(d.misses) >= d.cfg.MaxMisses {
		for k, exp := range d.misses {
			if !now.Before(exp) {
				delete(d.misses, k)
			}
		}
		// Still full: drop arbitrary entries (map order is random).
		for k := range d.misses {
			if len(d.misses) < d.cfg.MaxMisses {
				break
			}
			delete(d.misses, k)
		}
	}
	if d.cfg.MaxMisses > 0 {
		d.misses[key] = now.Add(d.cfg.MissTTL)
	}
}

// Refresh loads the full listing and swaps it in atomically. Concurrent
// calls share one listing. On error the previous listing stays in place.
func (d *Directory) Refresh(ctx context.Context) error {
	_, err, _ := d.sf.Do("refresh", func() (any, error) {
		return nil, d.load(ctx)
	})
	return err
}

func (d *Directory) load(ctx context.Context) error {
	d.mu.Lock()
	startSeq := d.seq
	d.mu.Unlock()

	size := d.Len()
	s := &snapshot{byEmail: make(map[string]*record, size), byID: make(map[string]*record, size)}
	_, err := d.lister.ListAll(ctx, "", d.cfg.PageSize, func(users []onepassword.User) error {
		for i := range users {
			u := &users[i]
			if u.ID == "" {
				continue
			}
			r := &record{id: u.ID, email: Normalize(u.Email)}
			state := u.State
			r.state.Store(&state)
			s.byID[r.id] = r
			if r.email != "" {
				s.byEmail[r.email] = r
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("refresh directory: %w", err)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	// State changes recorded after the listing began may be missing from
	// it: apply them again. Older ones are reflected in the listing.
	for id, u := range d.updates {
		if u.seq <= startSeq {
			delete(d.updates, id)
			continue
		}
		if r, ok := s.byID[id]; ok {
			state := u.state
			r.state.Store(&state)
		}
	}
	d.snap.Store(s)
	return nil
}

// SetState records a state change the caller made through the API (for
// example after a suspend), so lookups see it before the next refresh. It
// reports whether the id is in the current listing; the change is kept
// across a refresh already in flight either way.
func (d *Directory) SetState(id, state string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seq++
	d.updates[id] = update{state: state, seq: d.seq}
	s := d.snap.Load()
	if s == nil {
		return false
	}
	r, ok := s.byID[id]
	if ok {
		r.state.Store(&state)
	}
	return ok
}

// Run refreshes the listing every RefreshInterval, and at once if none is
// loaded, until ctx ends; then it returns nil. A failed refresh is logged
// and the previous listing kept; the next tick tries again. Until the first
// listing loads, it tries again every notLoadedRetry at most.
func (d *Directory) Run(ctx context.Context) error {
	for {
		if !d.Ready() {
			d.refreshLogged(ctx)
		}
		wait := d.cfg.RefreshInterval
		if !d.Ready() {
			wait = min(wait, notLoadedRetry)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
			if d.Ready() {
				d.refreshLogged(ctx)
			}
		}
	}
}

// notLoadedRetry is how often Run retries a listing that never loaded.
const notLoadedRetry = 5 * time.Second

func (d *Directory) refreshLogged(ctx context.Context) {
	if err := d.Refresh(ctx); err != nil && ctx.Err() == nil {
		d.log.WarnContext(ctx, "directory refresh failed", "error", err)
	}
}
