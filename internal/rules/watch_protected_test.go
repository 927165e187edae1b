package rules

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// logRecorder is a slog.Handler that keeps every record, for tests that
// check what the Watcher logs. It is safe for concurrent use.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}

func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// logLine is one logged record: its level, message and attributes.
type logLine struct {
	level slog.Level
	msg   string
	attrs map[string]slog.Value
}

// lines returns the records logged with message msg, in order.
func (h *logRecorder) lines(msg string) []logLine {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []logLine
	for _, r := range h.records {
		if r.Message != msg {
			continue
		}
		l := logLine{level: r.Level, msg: r.Message, attrs: map[string]slog.Value{}}
		r.Attrs(func(a slog.Attr) bool {
			l.attrs[a.Key] = a.Value.Resolve()
			return true
		})
		out = append(out, l)
	}
	return out
}

// last returns the last record logged with message msg; it fails the test
// if there is none.
func (h *logRecorder) last(t *testing.T, msg string) logLine {
	t.Helper()
	ls := h.lines(msg)
	if len(ls) == 0 {
		t.Fatalf("no log line %q", msg)
	}
	return ls[len(ls)-1]
}

// checkEntries fails the test unless l carries protected_entries = want.
func checkEntries(t *testing.T, l logLine, want int64) {
	t.Helper()
	v, ok := l.attrs["protected_entries"]
	if !ok || v.Kind() != slog.KindInt64 || v.Int64() != want {
		t.Errorf("log line %q: protected_entries = %v (present %t), want %d", l.msg, v, ok, want)
	}
}

const (
	loadedMsg   = "rules loaded"
	reloadedMsg = "rules reloaded"
	rejectedMsg = "rules reload rejected, keeping the current rules"
	// twoProtected protects two identities.
	twoProtected = "emails: [breakglass@example.com]\nglobs: [\"svc-*@example.com\"]\n"
)

// newRecordedWatcher returns a Watcher over dir logging to a recorder.
func newRecordedWatcher(t *testing.T, dir string, cfg WatcherConfig) (*Watcher, *logRecorder) {
	t.Helper()
	rec := &logRecorder{}
	w, err := NewWatcher(dir, slog.New(rec), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w, rec
}

func TestNewWatcherRefusesMissingProtected(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", ruleFile("first", "true"))
	w, err := NewWatcher(dir, nil, WatcherConfig{})
	if w != nil || !errors.Is(err, ErrNoProtected) {
		t.Fatalf("NewWatcher = %v, %v; want ErrNoProtected", w, err)
	}
	for _, want := range []string{filepath.Join(dir, ProtectedFile) + ": ", "missing", "allow_empty: true", "emails, domains, globs, user_ids"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestNewWatcherRefusesEmptyProtected(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"empty file":        "",
		"only comments":     "# nobody yet\n",
		"empty lists":       "emails: []\ndomains: []\nglobs: []\nuser_ids: []\n",
		"allow_empty false": "emails: []\nallow_empty: false\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, dir, "a.yaml", ruleFile("first", "true"))
			writeFile(t, dir, ProtectedFile, body)
			w, err := NewWatcher(dir, nil, WatcherConfig{})
			if w != nil || !errors.Is(err, ErrNoProtected) {
				t.Fatalf("NewWatcher = %v, %v; want ErrNoProtected", w, err)
			}
			for _, want := range []string{filepath.Join(dir, ProtectedFile) + ": ", "all empty", "add the identities", "allow_empty: true"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestNewWatcherAllowEmpty(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", ruleFile("first", "true"))
	writeFile(t, dir, ProtectedFile, "emails: []\nallow_empty: true\n")
	w, rec := newRecordedWatcher(t, dir, WatcherConfig{})
	if n := w.Current().Protected().Len(); n != 0 {
		t.Errorf("Len = %d, want 0", n)
	}
	l := rec.last(t, loadedMsg)
	checkEntries(t, l, 0)
	if l.level != slog.LevelWarn {
		t.Errorf("load protecting nobody logged at %s, want WARN", l.level)
	}
}

func TestNewWatcherLogsProtectedEntries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", ruleFile("first", "true"))
	writeFile(t, dir, ProtectedFile, twoProtected)
	_, rec := newRecordedWatcher(t, dir, WatcherConfig{})
	l := rec.last(t, loadedMsg)
	checkEntries(t, l, 2)
	if l.level != slog.LevelInfo {
		t.Errorf("load logged at %s, want INFO", l.level)
	}
}

// TestWatcherReloadRefusesLosingProtected is the incident the check is for:
// protected.yaml deleted or saved empty while the consumer runs.
func TestWatcherReloadRefusesLosingProtected(t *testing.T) {
	t.Parallel()
	const missing, empty = "the file is missing", "all empty"
	for name, tc := range map[string]struct {
		change func(t *testing.T, dir string)
		reason string // in the error
	}{
		"deleted": {func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, ProtectedFile)); err != nil {
				t.Fatal(err)
			}
		}, missing},
		"saved empty":   {func(t *testing.T, dir string) { writeFile(t, dir, ProtectedFile, "") }, empty},
		"lists emptied": {func(t *testing.T, dir string) { writeFile(t, dir, ProtectedFile, "emails: []\nglobs: []\n") }, empty},
		"comments only": {func(t *testing.T, dir string) {
			writeFile(t, dir, ProtectedFile, "# emails: [breakglass@example.com]\n")
		}, empty},
		"explicit false": {func(t *testing.T, dir string) { writeFile(t, dir, ProtectedFile, "allow_empty: false\n") }, empty},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, dir, "a.yaml", ruleFile("first", "true"))
			writeFile(t, dir, ProtectedFile, twoProtected)
			w, rec := newRecordedWatcher(t, dir, WatcherConfig{})
			old := w.Current()

			tc.change(t, dir)
			// A rule change in the same reload is not taken either.
			writeFile(t, dir, "a.yaml", ruleFile("second", "true"))
			err := w.Reload()
			if !errors.Is(err, ErrNoProtected) || !strings.Contains(err.Error(), filepath.Join(dir, ProtectedFile)+": ") || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("Reload = %v; want ErrNoProtected naming the file and %q", err, tc.reason)
			}
			if w.Current() != old || w.Current().Rules()[0].ID != "first" {
				t.Error("the rejected reload replaced the rules")
			}
			if entry, ok := w.Current().Protected().Match("", "BreakGlass@example.com"); !ok || entry != "email breakglass@example.com" {
				t.Errorf("breakglass@example.com no longer protected after the rejected reload (%q, %t)", entry, ok)
			}
			if l, r := w.Stats(); l != 1 || r != 1 {
				t.Errorf("stats = %d loaded, %d rejected; want 1, 1", l, r)
			}
			l := rec.last(t, rejectedMsg)
			if l.level != slog.LevelError {
				t.Errorf("rejection logged at %s, want ERROR", l.level)
			}
			if e := l.attrs["error"].String(); !strings.Contains(e, "no protected identities: ") || !strings.Contains(e, tc.reason) {
				t.Errorf("rejection log error = %q, want the reason", e)
			}
			checkEntries(t, l, 2) // the list still in force
			if n := len(rec.lines(reloadedMsg)); n != 0 {
				t.Errorf("%d %q lines after a rejected reload", n, reloadedMsg)
			}
		})
	}
}

func TestWatcherReloadAllowEmpty(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", ruleFile("first", "true"))
	writeFile(t, dir, ProtectedFile, twoProtected)
	w, rec := newRecordedWatcher(t, dir, WatcherConfig{})
	checkEntries(t, rec.last(t, loadedMsg), 2)

	writeFile(t, dir, ProtectedFile, "allow_empty: true\n")
	if err := w.Reload(); err != nil {
		t.Fatalf("reload to an empty list with allow_empty: %v", err)
	}
	if _, ok := w.Current().Protected().Match("", "breakglass@example.com"); ok || w.Current().Protected().Len() != 0 {
		t.Errorf("the empty list was not taken (%d entries)", w.Current().Protected().Len())
	}
	l := rec.last(t, reloadedMsg)
	checkEntries(t, l, 0)
	if l.level != slog.LevelWarn {
		t.Errorf("reload protecting nobody logged at %s, want WARN", l.level)
	}

	writeFile(t, dir, ProtectedFile, "emails: [breakglass@example.com]\n")
	if err := w.Reload(); err != nil {
		t.Fatal(err)
	}
	l = rec.last(t, reloadedMsg)
	checkEntries(t, l, 1)
	if l.level != slog.LevelInfo {
		t.Errorf("reload logged at %s, want INFO", l.level)
	}
	if ld, r := w.Stats(); ld != 3 || r != 0 {
		t.Errorf("stats = %d loaded, %d rejected; want 3, 0", ld, r)
	}
}

// TestWatcherRunRefusesDeletedProtected deletes protected.yaml under a
// running Watcher: the file watcher's reload is refused like Reload's.
func TestWatcherRunRefusesDeletedProtected(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", ruleFile("first", "true"))
	writeFile(t, dir, ProtectedFile, twoProtected)
	reloads := make(chan error, 10)
	w, rec := newRecordedWatcher(t, dir, WatcherConfig{Debounce: 20 * time.Millisecond, OnReload: func(_ *Set, err error) { reloads <- err }})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	// The watch may start after the first write; write until a reload comes.
	for i := 0; ; i++ {
		writeFile(t, dir, "b.yaml", ruleFile("second", "true"))
		var err error
		select {
		case err = <-reloads:
		case <-time.After(500 * time.Millisecond):
			if i < 20 {
				continue
			}
			t.Fatal("change not picked up")
		}
		if err != nil {
			t.Fatalf("good change refused: %v", err)
		}
		break
	}
	good := w.Current()
	checkEntries(t, rec.last(t, reloadedMsg), 2)

	if err := os.Remove(filepath.Join(dir, ProtectedFile)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-reloads:
		if !errors.Is(err, ErrNoProtected) {
			t.Errorf("reload after deleting %s: %v; want ErrNoProtected", ProtectedFile, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("deletion not picked up")
	}
	if w.Current() != good {
		t.Error("the deletion replaced the rules")
	}
	if _, ok := w.Current().Protected().Match("", "svc-ci@example.com"); !ok {
		t.Error("svc-ci@example.com no longer protected")
	}
	if _, r := w.Stats(); r != 1 {
		t.Errorf("rejected = %d, want 1", r)
	}
	l := rec.last(t, rejectedMsg)
	if l.level != slog.LevelError || !strings.Contains(l.attrs["error"].String(), "the file is missing") {
		t.Errorf("rejection logged at %s with error %q", l.level, l.attrs["error"])
	}
}
