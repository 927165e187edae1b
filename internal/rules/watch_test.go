package rules

import (
	"context"
	"errors"
	"os"
	"path/filepath"
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

func TestWatcherReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", ruleFile("first", "true"))
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
