package rules

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func ruleFile(id, when string) string {
	return "rules:\n  - id: " + id + "\n    severity: low\n    action: none\n    when: '" + when + "'\n    tests:\n      - name: t\n        event: {outcome: success}\n        expect: {match: true}\n"
}

// protectNobody is a ProtectedFile that protects nobody on purpose, for
// tests about something else: a Watcher refuses a directory without one.
const protectNobody = "allow_empty: true\n"

func TestWatcherReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", ruleFile("first", "true"))
	writeFile(t, dir, ProtectedFile, protectNobody)
	w, err := NewWatcher(dir, nil, WatcherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	old := w.Current()

	writeFile(t, dir, "a.yaml", ruleFile("broken", "outcom == 1"))
	if err := w.Reload(); !errors.Is(err, ErrInvalidRule) || w.Current() != old {
		t.Errorf("broken file: err = %v, current replaced = %t", err, w.Current() != old)
	}
	writeFile(t, dir, "a.yaml", ruleFile("failing", `outcome == "failure"`))
	if err := w.Reload(); !errors.Is(err, ErrTestFailed) || w.Current() != old {
		t.Errorf("failing test: err = %v, current replaced = %t", err, w.Current() != old)
	}
	writeFile(t, dir, "a.yaml", ruleFile("second", "true"))
	if err := w.Reload(); err != nil || w.Current().Rules()[0].ID != "second" {
		t.Errorf("good file: err = %v", err)
	}
	if w.Current().State() != old.State() {
		t.Error("reload did not carry the state over")
	}
	if l, r := w.Stats(); l != 2 || r != 2 {
		t.Errorf("stats = %d loaded, %d rejected", l, r)
	}
}

func TestWatcherRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", ruleFile("first", "true"))
	writeFile(t, dir, ProtectedFile, protectNobody)
	type reload struct {
		s   *Set
		err error
	}
	reloads := make(chan reload, 10)
	w, err := NewWatcher(dir, nil, WatcherConfig{Debounce: 20 * time.Millisecond, OnReload: func(s *Set, err error) { reloads <- reload{s, err} }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	wait := func() reload {
		t.Helper()
		select {
		case r := <-reloads:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("no reload")
			return reload{}
		}
	}
	// The watch may start after the first write; write until a reload comes.
	var r reload
	for i := 0; ; i++ {
		writeFile(t, dir, "b.yaml", ruleFile("second", "true"))
		select {
		case r = <-reloads:
		case <-time.After(500 * time.Millisecond):
			if i < 20 {
				continue
			}
			t.Fatal("change not picked up")
		}
		break
	}
	if r.err != nil || len(w.Current().Rules()) != 2 {
		t.Fatalf("good change: %v, rules %d", r.err, len(w.Current().Rules()))
	}
	good := w.Current()
	writeFile(t, dir, "b.yaml", "rules: [")
	if r := wait(); r.err == nil || w.Current() != good {
		t.Errorf("broken change accepted: %v", r.err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func TestWatcherReloadKeepsProtectedOnBadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", ruleFile("first", "true"))
	writeFile(t, dir, ProtectedFile, "emails: [breakglass@example.com]\n")
	w, err := NewWatcher(dir, nil, WatcherConfig{})
	if err != nil {
		t.Fatal(err)
	}
	old := w.Current()
	if _, ok := old.Protected().Match("", "BreakGlass@example.com"); !ok {
		t.Fatal("breakglass@example.com not protected")
	}

	writeFile(t, dir, ProtectedFile, "emails: [breakglass@example.com, not-an-email]\n")
	err = w.Reload()
	if !errors.Is(err, ErrInvalidRule) || !strings.Contains(err.Error(), "protected.yaml:1: emails:") || w.Current() != old {
		t.Fatalf("bad protected.yaml: err = %v, current replaced = %t", err, w.Current() != old)
	}
	if _, ok := w.Current().Protected().Match("", "breakglass@example.com"); !ok {
		t.Error("the rejected reload dropped the protected list")
	}

	writeFile(t, dir, ProtectedFile, "emails: [breakglass@example.com]\nglobs: [\"svc-*@example.com\"]\n")
	if err := w.Reload(); err != nil || w.Current() == old {
		t.Fatalf("good protected.yaml: err = %v", err)
	}
	if _, ok := w.Current().Protected().Match("", "svc-scim@example.com"); !ok || w.Current().Protected().Len() != 2 {
		t.Errorf("reload did not pick up the new protected list (%d entries)", w.Current().Protected().Len())
	}
	if l, r := w.Stats(); l != 2 || r != 1 {
		t.Errorf("stats = %d loaded, %d rejected", l, r)
	}
}

// TestWatcherReloadRefusesUnprovenRule is the scenario of the security
// review: a hot-reloaded rule that suspends whoever signs in.
func TestWatcherReloadRefusesUnprovenRule(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", ruleFile("first", "true"))
	writeFile(t, dir, ProtectedFile, protectNobody)
	w, err := NewWatcher(dir, nil, WatcherConfig{Decode: shippedDecoder(t)})
	if err != nil {
		t.Fatal(err)
	}
	old := w.Current()
	writeFile(t, dir, "b.yaml", "rules:\n  - id: everyone\n    severity: high\n    mode: enforce\n    action: suspend\n    when: 'true'\n")
	err = w.Reload()
	if !errors.Is(err, ErrInvalidRule) || !strings.Contains(err.Error(), "b.yaml:2: rule everyone: an enforce rule that suspends needs at least one inline test") || w.Current() != old {
		t.Errorf("untested rule: err = %v, current replaced = %t", err, w.Current() != old)
	}
	// With a test that matches, it still cannot have one that does not.
	writeFile(t, dir, "b.yaml", "rules:\n  - id: everyone\n    severity: high\n    mode: enforce\n    action: suspend\n    when: 'true'\n    tests:\n      - {name: t, event: {user_email: a@example.com}, expect: {match: true}}\n")
	if err := w.Reload(); !errors.Is(err, ErrInvalidRule) || w.Current() != old {
		t.Errorf("rule with only a matching test: err = %v", err)
	}
}
