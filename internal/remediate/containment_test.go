package remediate

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// timedOf is a suspension decision of a rule with suspend_for.
func timedOf(rule, identity, event string, suspendFor ...time.Duration) Decision {
	d := suspendOf(rule, identity, event)
	d.SuspendFor = suspendFor
	return d
}

// endNow applies the clock's end answers due now, each as read from its
// own record, and returns the outcomes.
func endNow(t *testing.T, s *Service) []Outcome {
	t.Helper()
	var outs []Outcome
	for i, ans := range s.DueContainments(s.now()) {
		ans.Nonce, ans.Source = "end-"+ans.UserID+s.now().String(), Source{Topic: "tripline.approvals", Offset: int64(i)}
		out, err := s.Answer(t.Context(), ans)
		if err != nil {
			t.Fatalf("end answer for %s: %v", ans.UserID, err)
		}
		outs = append(outs, out)
	}
	return outs
}

// personAnswer is a person's answer to the timed suspension of user.
func personAnswer(t *testing.T, s *Service, user string, kind AnswerKind, d time.Duration) Answer {
	t.Helper()
	c, ok := s.ledger.Contained(user)
	if !ok {
		t.Fatalf("no timed suspension of %s", user)
	}
	return BindContainment(c.UserID, c.Containment, Answer{Kind: kind, By: "dana", Channel: "cli", Reason: "checked", At: s.now(),
		Nonce: string(kind) + "-" + user, For: d, Source: Source{Topic: "tripline.approvals", Offset: 99}})
}

func TestTimedSuspensionEndsOnce(t *testing.T) {
	t.Parallel()
	s, api, _, now := testService(t, Config{Approvals: true}, ann)
	out, err := s.Decide(t.Context(), timedOf("r1", "ann@example.com", "ev-1", time.Hour))
	if err != nil || out.Result != ResultSuspended || !out.ContainedUntil.Equal(now.Add(time.Hour)) {
		t.Fatalf("Decide = %s until %s, %v; want suspended until %s", out.Result, out.ContainedUntil, err, now.Add(time.Hour))
	}
	if due := s.DueContainments(*now); len(due) != 0 {
		t.Fatalf("due before the end: %v", due)
	}
	*now = now.Add(time.Hour)
	outs := endNow(t, s)
	if len(outs) != 1 || outs[0].Result != ResultReactivated || outs[0].Detail != "timed suspension ended" {
		t.Fatalf("end = %+v, want reactivated with the detail \"timed suspension ended\"", outs)
	}
	if api.count("reactivate") != 1 || api.states["ANN"] != StateActive {
		t.Errorf("%d reactivate calls, ANN %s", api.count("reactivate"), api.states["ANN"])
	}
	if _, ok := s.ledger.Contained("ANN"); ok || len(s.DueContainments(*now)) != 0 {
		t.Error("the timed suspension is still in force after its end")
	}
}

func TestTimedSuspensionExtendsAndEscalates(t *testing.T) {
	t.Parallel()
	s, api, _, now := testService(t, Config{Approvals: true}, ann)
	steps := []time.Duration{time.Hour, 24 * time.Hour, 0}
	start := *now
	s.Decide(t.Context(), timedOf("r1", "ann@example.com", "ev-1", steps...))
	*now = now.Add(30 * time.Minute)
	out, err := s.Decide(t.Context(), timedOf("r1", "ann@example.com", "ev-2", steps...))
	c, _ := s.ledger.Contained("ANN")
	// The next entry (24h) applies, as for a second suspension: now + 24h.
	if err != nil || out.Result != ResultContainmentExtended || !c.Ends.Equal(now.Add(24*time.Hour)) || api.count("suspend") != 1 {
		t.Fatalf("extension: %s (%s), ends %s, %d suspend calls; want extended to %s with no call", out.Result, out.Detail, c.Ends, api.count("suspend"), now.Add(24*time.Hour))
	}
	if out, _ := s.Decide(t.Context(), timedOf("r1", "ann@example.com", "ev-2", steps...)); out.Result != ResultDuplicate {
		t.Errorf("the same event again: %s, want duplicate", out.Result)
	}
	*now = start.Add(25 * time.Hour)
	endNow(t, s)
	// Second suspension by the rule within 30 days: 24h.
	*now = now.Add(time.Hour)
	s.Decide(t.Context(), timedOf("r1", "ann@example.com", "ev-3", steps...))
	if c, ok := s.ledger.Contained("ANN"); !ok || c.Count != 2 || !c.Ends.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("second suspension: %+v (%v), want 24h, count 2", c, ok)
	}
	*now = now.Add(24 * time.Hour)
	endNow(t, s)
	// Third: permanent.
	*now = now.Add(time.Hour)
	if out, _ := s.Decide(t.Context(), timedOf("r1", "ann@example.com", "ev-4", steps...)); out.Result != ResultSuspended || !out.ContainedUntil.IsZero() {
		t.Fatalf("third suspension: %s until %s, want permanent", out.Result, out.ContainedUntil)
	}
	if _, ok := s.ledger.Contained("ANN"); ok {
		t.Error("the third suspension is timed; the rule escalates to permanent")
	}
	// A rule without suspend_for makes a timed suspension permanent.
	s2, _, _, _ := testService(t, Config{Approvals: true}, bob)
	s2.Decide(t.Context(), timedOf("r1", "bob@example.com", "ev-1", time.Hour))
	if out, _ := s2.Decide(t.Context(), suspendOf("r2", "bob@example.com", "ev-2")); out.Result != ResultContainmentExtended || !strings.Contains(out.Detail, "permanent") {
		t.Errorf("a permanent rule on a contained user: %s (%s)", out.Result, out.Detail)
	}
	if _, ok := s2.ledger.Contained("BOB"); ok {
		t.Error("still timed after a permanent rule matched")
	}
}

func TestPersonKeepsLiftsOrExtends(t *testing.T) {
	t.Parallel()
	s, api, _, now := testService(t, Config{Approvals: true}, ann, bob)
	s.Decide(t.Context(), timedOf("r1", "ann@example.com", "ev-1", time.Hour))
	s.Decide(t.Context(), timedOf("r1", "bob@example.com", "ev-2", time.Hour))
	if out, err := s.Answer(t.Context(), personAnswer(t, s, "ann@example.com", AnswerKeep, 0)); err != nil || out.Result != ResultContainmentKept {
		t.Fatalf("keep: %s, %v", out.Result, err)
	}
	extend := personAnswer(t, s, "bob@example.com", AnswerExtend, 2*time.Hour)
	if out, err := s.Answer(t.Context(), extend); err != nil || !out.ContainedUntil.Equal(now.Add(3*time.Hour)) {
		t.Fatalf("extend by 2h: until %s, %v; want %s", out.ContainedUntil, err, now.Add(3*time.Hour))
	}
	*now = now.Add(2 * time.Hour)
	if outs := endNow(t, s); len(outs) != 0 {
		t.Errorf("ends at +2h: %+v; Ann is kept and Bob extended", outs)
	}
	// An end the clock wrote before the extension changes nothing.
	c, _ := s.ledger.Contained("BOB")
	stale := BindContainment("BOB", c.Containment, Answer{Kind: AnswerEnd, By: "tripline", Channel: "timeout", At: *now, Nonce: "stale-end"})
	if _, err := s.Answer(t.Context(), stale); err != nil || api.count("reactivate") != 0 {
		t.Errorf("an end before the extended end: %v, %d reactivate calls", err, api.count("reactivate"))
	}
	lift := personAnswer(t, s, "bob@example.com", AnswerLift, 0)
	if out, err := s.Answer(t.Context(), lift); err != nil || out.Result != ResultReactivated || !strings.Contains(out.Detail, "lifted by dana") {
		t.Fatalf("lift: %s (%s), %v", out.Result, out.Detail, err)
	}
	if api.states["ANN"] != StateSuspended || api.states["BOB"] != StateActive || api.count("reactivate") != 1 {
		t.Errorf("Ann %s, Bob %s, %d reactivate calls", api.states["ANN"], api.states["BOB"], api.count("reactivate"))
	}
	// A copy of the lift, once the suspension ended, changes nothing.
	if _, err := s.Answer(t.Context(), lift); !errors.Is(err, ErrContainmentUnknown) {
		t.Errorf("the lift again: %v, want ErrContainmentUnknown", err)
	}
}

func TestNoUndoWhenAPersonActedFirst(t *testing.T) {
	t.Parallel()
	s, api, _, now := testService(t, Config{Approvals: true}, ann)
	s.Decide(t.Context(), timedOf("r1", "ann@example.com", "ev-1", time.Hour))
	api.mu.Lock()
	api.states["ANN"] = StateActive // a person reactivated Ann
	api.mu.Unlock()
	*now = now.Add(time.Hour)
	outs := endNow(t, s)
	if len(outs) != 1 || outs[0].Result != ResultAlreadyActive || api.count("reactivate") != 0 {
		t.Fatalf("end after a person reactivated: %+v, %d reactivate calls", outs, api.count("reactivate"))
	}
	e, _ := s.ledger.User("ANN")
	if e.Containment != nil || e.ReactivatedSeen.IsZero() {
		t.Errorf("entry %+v: want the containment over and the person's reactivation noted", e)
	}
	// A reactivate rule that finds a contained user already active ends
	// the containment too: there is nothing left to undo.
	s2, api2, _, _ := testService(t, Config{Approvals: true}, bob)
	s2.Decide(t.Context(), timedOf("r1", "bob@example.com", "ev-1", time.Hour))
	api2.mu.Lock()
	api2.states["BOB"] = StateActive
	api2.mu.Unlock()
	d := suspendOf("r-back", "bob@example.com", "ev-2")
	d.Action = ActionReactivate
	if out, _ := s2.Decide(t.Context(), d); out.Result != ResultAlreadyActive {
		t.Fatalf("reactivate rule: %s", out.Result)
	}
	if _, ok := s2.ledger.Contained("BOB"); ok {
		t.Error("the containment of a user found active is still in force")
	}
}

func TestAnEndThatFailsIsRetriedOnce(t *testing.T) {
	t.Parallel()
	s, api, _, now := testService(t, Config{Approvals: true}, ann)
	s.Decide(t.Context(), timedOf("r1", "ann@example.com", "ev-1", time.Hour))
	*now = now.Add(time.Hour)
	api.mu.Lock()
	api.errs["reactivate"] = transient{}
	api.mu.Unlock()
	due := s.DueContainments(*now)
	ans := due[0]
	ans.Nonce, ans.Source = "end-1", Source{Topic: "tripline.approvals", Offset: 1}
	_, err := s.Answer(t.Context(), ans)
	var f *Failure
	if !errors.As(err, &f) || !f.Retryable {
		t.Fatalf("end while the API fails: %v, want a retryable failure (parked)", err)
	}
	if c, _ := s.ledger.Contained("ANN"); c.EndNonce != "end-1" || c.EndFailure == "" {
		t.Errorf("containment %+v: want ending under end-1 with the failure", c)
	}
	if len(s.DueContainments(*now)) != 0 {
		t.Error("the clock asks again while an end is under way")
	}
	// Another instance's end answer changes nothing while one is under way.
	other := due[0]
	other.Nonce = "end-2"
	if _, err := s.Answer(t.Context(), other); !errors.Is(err, ErrApprovalDecided) {
		t.Errorf("a second end answer: %v, want ErrApprovalDecided", err)
	}
	api.mu.Lock()
	delete(api.errs, "reactivate")
	api.mu.Unlock()
	if out, err := s.Answer(t.Context(), ans); err != nil || out.Result != ResultReactivated {
		t.Fatalf("the parked end re-driven: %s, %v", out.Result, err)
	}
	if n := api.states["ANN"]; n != StateActive {
		t.Errorf("ANN %s after the retry", n)
	}
}

func TestExceptionSparesWithinItsRuleAndTime(t *testing.T) {
	t.Parallel()
	root := User{ID: "ROOT", Email: "root@admins.example.com", State: StateActive}
	s, api, _, now := testService(t, Config{Approvals: true}, ann, bob, root)
	for _, x := range []Exception{
		NewException("ann@example.com", "r1", time.Hour, "dana", "travelling", *now),
		NewException("BOB", "*", time.Hour, "dana", "on call", *now),
		NewException("root@admins.example.com", "*", time.Hour, "dana", "test", *now),
	} {
		if err := s.ledger.AddException(t.Context(), x); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		d    Decision
		want Result
	}{
		{suspendOf("r1", "ann@example.com", "e1"), ResultExcepted},
		{suspendOf("r2", "ann@example.com", "e2"), ResultSuspended},
		{suspendOf("r9", "bob@example.com", "e3"), ResultExcepted},
	}
	for _, c := range cases {
		if out, _ := s.Decide(t.Context(), c.d); out.Result != c.want {
			t.Errorf("%s on %s: %s (%s), want %s", c.d.RuleID, c.d.Identity, out.Result, out.Detail, c.want)
		}
	}
	if api.count("suspend") != 1 {
		t.Errorf("%d suspend calls, want 1 (r2 on Ann)", api.count("suspend"))
	}
	if err := s.ledger.AddException(t.Context(), NewException("ann@example.com", "r1", 31*24*time.Hour, "dana", "too long", *now)); err == nil {
		t.Error("an exception of 31 days was accepted")
	}
	*now = now.Add(2 * time.Hour)
	if out, _ := s.Decide(t.Context(), suspendOf("r9", "bob@example.com", "e4")); out.Result != ResultSuspended {
		t.Errorf("after the exception expired: %s, want suspended", out.Result)
	}
}

// TestAPersonsReactivationEndsTheContainment: a contained user a person
// reactivated is suspended again by the next risky decision, not extended
// while active.
func TestAPersonsReactivationEndsTheContainment(t *testing.T) {
	t.Parallel()
	s, api, _, now := testService(t, Config{Approvals: true}, ann)
	s.Decide(t.Context(), timedOf("r1", "ann@example.com", "ev-1", time.Hour))
	api.mu.Lock()
	api.states["ANN"] = StateActive
	api.mu.Unlock()
	*now = now.Add(10 * time.Minute)
	out, err := s.Decide(t.Context(), timedOf("r1", "ann@example.com", "ev-2", time.Hour))
	if err != nil || out.Result != ResultSuspended || api.count("suspend") != 2 || api.states["ANN"] != StateSuspended {
		t.Fatalf("a risky decision after a person reactivated the contained user: %s (%s), %v, %d suspend calls, ANN %s",
			out.Result, out.Detail, err, api.count("suspend"), api.states["ANN"])
	}
}

// TestKeepAndExtendWaitForAnEndUnderWay: while an end is under way its
// reactivation may be in flight, so keep and extend are refused; once the
// end failed, keep stops its retries.
func TestKeepAndExtendWaitForAnEndUnderWay(t *testing.T) {
	t.Parallel()
	s, api, _, now := testService(t, Config{Approvals: true}, ann)
	s.Decide(t.Context(), timedOf("r1", "ann@example.com", "ev-1", time.Hour))
	*now = now.Add(time.Hour)
	e, _ := s.ledger.User("ANN")
	e.Containment.EndNonce, e.Containment.EndingSince = "in-flight", *now // an end another instance started
	if err := s.ledger.PutUser(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []AnswerKind{AnswerKeep, AnswerExtend} {
		if _, err := s.Answer(t.Context(), personAnswer(t, s, "ANN", kind, time.Hour)); !errors.Is(err, ErrApprovalDecided) {
			t.Errorf("%s while an end is under way: %v, want ErrApprovalDecided", kind, err)
		}
	}
	e, _ = s.ledger.User("ANN")
	e.Containment.EndFailure = "retries_exhausted: 503"
	s.ledger.PutUser(t.Context(), e)
	if out, err := s.Answer(t.Context(), personAnswer(t, s, "ANN", AnswerKeep, 0)); err != nil || out.Result != ResultContainmentKept {
		t.Fatalf("keep after the end failed: %s, %v", out.Result, err)
	}
	if api.count("reactivate") != 0 {
		t.Error("a reactivation was made")
	}
}

// TestWithoutApprovalsSuspensionsAreNotTimed: the end travels as an
// answer; without approvals nothing could end a containment, so none is
// recorded (the suspension stays until a person acts).
func TestWithoutApprovalsSuspensionsAreNotTimed(t *testing.T) {
	t.Parallel()
	s, _, _, _ := testService(t, Config{}, ann)
	if out, _ := s.Decide(t.Context(), timedOf("r1", "ann@example.com", "ev-1", time.Hour)); out.Result != ResultSuspended || !out.ContainedUntil.IsZero() {
		t.Fatalf("without approvals: %s until %s, want a permanent suspension", out.Result, out.ContainedUntil)
	}
	if _, ok := s.ledger.Contained("ANN"); ok {
		t.Error("a containment nothing can end was recorded")
	}
}
