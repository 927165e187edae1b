package remediate

import (
	"context"
	"testing"
	"time"
)

// Each guard alone: a call that the guard lets through reaches next; one it
// refuses gets the guard's outcome and never reaches next.

func TestDuplicateGuard(t *testing.T) {
	t.Parallel()
	s, _, _, now := testService(t, Config{}, ann)
	e := UserEntry{UserID: "ANN"}
	e.noteAction(Stamp{Rule: "r1", Event: "ev-1", Action: "suspend", Result: "suspended", At: now.Add(-30 * time.Minute)})
	if err := s.ledger.PutUser(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		d        Decision
		wantNext bool
		want     Result
	}{
		{"same event, any rule", Decision{RuleID: "r2", EventID: "ev-1"}, false, ResultDuplicate},
		{"same rule within its cooldown", Decision{RuleID: "r1", EventID: "ev-2", Cooldown: time.Hour}, false, ResultDuplicate},
		{"same rule after its cooldown", Decision{RuleID: "r1", EventID: "ev-2", Cooldown: 10 * time.Minute}, true, ResultSuspended},
		{"other rule, other event", Decision{RuleID: "r2", EventID: "ev-2", Cooldown: time.Hour}, true, ResultSuspended},
		{"no event id, no cooldown", Decision{RuleID: "r1"}, true, ResultSuspended},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r recorder
			c := &call{d: tt.d, now: *now, out: Outcome{User: ann}}
			if err := s.duplicateGuard(r.next)(t.Context(), c); err != nil {
				t.Fatal(err)
			}
			if (r.ran == 1) != tt.wantNext || c.out.Result != tt.want {
				t.Errorf("next ran %d, result %s; want next %t, result %s", r.ran, c.out.Result, tt.wantNext, tt.want)
			}
		})
	}
}

func TestRefusedGuard(t *testing.T) {
	t.Parallel()
	s, _, _, now := testService(t, Config{}, ann)
	dir := s.dir.(*fakeDir)
	e := UserEntry{UserID: "ANN", Refused: &Refusal{Rule: "r1", Reason: "no_owner_remain", At: *now}}
	if err := s.ledger.PutUser(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	run := func(a Action) (*recorder, *call) {
		var r recorder
		c := &call{d: Decision{RuleID: "r1", Action: a}, now: *now, out: Outcome{User: ann}}
		if err := s.refusedGuard(r.next)(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		return &r, c
	}
	dir.loadedAt = now.Add(-time.Minute) // loaded before the refusal
	if r, c := run(ActionSuspend); r.ran != 0 || c.out.Result != ResultBlockedRefused {
		t.Errorf("refused user before a reload: next ran %d, result %s", r.ran, c.out.Result)
	}
	if r, _ := run(ActionReactivate); r.ran != 1 {
		t.Error("a reactivation was refused because a suspension was")
	}
	dir.loadedAt = now.Add(time.Minute) // the directory reloaded since
	if r, _ := run(ActionSuspend); r.ran != 1 {
		t.Error("refused user after a reload was not tried again")
	}
}

func TestProvenanceGuard(t *testing.T) {
	t.Parallel()
	s, _, _, now := testService(t, Config{}, ann, bob)
	byTripline := UserEntry{UserID: "ANN", SuspendedBy: &Stamp{Rule: "r1", Action: "suspend", Result: "suspended", Before: StateActive, At: *now}}
	personAfter := UserEntry{UserID: "BOB", SuspendedBy: byTripline.SuspendedBy, ReactivatedSeen: now.Add(time.Minute)}
	for _, e := range []UserEntry{byTripline, personAfter} {
		if err := s.ledger.PutUser(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		user     User
		action   Action
		wantNext bool
	}{
		{"tripline suspended it", ann, ActionReactivate, true},
		{"a person reactivated it since", bob, ActionReactivate, false},
		{"no ledger record", User{ID: "CAROL"}, ActionReactivate, false},
		{"suspensions are not its business", User{ID: "CAROL"}, ActionSuspend, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r recorder
			c := &call{d: Decision{Action: tt.action}, now: *now, out: Outcome{User: tt.user}}
			if err := s.provenanceGuard(r.next)(t.Context(), c); err != nil {
				t.Fatal(err)
			}
			if (r.ran == 1) != tt.wantNext {
				t.Errorf("next ran %d, want %t (result %s %s)", r.ran, tt.wantNext, c.out.Result, c.out.Detail)
			}
			if !tt.wantNext && c.out.Result != ResultBlockedProvenance {
				t.Errorf("result %s, want blocked_provenance", c.out.Result)
			}
		})
	}
}

func TestGraceGuard(t *testing.T) {
	t.Parallel()
	s, _, st, now := testService(t, Config{}, ann)
	if err := s.ledger.PutUser(t.Context(), UserEntry{UserID: "ANN", SuspendedBy: &Stamp{Rule: "r1", At: now.Add(-48 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	run := func(grace time.Duration, at time.Time) (*recorder, *call) {
		var r recorder
		c := &call{d: Decision{RuleID: "r1", Action: ActionSuspend, Grace: grace}, now: at, out: Outcome{User: ann, Before: StateActive}}
		if err := s.graceGuard(r.next)(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		return &r, c
	}
	if r, _ := run(0, *now); r.ran != 1 {
		t.Error("a rule without grace was held")
	}
	if r, c := run(24*time.Hour, *now); r.ran != 0 || c.out.Result != ResultGrace {
		t.Errorf("first decision after a person reactivated: next ran %d, result %s", r.ran, c.out.Result)
	}
	writes := len(st.writes)
	if r, _ := run(24*time.Hour, now.Add(23*time.Hour)); r.ran != 0 {
		t.Error("inside the grace the rule acted")
	}
	if len(st.writes) != writes {
		t.Error("the grace start was written again")
	}
	if r, _ := run(24*time.Hour, now.Add(25*time.Hour)); r.ran != 1 {
		t.Error("after the grace the rule did not act")
	}
}

func TestShadowAndDryRunStops(t *testing.T) {
	t.Parallel()
	var r recorder
	c := &call{d: Decision{Mode: ModeShadow}}
	shadowStop(r.next)(t.Context(), c)
	if r.ran != 0 || c.out.Result != ResultShadow {
		t.Errorf("shadow: next ran %d, result %s", r.ran, c.out.Result)
	}
	c = &call{d: Decision{Mode: ModeEnforce}}
	shadowStop(r.next)(t.Context(), c)
	if r.ran != 1 {
		t.Error("enforce stopped at the shadow step")
	}
	c = &call{d: Decision{Mode: ModeEnforce}}
	dryRunStop(r.next)(t.Context(), c)
	if r.ran != 1 || c.out.Result != ResultDryRun {
		t.Errorf("dry run: next ran %d more, result %s", r.ran-1, c.out.Result)
	}
}

func TestStaleDecisionsDoNotAct(t *testing.T) {
	t.Parallel()
	s, api, st, _ := testService(t, Config{}, ann)
	d := suspendOf("r1", "ann@example.com", "ev-1")
	d.Stale = "event time 2020-01-01T00:00:00Z is older than 24h0m0s (max event age)"
	out, err := s.Decide(t.Context(), d)
	if err != nil || out.Result != ResultStale || out.Detail != d.Stale || len(api.calls) != 0 || len(st.writes) != 0 {
		t.Errorf("Decide(stale) = %+v, %v; calls %v, writes %v", out, err, api.calls, st.writes)
	}
	d.Identity = "ghost@example.com"
	if out, err := s.Decide(t.Context(), d); err != nil || out.Result != ResultStale {
		t.Errorf("a stale decision about an unknown user = %s, %v; want stale, no failure", out.Result, err)
	}
}
