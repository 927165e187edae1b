package rules

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// kubeletVolume is a directory laid out, and updated, the way the kubelet
// writes a ConfigMap or projected volume (its AtomicWriter): the files live
// in a hidden timestamped directory, `..data` points to it, and each
// top-level name is a symlink `name -> ..data/name`. An update writes a new
// timestamped directory, points `..data_tmp` at it, renames `..data_tmp`
// over `..data` (the one atomic step), then removes the old directory; the
// files reached through the symlinks change without an event of their own.
type kubeletVolume struct {
	t   *testing.T
	dir string
	gen int
}

// write publishes files (slash paths) as the volume's new contents.
func (v *kubeletVolume) write(files map[string]string) {
	v.t.Helper()
	v.gen++
	ts := fmt.Sprintf("..2026_12_07_01_00_%02d.%09d", v.gen, 123456789+v.gen)
	for name, body := range files {
		p := filepath.Join(v.dir, ts, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			v.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			v.t.Fatal(err)
		}
	}
	data := filepath.Join(v.dir, kubeDataLink)
	old, err := os.Readlink(data)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		v.t.Fatal(err)
	}
	tmp := filepath.Join(v.dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		v.t.Fatal(err)
	}
	top := map[string]bool{}
	for name := range files {
		first, _, _ := strings.Cut(name, "/")
		top[first] = true
	}
	for name := range top {
		link := filepath.Join(v.dir, name)
		if _, err := os.Lstat(link); errors.Is(err, os.ErrNotExist) {
			if err := os.Symlink(filepath.Join(kubeDataLink, name), link); err != nil {
				v.t.Fatal(err)
			}
		}
	}
	if err := os.Rename(tmp, data); err != nil {
		v.t.Fatal(err)
	}
	entries, err := os.ReadDir(v.dir)
	if err != nil {
		v.t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "..") && !top[e.Name()] {
			if err := os.Remove(filepath.Join(v.dir, e.Name())); err != nil {
				v.t.Fatal(err)
			}
		}
	}
	if old != "" {
		if err := os.RemoveAll(filepath.Join(v.dir, old)); err != nil {
			v.t.Fatal(err)
		}
	}
}

// acting is a rule that suspends on a successful sign-in scored 80 or
// more, in the given mode, with the inline tests a rule that acts needs.
func acting(mode string) string {
	return `rules:
  - id: risky
    severity: high
    mode: ` + mode + `
    action: suspend
    when: outcome == "success" && risk_score >= 80
    tests:
      - {name: high score, event: {user_email: a@example.com, outcome: success, risk_score: 90}, expect: {match: true}}
      - {name: no score, event: {user_email: a@example.com, outcome: success}, expect: {match: false}}
`
}

// configMap returns the files of a rules ConfigMap: the rule file, the
// protected list and the benign corpus under testdata/benign/.
func configMap(rule, protected string) map[string]string {
	files := benignOkta()
	files["risky.yaml"] = rule
	files[ProtectedFile] = protected
	return files
}

// TestWatcherFollowsKubeletConfigMap runs the Watcher on a directory the
// kubelet updates: each atomic swap of `..data` reloads the whole rule set
// once (a rule turned to shadow is no longer acted on), a swap to a broken
// rule set is refused and the rules and protected identities in force stay,
// and protected.yaml, reached through its symlink, is read again with the
// rules.
func TestWatcherFollowsKubeletConfigMap(t *testing.T) {
	t.Parallel()
	vol := &kubeletVolume{t: t, dir: t.TempDir()}
	vol.write(configMap(acting("enforce"), "emails: [breakglass@example.com]\n"))

	type reload struct {
		s   *Set
		err error
	}
	reloads := make(chan reload, 10)
	w, err := NewWatcher(vol.dir, nil, WatcherConfig{
		Decode:   shippedDecoder(t),
		Debounce: 20 * time.Millisecond,
		OnReload: func(s *Set, err error) { reloads <- reload{s, err} },
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Current().Files(); !slices.Equal(got, []string{"risky.yaml"}) {
		t.Errorf("rule files %v: the kubelet's ..* entries are not rule files", got)
	}
	score := 90
	risky := &event.Event{UserEmail: "dana@example.com", Outcome: "success", RiskScore: &score}
	mode := func() remediate.Mode {
		t.Helper()
		res := w.Evaluate(risky)
		if len(res.Decisions) != 1 || len(res.Errors) != 0 {
			t.Fatalf("evaluate: %+v", res)
		}
		return res.Decisions[0].Mode
	}
	if m := mode(); m != remediate.ModeEnforce {
		t.Fatalf("initial mode %s", m)
	}

	watching := make(chan struct{})
	w.watching = func() { close(watching) }
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	deadline := time.After(30 * time.Second)
	select {
	case <-watching:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-deadline:
		t.Fatal("Run did not start watching")
	}
	wait := func(step string) reload {
		t.Helper()
		select {
		case r := <-reloads:
			return r
		case <-deadline:
			t.Fatalf("%s: no reload", step)
			return reload{}
		}
	}

	// The rule turned to shadow: its decisions are no longer acted on.
	vol.write(configMap(acting("shadow"), "emails: [breakglass@example.com]\n"))
	if r := wait("to shadow"); r.err != nil || r.s != w.Current() {
		t.Fatalf("swap to shadow: reload error %v", r.err)
	}
	if m := mode(); m != remediate.ModeShadow {
		t.Errorf("after the swap the rule's decisions are %s, want shadow", m)
	}
	if w.Current().Rules()[0].Acts() {
		t.Error("the rule turned to shadow still acts")
	}
	shadow := w.Current()

	// A broken rule set, with a longer protected list: refused whole.
	vol.write(configMap(strings.Replace(acting("enforce"), "risk_score >= 80", "risk_scor >= 80", 1),
		"emails: [breakglass@example.com, svc-scim@example.com]\n"))
	if r := wait("to broken"); !errors.Is(r.err, ErrInvalidRule) || r.s != nil {
		t.Fatalf("swap to a broken rule: reload error %v, want ErrInvalidRule", r.err)
	}
	if w.Current() != shadow || mode() != remediate.ModeShadow {
		t.Error("the refused swap replaced the rules in force")
	}
	if _, ok := w.Current().Protected().Match("", "svc-scim@example.com"); ok {
		t.Error("the refused swap's protected.yaml is in force")
	}

	// Good rules again, and the new protected.yaml is read with them.
	vol.write(configMap(acting("enforce"), "emails: [breakglass@example.com, svc-scim@example.com]\n"))
	if r := wait("to enforce"); r.err != nil {
		t.Fatalf("swap back: reload error %v", r.err)
	}
	if m := mode(); m != remediate.ModeEnforce {
		t.Errorf("mode %s after the swap back", m)
	}
	if _, ok := w.Current().Protected().Match("", "SVC-SCIM@example.com"); !ok || w.Current().Protected().Len() != 2 {
		t.Errorf("protected.yaml not re-read: %d entries", w.Current().Protected().Len())
	}
	if got := w.Current().Files(); !slices.Equal(got, []string{"risky.yaml"}) {
		t.Errorf("rule files %v", got)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	// One reload per swap: the first load and three swaps.
	if l, r := w.Stats(); l != 3 || r != 1 {
		t.Errorf("stats = %d loaded, %d rejected; want 3 and 1 (one reload per swap)", l, r)
	}
	entries, err := os.ReadDir(vol.dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"..2026_12_07_01_00_04.123456793", "..data", ProtectedFile, "risky.yaml", "testdata"}; !slices.Equal(names, want) {
		t.Errorf("volume layout %v, want %v", names, want)
	}
}

// TestIsReloadEvent checks which changes in the rules directory reload: the
// rule files and protected.yaml, and the kubelet's swap of `..data`; not
// its staging entries, other files, or a change of permissions alone.
func TestIsReloadEvent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		op   fsnotify.Op
		want bool
	}{
		{"..data", fsnotify.Create, true},
		{"..data", fsnotify.Remove, true},
		{"..data_tmp", fsnotify.Create, false},
		{"..data_tmp", fsnotify.Rename, false},
		{"..2026_12_07_01_00_00.123456789", fsnotify.Create, false},
		{"..2026_12_07_01_00_00.123456789", fsnotify.Remove, false},
		{"..hidden.yaml", fsnotify.Create, false},
		{"a.yaml", fsnotify.Write, true},
		{"a.yml", fsnotify.Create, true},
		{"a.yaml", fsnotify.Remove, true},
		{"a.yaml", fsnotify.Rename, true},
		{ProtectedFile, fsnotify.Write, true},
		{"a.yaml", fsnotify.Chmod, false},
		{"README.md", fsnotify.Write, false},
		{"testdata", fsnotify.Create, false},
	} {
		ev := fsnotify.Event{Name: filepath.Join("/etc/tripline/rules", tc.name), Op: tc.op}
		if got := isReloadEvent(ev); got != tc.want {
			t.Errorf("isReloadEvent(%s) = %t, want %t", ev, got, tc.want)
		}
	}
}

// TestLoadSkipsKubeletEntries checks that a hidden "..*" entry is never
// loaded as a rule file, even one named like a rule file.
func TestLoadSkipsKubeletEntries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "a.yaml", ruleFile("first", "true"))
	writeFile(t, dir, "..2026_12_07_01_00_00.123.yaml", "rules: [")
	writeFile(t, dir, ProtectedFile, protectNobody)
	s, err := LoadDir(dir)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if got := s.Files(); !slices.Equal(got, []string{"a.yaml"}) {
		t.Errorf("rule files %v, want [a.yaml]", got)
	}
}
