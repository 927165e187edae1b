package rules

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/remediate"
)

func mustLoad(t testing.TB, src string, opts ...Option) *Set {
	t.Helper()
	s, err := Load(fstest.MapFS{"r.yaml": {Data: []byte(src)}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var t0 = time.Date(2025, 10, 14, 8, 0, 0, 0, time.UTC)

func TestEvaluateRuntimeErrorIsolated(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, `rules:
  - id: broken
    severity: low
    action: none
    when: raw.a.b == "x"
  - id: fine
    severity: high
    mode: enforce
    action: suspend
    when: outcome == "success" && risk_score >= 80
    reason: "{{ .user_email }} score {{ .risk_score }}"
    tests:
      - {name: high score, event: {user_email: a@example.com, outcome: success, risk_score: 90}, expect: {match: true}}
      - {name: no score, event: {user_email: a@example.com, outcome: success}, expect: {match: false}}
`)
	score := 90
	res := s.Evaluate(&event.Event{UserEmail: "a@example.com", Outcome: "success", RiskScore: &score})
	want := []Decision{{RuleID: "fine", Mode: remediate.ModeEnforce, Action: remediate.ActionSuspend, User: "a@example.com", Reason: "a@example.com score 90", Severity: "high"}}
	if d := cmp.Diff(want, res.Decisions); d != "" {
		t.Errorf("decisions (-want +got):\n%s", d)
	}
	if len(res.Errors) != 1 || res.Errors[0].RuleID != "broken" {
		t.Errorf("errors = %v", res.Errors)
	}
	// Without a risk score, risk_score is NoRiskScore and the rule is safe.
	if res := s.Evaluate(&event.Event{UserEmail: "a@example.com", Outcome: "success", Raw: map[string]any{"a": map[string]any{"b": "y"}}}); len(res.Decisions) != 0 || len(res.Errors) != 0 {
		t.Errorf("no score: %+v", res)
	}
}

func TestEvaluateUserExpressionAndNoUser(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, `rules:
  - id: by_vendor_id
    severity: low
    action: suspend
    when: "true"
    user: 'user_id != "" ? lower(user_id) : ""'
`)
	res := s.Evaluate(&event.Event{UserEmail: "a@example.com", UserID: "ABC"})
	if len(res.Decisions) != 1 || res.Decisions[0].User != "abc" {
		t.Errorf("got %+v", res)
	}
	res = s.Evaluate(&event.Event{UserEmail: "a@example.com"})
	if len(res.Decisions) != 0 || len(res.Errors) != 1 || !errors.Is(res.Errors[0], ErrNoUser) {
		t.Errorf("got %+v", res)
	}
	// The default identity prefers the 1Password user id.
	s = mustLoad(t, "rules:\n  - id: d\n    severity: low\n    action: suspend\n    when: 'true'\n")
	if res := s.Evaluate(&event.Event{UserEmail: "a@example.com", OPUserID: "OPID"}); res.Decisions[0].User != "OPID" {
		t.Errorf("got %+v", res)
	}
}

func TestApproveRuleCarriesItsTimeout(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, "rules:\n  - id: a\n    severity: low\n    mode: approve\n    action: none\n    when: 'true'\n  - id: b\n    severity: low\n    mode: approve\n    approval_timeout: 2h\n    action: none\n    when: 'true'\n")
	res := s.Evaluate(&event.Event{UserEmail: "a@x", EventID: "e1", Time: t0})
	if len(res.Decisions) != 2 || res.Decisions[0].Mode != remediate.ModeApprove || res.Decisions[0].ApprovalTimeout != remediate.DefaultApprovalTimeout || res.Decisions[1].ApprovalTimeout != 2*time.Hour {
		t.Errorf("decisions %+v", res.Decisions)
	}
}

func TestDecisionCarriesCooldownGraceAndLimit(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, "rules:\n  - id: c\n    severity: low\n    action: suspend\n    cooldown: 1h\n    grace: 24h\n    max_actions: 5/10m\n    when: 'true'\n")
	want := Decision{
		RuleID: "c", Mode: remediate.ModeShadow, Action: remediate.ActionSuspend, User: "a@x", Reason: "rule c matched", Severity: SeverityLow,
		Cooldown: time.Hour, Grace: 24 * time.Hour, MaxActions: Limit{Count: 5, Window: 10 * time.Minute},
	}
	// The rules package suppresses nothing: a second decision within the
	// cooldown is still reported; the decision service applies the cooldown.
	for i, at := range []time.Duration{0, time.Minute, 30 * time.Minute} {
		res := s.Evaluate(&event.Event{UserEmail: "a@x", EventID: fmt.Sprint("e", i), Time: t0.Add(at)})
		if d := cmp.Diff([]Decision{want}, res.Decisions); d != "" {
			t.Errorf("step %d (-want +got):\n%s", i, d)
		}
	}
	info := s.Rules()[0]
	if info.Cooldown != time.Hour || info.Grace != 24*time.Hour || info.MaxActions != want.MaxActions {
		t.Errorf("RuleInfo = %+v", info)
	}
	if n := s.State().Tracked(); n != 0 {
		t.Errorf("state tracks %d entries for a rule without count()", n)
	}
}

func TestCountWindowBoundary(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, `rules:
  - id: burst
    severity: low
    action: none
    when: outcome == "failure" && count("fail", "10m") >= 3
  - id: same_key
    severity: low
    action: none
    when: outcome == "failure" && count("fail", "1h") >= 4
`)
	var got []string
	for i, at := range []time.Duration{0, 5 * time.Minute, 10 * time.Minute, 10*time.Minute + time.Second, 11 * time.Minute} {
		res := s.Evaluate(&event.Event{UserEmail: "a@x", Outcome: "failure", EventID: fmt.Sprint(i), Time: t0.Add(at)})
		var ids []string
		for _, d := range res.Decisions {
			ids = append(ids, d.RuleID)
		}
		got = append(got, fmt.Sprint(ids))
	}
	// The event at 0 falls out of the half-open window (t-10m, t] at 10m.
	// Both rules share the key: each event is recorded once.
	want := []string{"[]", "[]", "[]", "[burst same_key]", "[burst same_key]"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	// A success is not counted, because count() is not reached.
	res := s.Evaluate(&event.Event{UserEmail: "a@x", Outcome: "success", EventID: "s", Time: t0.Add(12 * time.Minute)})
	if len(res.Decisions) != 0 {
		t.Errorf("success matched: %+v", res)
	}
	// A redelivered event is not counted twice.
	res = s.Evaluate(&event.Event{UserEmail: "b@x", Outcome: "failure", EventID: "r", Time: t0})
	res = s.Evaluate(&event.Event{UserEmail: "b@x", Outcome: "failure", EventID: "r", Time: t0})
	res = s.Evaluate(&event.Event{UserEmail: "b@x", Outcome: "failure", EventID: "r", Time: t0})
	if len(res.Decisions) != 0 {
		t.Errorf("redelivery counted: %+v", res)
	}
}

func TestStateEvictionBound(t *testing.T) {
	t.Parallel()
	st := NewState(3)
	s := mustLoad(t, "rules:\n  - id: c\n    severity: low\n    action: none\n    cooldown: 1h\n    when: count(\"k\", \"1h\") >= 2\n", WithState(st))
	for i := range 10 {
		s.Evaluate(&event.Event{UserEmail: fmt.Sprintf("u%d@x", i), EventID: fmt.Sprint(i), Time: t0})
	}
	if c := st.Tracked(); c != 3 {
		t.Errorf("tracked counters = %d, want 3", c)
	}
	// u9 is still tracked (most recent): its second event is its 2nd.
	if res := s.Evaluate(&event.Event{UserEmail: "u9@x", EventID: "x", Time: t0}); len(res.Decisions) != 1 {
		t.Errorf("u9: %+v", res)
	}
	// u0 was evicted: it starts again from 1.
	if res := s.Evaluate(&event.Event{UserEmail: "u0@x", EventID: "y", Time: t0}); len(res.Decisions) != 0 {
		t.Errorf("u0: %+v", res)
	}
	// The ring for key k holds at most the threshold (2) timestamps.
	st.mu.Lock()
	r, _ := st.counters.get(counterKey{"k", "u9@x"})
	st.mu.Unlock()
	if len(r.at) > 2 {
		t.Errorf("ring holds %d timestamps, want <= 2", len(r.at))
	}
}

func TestFunctions(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, `lists:
  nets: [10.0.0.0/8]
  countries: [ro, KP]
rules:
  - id: f
    severity: low
    action: none
    when: >
      in_cidr(src_ip, "nets") && in_cidr(src_ip, "10.1.0.0/16") && is_private_ip(src_ip) && !is_public_ip(src_ip)
      && is_public_ip("203.0.113.7") && country_in(country, "countries") && email_domain(user_email) == "example.com"
      && glob("*@example.*", user_email) && has_suffix(user_email, ".com") && "KP" in list("countries")
      && hour_in("Europe/Bucharest", 22, 6) && local_hour("Europe/Bucharest") == 1 && weekday_in("UTC", "tue", "Wed")
      && risk_at_least("medium") && !risk_at_least("critical") && risk_rank == 3 && identity == "a@Example.com"
`)
	ev := &event.Event{UserEmail: "a@Example.com", SrcIP: "10.1.2.3", Country: "RO", Risk: "high", Time: time.Date(2025, 10, 14, 22, 30, 0, 0, time.UTC)}
	if res := s.Evaluate(ev); len(res.Decisions) != 1 || len(res.Errors) != 0 {
		t.Errorf("got %+v", res)
	}
}

func TestSetTestFreshState(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, `rules:
  - id: c
    severity: low
    action: suspend
    cooldown: 1h
    when: count("k", "1h") >= 2
    tests:
      - name: second event
        event: {user_email: a@x, event_id: e}
        repeat: 2
        expect: {match: true}
      - name: first event
        event: {user_email: a@x, event_id: e}
        expect: {match: false}
`)
	for i := range 2 { // running twice shows tests do not leak state
		for _, r := range s.Test(nil) {
			if !r.Pass {
				t.Errorf("run %d: %s: %v", i, r.Name, r.Problems)
			}
		}
	}
	if c := s.State().Tracked(); c != 0 {
		t.Errorf("inline tests touched the Set's state: %d counters", c)
	}
}

func loadShipped(b *testing.B) *Set {
	b.Helper()
	s, err := Load(os.DirFS("../../rules"))
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkEvaluate(b *testing.B) {
	s := loadShipped(b)
	noMatch := &event.Event{UserEmail: "li.wei@example.com", Outcome: "success", Risk: "low", Reasons: []string{"unfamiliarFeatures"},
		SrcIP: "198.51.100.23", Country: "US", Time: t0, EventID: "entra:1", Source: "entra", Kind: "signin",
		Raw: map[string]any{"category": "SignInLogs"}}
	match := &event.Event{UserEmail: "dana.reyes@example.com", Outcome: "success", Risk: "high", Reasons: []string{"anonymizedIPAddress"},
		SrcIP: "203.0.113.77", Country: "RO", Time: t0, EventID: "entra:2", Source: "entra", Kind: "signin"}
	b.Run("no_match", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if res := s.Evaluate(noMatch); len(res.Decisions) != 0 {
				b.Fatal(res)
			}
		}
	})
	b.Run("match", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if res := s.Evaluate(match); len(res.Decisions) == 0 {
				b.Fatal(res)
			}
		}
	})
}

func BenchmarkNormalizeEvaluate(b *testing.B) {
	s := loadShipped(b)
	raw, err := os.ReadFile("../../rules/testdata/entra-risky-signin.json")
	if err != nil {
		b.Fatal(err)
	}
	decode := shippedDecoder(b)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		evs, err := decode(raw)
		if err != nil {
			b.Fatal(err)
		}
		for i := range evs {
			s.Evaluate(&evs[i])
		}
	}
}

func TestStateBytesBound(t *testing.T) {
	st := NewState(0)
	st.maxBytes = 1 << 20
	// Keys cut from large messages are copied, not kept pointing into them,
	// and the byte bound evicts however few the counters are.
	msg := strings.Repeat("x", 1<<20)
	for i := range 100 {
		user := msg[i : i+200]
		st.record("k", user, int64(i), 0, 10, time.Hour)
	}
	if b := st.Bytes(); b > 1<<20 || b <= 0 {
		t.Errorf("bytes %d, want within (0, 1 MiB]", b)
	}
	base := uintptr(unsafe.Pointer(unsafe.StringData(msg)))
	for k := range st.counters.items {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(k.user))); p >= base && p < base+uintptr(len(msg)) {
			t.Fatal("a counter key points into the message, keeping all of it alive")
		}
	}
	st.mu.Lock()
	var sum int64
	for k, n := range st.counters.items {
		sum += counterBytes(k, n.val)
	}
	st.mu.Unlock()
	if sum != st.Bytes() {
		t.Errorf("accounted %d bytes, counters hold %d", st.Bytes(), sum)
	}
	// 5 KiB keys: the bound keeps well under 1 MiB counters.
	big := strings.Repeat("y", 5<<10)
	for i := range 1000 {
		st.record(big, fmt.Sprint(i), int64(i), 0, 10, time.Hour)
	}
	if b, n := st.Bytes(), st.Tracked(); b > 1<<20 || n > 1<<20/(5<<10) {
		t.Errorf("%d counters, %d bytes after 1000 counters of 5 KiB keys", n, b)
	}
}

// A rule can tell an event whose reasons were cut (too many, or too long)
// from one whose reasons are whole.
func TestRuleSeesTruncatedReasons(t *testing.T) {
	t.Parallel()
	s := mustLoad(t, "rules:\n  - id: cut\n    severity: low\n    action: none\n    when: reasons_truncated > 0\n")
	if res := s.Evaluate(&event.Event{UserEmail: "a@x", EventID: "e1", ReasonsTruncated: 3}); len(res.Decisions) != 1 {
		t.Errorf("truncated reasons: %+v", res)
	}
	if res := s.Evaluate(&event.Event{UserEmail: "a@x", EventID: "e2"}); len(res.Decisions) != 0 {
		t.Errorf("whole reasons: %+v", res)
	}
}
