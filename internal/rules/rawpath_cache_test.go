package rules

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tripline-dev/tripline/internal/event"
)

// TestPathCacheFindsOncePerEvent checks that, bound to an event, the
// cache walks the event's raw document once per compiled path, that
// binding it again (the next event) finds the values again, and that
// another document, or a path compiled alone, is walked at every call.
func TestPathCacheFindsOncePerEvent(t *testing.T) {
	t.Parallel()
	ss := newSigmaSites()
	p := ss.path("a.b")
	alone := compileRawPath("a.b")
	ev := &event.Event{Raw: rawDoc(t, `{"a": [{"b": "x"}, {"b": ["y", "z"]}]}`)}
	var c *pathCache
	c = c.bind(ev)
	want := []any{"x", []any{"y", "z"}}
	if d := cmp.Diff(want, c.values(p, ev.Raw)); d != "" {
		t.Fatalf("values (-want +got):\n%s", d)
	}
	// Changed behind the cache's back: a cached path still gives what
	// the first walk found; a path compiled alone sees the change.
	ev.Raw["a"] = map[string]any{"b": "changed"}
	if d := cmp.Diff(want, c.values(p, ev.Raw)); d != "" {
		t.Errorf("second call in the same evaluation walked again (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]any{"changed"}, c.values(alone, ev.Raw)); d != "" {
		t.Errorf("path compiled alone (-want +got):\n%s", d)
	}
	other := rawDoc(t, `{"a": {"b": "other"}}`)
	if d := cmp.Diff([]any{"other"}, c.values(p, other)); d != "" {
		t.Errorf("another document (-want +got):\n%s", d)
	}
	c = c.bind(ev)
	if d := cmp.Diff([]any{"changed"}, c.values(p, ev.Raw)); d != "" {
		t.Errorf("bound again (-want +got):\n%s", d)
	}
	next := &event.Event{Raw: rawDoc(t, `{"a": {"b": 1}}`)}
	c = c.bind(next)
	if d := cmp.Diff([]any{1.0}, c.values(p, next.Raw)); d != "" {
		t.Errorf("next event (-want +got):\n%s", d)
	}
	var none *pathCache
	if d := cmp.Diff([]any{1.0}, none.values(p, next.Raw)); d != "" {
		t.Errorf("nil cache (-want +got):\n%s", d)
	}
}

// TestSigmaCallsDoNotAllocate checks that a prepared Sigma call, once the
// evaluation's cache has grown, reads its paths and compares without
// allocating: no closure or slice per call.
func TestSigmaCallsDoNotAllocate(t *testing.T) {
	s := loadSigma(t, `sigma_eq(raw, ["x", "a.b"], ["nope", 7]) || sigma_contains(raw, "events.parameters[name=k].value", ["zz"]) || sigma_endswith(raw, "Deep.Key", ["q"])`)
	ev := &event.Event{Source: "okta", Raw: rawDoc(t, `{"a": [{"b": "x"}, {"b": ["y", 6]}], "events": [{"parameters": [{"name": "K", "value": "v"}]}], "deep": {"key": "w"}}`)}
	e := s.pool.Get().(*evaluator)
	defer s.pool.Put(e)
	var sites []*sigmaSite
	for _, site := range s.cat.sigma.byList {
		sites = append(sites, site)
	}
	if len(sites) != 3 {
		t.Fatalf("%d prepared sites, want 3", len(sites))
	}
	run := func() {
		e.b.reset(ev)
		for _, site := range sites {
			if site.eval(e.b, ev.Raw) {
				t.Fatal("a call matched")
			}
		}
	}
	run() // grows the cache
	if allocs := testing.AllocsPerRun(100, run); allocs != 0 {
		t.Errorf("evaluating the calls allocates %.1f times, want 0", allocs)
	}
}
