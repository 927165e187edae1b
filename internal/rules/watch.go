package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
)

// ErrTestFailed is matched by the error of a load that compiled but whose
// inline tests did not all pass.
var ErrTestFailed = errors.New("inline test failed")

// DefaultDebounce is how long the Watcher waits after the last file change
// of a burst before reloading.
const DefaultDebounce = 250 * time.Millisecond

// WatcherConfig configures a Watcher.
type WatcherConfig struct {
	// Decode decodes `input:` and `fixture:` inline tests and the benign
	// corpus. Without it such tests fail, and so does every load that has
	// them or a benign corpus.
	Decode DecodeFunc
	// Debounce is the quiet time after a change before reloading;
	// 0 means DefaultDebounce.
	Debounce time.Duration
	// MaxTracked bounds the shared State (see NewState); 0 means
	// DefaultMaxTracked.
	MaxTracked int
	// OnReload, when set, is called after every reload attempt with the new
	// Set (nil when rejected) and the error (nil when accepted). It runs on
	// the goroutine that reloaded and must not block.
	OnReload func(s *Set, err error)
}

// Watcher keeps the current rule Set of a directory and replaces it when the
// files change (Run) or when asked (Reload, e.g. on SIGHUP). A new Set
// replaces the current one only if LoadChecked accepts it (the rules and
// protected.yaml parse, the rules compile, all inline tests pass and no rule
// that acts matches the benign corpus) and it protects someone: the
// directory has a ProtectedFile with at least one entry, or one that says
// `allow_empty: true` (see ErrNoProtected). Otherwise the current Set, with
// its protected identities, stays and the reload error says why. Every Set
// the Watcher loads shares one State, so windowed counts carry over
// reloads. A Watcher is safe for concurrent use.
//
// The protected-identities requirement lives here, not in Load or
// LoadChecked: the Watcher serves the decision service that acts (`consumer
// run`, `consumer dlq replay`), while `consumer rules lint|test` and
// `consumer replay` act on nobody and load rule directories without a
// ProtectedFile.
type Watcher struct {
	dir      string
	log      *slog.Logger
	cfg      WatcherConfig
	state    *State
	cur      atomic.Pointer[Set]
	mu       sync.Mutex // serializes reloads
	loaded   atomic.Uint64
	rejected atomic.Uint64
	// watching, when set (by tests), is called once Run watches the
	// directory: a change made after it is seen.
	watching func()
}

// NewWatcher loads the rules in dir with LoadChecked and returns a Watcher
// serving them. It fails when LoadChecked does, as a reload would be
// rejected, and with an error matching ErrNoProtected when dir has no
// ProtectedFile or one that lists nobody without `allow_empty: true`; the
// error names the file and how to fix it. It logs the accepted load ("rules
// loaded", with protected_entries). A nil logger discards logs.
func NewWatcher(dir string, logger *slog.Logger, cfg WatcherConfig) (*Watcher, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = DefaultDebounce
	}
	w := &Watcher{dir: dir, log: logger, cfg: cfg, state: NewState(cfg.MaxTracked)}
	s, err := w.load()
	if err != nil {
		return nil, err
	}
	w.cur.Store(s)
	w.loaded.Add(1)
	w.logLoaded("rules loaded", s)
	return w, nil
}

// load loads the directory with LoadChecked and refuses a Set that protects
// nobody by accident (checkProtected).
func (w *Watcher) load() (*Set, error) {
	s, err := LoadChecked(w.dir, w.cfg.Decode, WithState(w.state))
	if err != nil {
		return nil, err
	}
	if err := s.checkProtected(filepath.Join(w.dir, ProtectedFile)); err != nil {
		return nil, err
	}
	return s, nil
}

// logLoaded logs an accepted load with the number of rules and of
// protected entries: at Info, or at Warn when nobody is protected (the file
// says allow_empty: true).
func (w *Watcher) logLoaded(msg string, s *Set) {
	level := slog.LevelInfo
	if s.Protected().Len() == 0 {
		level = slog.LevelWarn
	}
	w.log.Log(context.Background(), level, msg, "dir", w.dir, "rules", len(s.rules),
		"protected_entries", s.Protected().Len(), "protected_allow_empty", s.Protected().AllowEmpty())
}

// LoadChecked loads the rules in dir like LoadDir, runs their inline tests
// and checks every rule that acts against the benign corpus
// (Set.CheckBenign). It is how the consumer loads rules at start and on every
// reload; `consumer rules test` runs the same steps one by one to print each
// result. It refuses the Set if
// anything fails, reporting every problem at once: one error matching
// ErrTestFailed per failing test, one matching ErrBenignMatch per rule that
// matches (or fails on) a benign sample, and a *LoadError per problem with
// the corpus itself (missing while some rule acts, or undecodable).
func LoadChecked(dir string, decode DecodeFunc, opts ...Option) (*Set, error) {
	s, err := LoadDir(dir, opts...)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, r := range s.Test(decode) {
		if !r.Pass {
			errs = append(errs, fmt.Errorf("%w: %s:%d: rule %s: test %q: %s", ErrTestFailed, r.File, r.Line, r.RuleID, r.Name, strings.Join(r.Problems, "; ")))
		}
	}
	benign, err := s.CheckBenign(dir, decode)
	for _, r := range benign {
		if len(r.Hits) > 0 {
			errs = append(errs, &benignError{fmt.Sprintf("%s:%d: %s", r.File, r.Line, r.Problem())})
		}
	}
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// Current returns the Set in force. It never returns nil.
func (w *Watcher) Current() *Set { return w.cur.Load() }

// Stats returns how many loads were accepted (including the first) and
// rejected.
func (w *Watcher) Stats() (loaded, rejected uint64) {
	return w.loaded.Load(), w.rejected.Load()
}

// Reload loads the directory again and, if the Watcher accepts it (see
// Watcher), makes the new Set current. Otherwise it keeps the current Set,
// with its protected identities, counts the rejection (Stats) and returns
// every problem found; a ProtectedFile that was deleted or emptied without
// `allow_empty: true` is refused with an error matching ErrNoProtected.
// Reload logs the outcome: "rules reloaded" at Info (Warn when nobody is
// protected) with protected_entries, or "rules reload rejected, keeping the
// current rules" at Error with the error and the protected_entries still in
// force.
func (w *Watcher) Reload() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, err := w.load()
	if err != nil {
		w.rejected.Add(1)
		w.log.Error("rules reload rejected, keeping the current rules", "dir", w.dir, "error", err,
			"protected_entries", w.Current().Protected().Len())
	} else {
		w.cur.Store(s)
		w.loaded.Add(1)
		w.logLoaded("rules reloaded", s)
	}
	if w.cfg.OnReload != nil {
		w.cfg.OnReload(s, err)
	}
	if err != nil {
		return fmt.Errorf("reload rules: %w", err)
	}
	return nil
}

// Run watches the directory and reloads after each burst of changes to rule
// files and protected.yaml (*.yaml, *.yml), waiting Debounce after the last
// change, and after each atomic update of a Kubernetes ConfigMap (or
// projected) volume mounted there: the kubelet writes every key into a new
// hidden directory and renames a `..data` symlink over the old one, so the
// files, reached through symlinks, change without an event of their own
// (see isReloadEvent). Either way the whole directory is loaded again once
// per burst. Changes to fixtures and to the benign corpus, in
// subdirectories, are not watched in a plain directory: they take effect at
// the next reload (in a ConfigMap volume they come with the `..data` swap).
// Each reload is logged and reported to OnReload as Reload does; after a
// rejected one Run carries on with the current Set. Run returns nil when ctx
// is done, or an error if the directory cannot be watched.
func (w *Watcher) Run(ctx context.Context) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch rules: %w", err)
	}
	defer fw.Close()
	if err := fw.Add(w.dir); err != nil {
		return fmt.Errorf("watch rules: %w", err)
	}
	if w.watching != nil {
		w.watching()
	}
	timer := time.NewTimer(w.cfg.Debounce)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-fw.Events:
			if !ok {
				return errors.New("watch rules: watcher closed")
			}
			if !isReloadEvent(ev) {
				continue
			}
			timer.Reset(w.cfg.Debounce)
		case err, ok := <-fw.Errors:
			if !ok {
				return errors.New("watch rules: watcher closed")
			}
			w.log.Warn("rules watcher error", "dir", w.dir, "error", err)
		case <-timer.C:
			_ = w.Reload() // logged by Reload
		}
	}
}

// kubeDataLink is the symlink through which a Kubernetes ConfigMap, Secret
// or projected volume exposes its current contents: every key is a symlink
// `name -> ..data/name`, and an update renames a new `..data` over the old
// one (an event on `..data` only; the kubelet's timestamped directories
// and `..data_tmp` are hidden entries too, starting with "..").
const kubeDataLink = "..data"

// isReloadEvent reports whether ev, an event in the watched directory, may
// change the rule set: a change (other than of permissions alone) to a rule
// file or ProtectedFile (*.yaml, *.yml), or the swap of kubeDataLink. The
// other hidden "..*" entries the kubelet writes are ignored: they are its
// staging, never rule files.
func isReloadEvent(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	name := filepath.Base(ev.Name)
	if name == kubeDataLink {
		return true
	}
	if strings.HasPrefix(name, "..") {
		return false
	}
	ext := filepath.Ext(name)
	return ext == ".yaml" || ext == ".yml"
}
