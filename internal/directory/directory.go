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

	"github.com/tripline-dev/tripline/internal/identity"
	"github.com/tripline-dev/tripline/internal/onepassword"
	"github.com/tripline-dev/tripline/internal/remediate"
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
	ListAll(ctx context.Context, filter string, pageSize int, fn func([]remediate.User) error) (int, error)
}

// Defaults applied by New.
const (
	DefaultRefreshInterval        = 5 * time.Minute
	DefaultMinMissRefreshInterval = 30 * time.Second
	DefaultMissTTL                = time.Minute
	DefaultPageSize               = onepassword.MaxPageSize
	DefaultMaxMisses              = 10000
)

// MaxIdentityLen is the longest identity Lookup looks up (an email address
// is at most 254 bytes); a longer one is not found, without a refresh. With
// MaxMisses, it bounds the miss cache: 10,000 misses hold at most about
// 3 MB.
const MaxIdentityLen = 254

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

// Directory maps identities (emails and 1Password user ids) to users; it
// implements remediate.Directory. It is safe for concurrent use; lookups of
// known users never block on a refresh. A user's State is as of the last
// listing: the decision service reads the state from the API before it
// acts.
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
}

// snapshot is one listing of the account.
type snapshot struct {
	byEmail map[string]*remediate.User // by folded email
	byID    map[string]*remediate.User
	// conflicts are folded emails that two or more users share (their
	// addresses differ only in case or Unicode form): no lookup of such an
	// email resolves, so neither user can be acted on in the other's name.
	conflicts map[string]int
	loadedAt  time.Time
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
		cfg:    cfg,
		lister: lister,
		now:    time.Now,
		log:    slog.New(slog.DiscardHandler),
		misses: make(map[string]time.Time),
	}
	for _, opt := range opts {
		opt(d)
	}
	return d, nil
}

// Ready reports whether a listing has been loaded at least once.
func (d *Directory) Ready() bool { return d.snap.Load() != nil }

// LoadedAt returns when the current listing was loaded (zero before the
// first).
func (d *Directory) LoadedAt() time.Time {
	if s := d.snap.Load(); s != nil {
		return s.loadedAt
	}
	return time.Time{}
}

// Len returns the number of users with an email in the current listing.
func (d *Directory) Len() int {
	if s := d.snap.Load(); s != nil {
		return len(s.byEmail)
	}
	return 0
}

// Sample returns one user of the current listing (false when it is empty),
// for checks that need some user to read, such as the permission to get
// one.
func (d *Directory) Sample() (remediate.User, bool) {
	s := d.snap.Load()
	if s == nil {
		return remediate.User{}, false
	}
	for _, u := range s.byID {
		return *u, true
	}
	return remediate.User{}, false
}

// Lookup returns the user an identity names: an email (anything with an
// "@"), compared folded (identity.Fold: trimmed, Unicode NFKC and case
// folding), or a 1Password user id, compared in upper case (ids are
// upper-case base32). It implements remediate.Directory.
//
// A known identity is answered from memory. An unknown one triggers a
// refresh of the whole listing (shared with any refresh in flight, and at
// most one per MinMissRefreshInterval), never a read of one user, so no
// request ever names a user before the decision service's guards ran; if
// the user is still missing, Lookup returns an error wrapping
// remediate.ErrUserNotFound and remembers the miss for MissTTL. A failed
// refresh is returned wrapped, not as not-found. Before the first
// successful load with the refresh rate-limited, Lookup returns a
// retryable error.
func (d *Directory) Lookup(ctx context.Context, id string) (remediate.User, error) {
	key, byID := identity.Fold(id), !strings.Contains(id, "@")
	if byID {
		key = strings.ToUpper(strings.TrimSpace(id))
	}
	if key == "" || len(key) > MaxIdentityLen {
		return remediate.User{}, fmt.Errorf("lookup: identity of %d bytes: %w", len(key), remediate.ErrUserNotFound)
	}
	if u, ok := d.find(key, byID); ok {
		return u, nil
	}
	if n := d.conflict(key, byID); n > 0 {
		return remediate.User{}, fmt.Errorf("lookup: %d users of the account have emails that fold to this address: %w", n, remediate.ErrAmbiguousIdentity)
	}
	if d.missCached(key) {
		return remediate.User{}, errNotFound
	}
	if err := d.missRefresh(ctx); err != nil {
		return remediate.User{}, fmt.Errorf("lookup: %w", err)
	}
	if u, ok := d.find(key, byID); ok {
		return u, nil
	}
	if !d.Ready() {
		return remediate.User{}, fmt.Errorf("lookup: %w", errNotLoaded)
	}
	d.addMiss(key)
	return remediate.User{}, errNotFound
}

// errNotFound says no user of the account has the identity, according to a
// listing taken at most MinMissRefreshInterval + MissTTL ago.
var errNotFound = fmt.Errorf("lookup: no user of the account has this identity: %w", remediate.ErrUserNotFound)

// conflict returns how many users share the folded email key (0 when
// none, or when looking up by id).
func (d *Directory) conflict(key string, byID bool) int {
	if s := d.snap.Load(); s != nil && !byID {
		return s.conflicts[key]
	}
	return 0
}

// Conflicts returns how many folded emails of the current listing belong
// to more than one user.
func (d *Directory) Conflicts() int {
	if s := d.snap.Load(); s != nil {
		return len(s.conflicts)
	}
	return 0
}

// find looks key up in the current listing, by id or by folded email.
func (d *Directory) find(key string, byID bool) (remediate.User, bool) {
	s := d.snap.Load()
	if s == nil {
		return remediate.User{}, false
	}
	m := s.byEmail
	if byID {
		m = s.byID
	}
	u, ok := m[key]
	if !ok {
		return remediate.User{}, false
	}
	return *u, true
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
		d.misses[strings.Clone(key)] = now.Add(d.cfg.MissTTL)
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
	size := d.Len()
	s := &snapshot{byEmail: make(map[string]*remediate.User, size), byID: make(map[string]*remediate.User, size), conflicts: map[string]int{}}
	_, err := d.lister.ListAll(ctx, "", d.cfg.PageSize, func(users []remediate.User) error {
		for i := range users {
			u := users[i]
			if u.ID == "" {
				continue
			}
			s.byID[strings.ToUpper(u.ID)] = &u
			key := identity.Fold(u.Email)
			switch {
			case key == "":
			case s.conflicts[key] > 0:
				s.conflicts[key]++
			case s.byEmail[key] != nil:
				delete(s.byEmail, key)
				s.conflicts[key] = 2
			default:
				s.byEmail[key] = &u
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("refresh directory: %w", err)
	}
	s.loadedAt = d.now()
	if len(s.conflicts) > 0 {
		d.log.ErrorContext(ctx, "users of the account share an email address once case and Unicode forms are folded: "+
			"tripline acts on none of them by email (fix the addresses in 1Password)", "addresses", len(s.conflicts))
	}
	d.snap.Store(s)
	return nil
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
