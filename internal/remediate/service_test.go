package remediate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// transient is a retryable API error.
type transient struct{}

func (transient) Error() string   { return "503 service unavailable" }
func (transient) Retryable() bool { return true }

// auditLog collects audit records.
type auditLog struct {
	mu   sync.Mutex
	recs []Record
	err  error
}

func (a *auditLog) Audit(_ context.Context, r Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.recs = append(a.recs, r)
	return a.err
}

func TestSuspendReadsTheStateBeforeAndRecordsIt(t *testing.T) {
	t.Parallel()
	s, api, _, now := testService(t, Config{}, ann)
	audit := &auditLog{}
	s.auditor = audit
	d := suspendOf("r1", "ANN@example.com", "ev-1")
	d.Source = Source{Topic: "siem", Partition: 2, Offset: 41}
	out, err := s.Decide(t.Context(), d)
	if err != nil || out.Result != ResultSuspended || out.Before != StateActive {
		t.Fatalf("Decide = %+v, %v; want suspended from ACTIVE", out, err)
	}
	if fmt.Sprint(api.calls) != "[get ANN suspend ANN]" {
		t.Errorf("calls %v, want a get then a suspend", api.calls)
	}
	e, ok := s.ledger.User("ANN")
	if !ok || e.SuspendedBy == nil || e.SuspendedBy.Before != StateActive || e.SuspendedBy.Rule != "r1" || !e.SuspendedBy.At.Equal(*now) {
		t.Errorf("ledger entry %+v, want suspended by r1 from ACTIVE", e)
	}
	if len(audit.recs) != 1 || audit.recs[0].Result != "suspended" || audit.recs[0].Before != StateActive || audit.recs[0].Offset != 41 || audit.recs[0].UserID != "ANN" {
		t.Errorf("audit %+v", audit.recs)
	}
}

func TestAlreadySuspendedMakesNoSuspendCall(t *testing.T) {
	t.Parallel()
	s, api, _, _ := testService(t, Config{}, User{ID: "BOB", Email: "bob@example.com", State: StateSuspended})
	out, err := s.Decide(t.Context(), suspendOf("r1", "bob@example.com", "ev-1"))
	if err != nil || out.Result != ResultAlreadySuspended {
		t.Fatalf("Decide = %s, %v", out.Result, err)
	}
	if api.count("suspend") != 0 {
		t.Error("a suspended user was suspended again")
	}
	if e, _ := s.ledger.User("BOB"); e.SuspendedBy != nil {
		t.Error("the ledger claims tripline suspended a user who was already suspended")
	}
}

func TestRedeliveredEventMakesNoCall(t *testing.T) {
	t.Parallel()
	s, api, _, _ := testService(t, Config{}, ann)
	if _, err := s.Decide(t.Context(), suspendOf("r1", "ann@example.com", "ev-1")); err != nil {
		t.Fatal(err)
	}
	calls := len(api.calls)
	out, err := s.Decide(t.Context(), suspendOf("r1", "ann@example.com", "ev-1"))
	if err != nil || out.Result != ResultDuplicate || len(api.calls) != calls {
		t.Errorf("redelivery = %s, %v, %d new calls; want duplicate and no call", out.Result, err, len(api.calls)-calls)
	}
}

func TestConcurrentDuplicatesActOnce(t *testing.T) {
	t.Parallel()
	s, api, _, _ := testService(t, Config{}, ann)
	s.api = slowAPI{api, 2 * time.Millisecond}
	s2, _ := New(s.cfg, Deps{Directory: s.dir, API: s.api, Ledger: s.ledger, Now: s.now})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { s2.Decide(t.Context(), suspendOf("r1", "ann@example.com", "ev-1")) })
	}
	wg.Wait()
	if n := api.count("suspend"); n != 1 {
		t.Errorf("%d suspend calls for one event delivered 8 times at once, want 1", n)
	}
}

func TestFailedActionStartsNoCooldown(t *testing.T) {
	t.Parallel()
	s, api, _, _ := testService(t, Config{}, ann)
	api.errs["suspend"] = transient{}
	d := suspendOf("r1", "ann@example.com", "ev-1")
	d.Cooldown = time.Hour
	out, err := s.Decide(t.Context(), d)
	var f *Failure
	if !errors.As(err, &f) || f.Class != ClassRetriesExhausted || !f.Retryable || out.Result != ResultFailed || f.Attempts != 3 {
		t.Fatalf("Decide = %s, %v (%+v); want failed, retries_exhausted after 3 attempts", out.Result, err, f)
	}
	delete(api.errs, "suspend")
	d.EventID = "ev-2"
	if out, err := s.Decide(t.Context(), d); err != nil || out.Result != ResultSuspended {
		t.Errorf("next event after a failed action = %s, %v; want suspended", out.Result, err)
	}
	d.EventID = "ev-3"
	if out, _ := s.Decide(t.Context(), d); out.Result != ResultDuplicate {
		t.Errorf("next event within the cooldown of a successful action = %s, want duplicate", out.Result)
	}
}

func TestCannotSuspendIsRemembered(t *testing.T) {
	t.Parallel()
	s, api, _, now := testService(t, Config{}, ann)
	api.errs["suspend"] = fmt.Errorf("403 no_owner_remain: %w", ErrCannotSuspend)
	_, err := s.Decide(t.Context(), suspendOf("r1", "ann@example.com", "ev-1"))
	var f *Failure
	if !errors.As(err, &f) || f.Class != ClassCannotSuspend {
		t.Fatalf("first = %v, want cannot_suspend", err)
	}
	calls := len(api.calls)
	out, err := s.Decide(t.Context(), suspendOf("r1", "ann@example.com", "ev-2"))
	if err != nil || out.Result != ResultBlockedRefused || len(api.calls) != calls {
		t.Errorf("second = %s, %v with %d calls; want blocked_refused, no call", out.Result, err, len(api.calls)-calls)
	}
	s.dir.(*fakeDir).loadedAt = now.Add(time.Second)
	s.Decide(t.Context(), suspendOf("r1", "ann@example.com", "ev-3"))
	if len(api.calls) == calls {
		t.Error("after the directory reloaded the user was not tried again")
	}
}

func TestReactivationNeedsTriplineProvenance(t *testing.T) {
	t.Parallel()
	outside := User{ID: "OUT", Email: "out@example.com", State: StateSuspended}
	s, api, _, _ := testService(t, Config{}, ann, outside)
	react := func(id, ev string) (Outcome, error) {
		return s.Decide(t.Context(), Decision{RuleID: "undo", Mode: ModeEnforce, Action: ActionReactivate, Identity: id, EventID: ev})
	}
	out, err := react("out@example.com", "ev-1")
	if err != nil || out.Result != ResultBlockedProvenance || len(api.calls) != 0 {
		t.Errorf("reactivating a user suspended outside tripline = %s, %v, calls %v", out.Result, err, api.calls)
	}
	if _, err := s.Decide(t.Context(), suspendOf("r1", "ann@example.com", "ev-2")); err != nil {
		t.Fatal(err)
	}
	out, err = react("ann@example.com", "ev-3")
	if err != nil || out.Result != ResultReactivated || api.states["ANN"] != StateActive {
		t.Errorf("reactivating a user tripline suspended = %s, %v", out.Result, err)
	}
	if e, _ := s.ledger.User("ANN"); e.SuspendedBy != nil {
		t.Error("the provenance survived the reactivation")
	}
	out, _ = react("ann@example.com", "ev-4")
	if out.Result != ResultBlockedProvenance {
		t.Errorf("a second reactivation = %s, want blocked_provenance", out.Result)
	}
}

func TestPersonReactivatedThenGrace(t *testing.T) {
	t.Parallel()
	s, api, _, now := testService(t, Config{}, ann)
	d := suspendOf("r1", "ann@example.com", "ev-1")
	d.Grace = 24 * time.Hour
	if out, _ := s.Decide(t.Context(), d); out.Result != ResultSuspended {
		t.Fatal(out.Result)
	}
	api.states["ANN"] = StateActive // a person reactivates Ann
	*now = now.Add(time.Hour)
	// The same event again (redelivered) never acts.
	if out, _ := s.Decide(t.Context(), d); out.Result != ResultDuplicate {
		t.Errorf("the same event after a person reactivated = %s, want duplicate", out.Result)
	}
	d.EventID = "ev-2"
	if out, _ := s.Decide(t.Context(), d); out.Result != ResultGrace {
		t.Errorf("a new event inside the grace = %s, want grace", out.Result)
	}
	if api.count("suspend") != 1 {
		t.Error("tripline suspended again inside the grace")
	}
	*now = now.Add(25 * time.Hour)
	d.EventID = "ev-3"
	if out, _ := s.Decide(t.Context(), d); out.Result != ResultSuspended {
		t.Errorf("a new event after the grace = %s, want suspended", out.Result)
	}
}

func TestShadowAndDryRunMakeNoCallAndNoWrite(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  Config
		mode Mode
		want Result
	}{
		{"shadow rule", Config{}, ModeShadow, ResultShadow},
		{"dry run process", Config{DryRun: true}, ModeEnforce, ResultDryRun},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, api, st, _ := testService(t, tc.cfg, ann)
			d := suspendOf("r1", "ann@example.com", "ev-1")
			d.Mode = tc.mode
			out, err := s.Decide(t.Context(), d)
			if err != nil || out.Result != tc.want || out.User.ID != "ANN" {
				t.Errorf("Decide = %+v, %v", out, err)
			}
			if len(api.calls) != 0 || len(st.writes) != 0 {
				t.Errorf("calls %v, writes %v; want none", api.calls, st.writes)
			}
		})
	}
}

func TestShadowOfAnUnknownUserIsNoFailure(t *testing.T) {
	t.Parallel()
	s, _, _, _ := testService(t, Config{})
	d := suspendOf("r1", "ghost@example.com", "ev-1")
	d.Mode = ModeShadow
	if out, err := s.Decide(t.Context(), d); err != nil || out.Result != ResultShadow {
		t.Errorf("Decide = %s, %v; want shadow", out.Result, err)
	}
	d.Mode = ModeEnforce
	_, err := s.Decide(t.Context(), d)
	var f *Failure
	if !errors.As(err, &f) || f.Class != ClassUserNotFound {
		t.Errorf("enforce on an unknown user = %v, want user_not_found", err)
	}
}

func TestLedgerWriteFailureIsFatal(t *testing.T) {
	t.Parallel()
	s, _, st, _ := testService(t, Config{}, ann)
	st.fail = errors.New("broker down")
	out, err := s.Decide(t.Context(), suspendOf("r1", "ann@example.com", "ev-1"))
	var f *Failure
	if err == nil || errors.As(err, &f) || isInterrupted(err) {
		t.Fatalf("Decide = %v, want a fatal (non-Failure) error", err)
	}
	if out.Result != ResultSuspended {
		t.Errorf("outcome %s: the action happened and must be reported", out.Result)
	}
}

func TestAuditFailureIsFatal(t *testing.T) {
	t.Parallel()
	s, _, _, _ := testService(t, Config{}, ann)
	s.auditor = &auditLog{err: errors.New("audit topic down")}
	if _, err := s.Decide(t.Context(), suspendOf("r1", "ann@example.com", "ev-1")); err == nil {
		t.Error("a failed audit write was not reported")
	}
}

func TestShutdownInterruptsRetries(t *testing.T) {
	t.Parallel()
	s, api, _, _ := testService(t, Config{}, ann)
	s.cfg.Retry = RetryPolicy{InitialInterval: time.Hour, MaxInterval: time.Hour, MaxElapsed: 10 * time.Hour, MaxAttempts: 5}
	s2, _ := New(s.cfg, Deps{Directory: s.dir, API: s.api, Ledger: s.ledger, Now: s.now})
	api.errs["get"] = transient{}
	audit := &auditLog{}
	s2.auditor = audit
	stop, stopNow := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s2.Decide(WithStop(t.Context(), stop), suspendOf("r1", "ann@example.com", "ev-1"))
		done <- err
	}()
	waitFor(t, "the first GET (which fails and is retried an hour later)", func() bool { return api.count("get") > 0 })
	stopNow()
	if err := <-done; !errors.Is(err, ErrInterrupted) {
		t.Errorf("Decide after shutdown = %v, want ErrInterrupted", err)
	}
	if len(audit.recs) != 0 {
		t.Error("an interrupted decision was audited")
	}
}

func TestUnknownActionIsInvalid(t *testing.T) {
	t.Parallel()
	s, api, _, _ := testService(t, Config{}, ann)
	d := suspendOf("r1", "ann@example.com", "ev-1")
	d.Action = "delete"
	_, err := s.Decide(t.Context(), d)
	var f *Failure
	if !errors.As(err, &f) || f.Class != ClassInvalid || len(api.calls) != 0 {
		t.Errorf("Decide(delete) = %v, calls %v", err, api.calls)
	}
}

func TestAuditRecordsAreBoundedAndNotEscaped(t *testing.T) {
	t.Parallel()
	s, _, _, _ := testService(t, Config{}, ann)
	audit := &auditLog{}
	s.auditor = audit
	d := suspendOf("r1", "ann@example.com", strings.Repeat("<", 1<<20))
	d.Reason = strings.Repeat("é", 1<<19)
	if _, err := s.Decide(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	rec := audit.recs[0]
	if !rec.Truncated || len(rec.EventID) > MaxAuditField+len("…") || len(rec.Reason) > MaxAuditField+len("…") || !utf8.ValidString(rec.Reason) {
		t.Errorf("record not bounded: truncated %t, event id %d bytes, reason %d bytes", rec.Truncated, len(rec.EventID), len(rec.Reason))
	}
	b, err := EncodeRecord(rec)
	if err != nil || len(b) > 64<<10 || bytes.Contains(b, []byte(`\u003c`)) {
		t.Errorf("encoded record: %d bytes, %v, HTML-escaped: %t", len(b), err, bytes.Contains(b, []byte(`\u003c`)))
	}
}

func TestEmailAndUserIDOfTwoUsersAreRefused(t *testing.T) {
	t.Parallel()
	s, api, _, _ := testService(t, Config{}, ann, bob)
	d := suspendOf("r1", "ann@example.com", "ev-1")
	d.UserEmail, d.EventOPUserID = "ann@example.com", "BOB"
	out, err := s.Decide(t.Context(), d)
	var f *Failure
	if !errors.As(err, &f) || f.Class != ClassIdentityMismatch || out.Result != ResultFailed || len(api.calls) != 0 {
		t.Errorf("email of Ann, id of Bob: %s, %v, calls %v; want identity_mismatch and no call", out.Result, err, api.calls)
	}
	d.Identity = "BOB" // the rule acted on the id: the same refusal
	if _, err := s.Decide(t.Context(), d); !errors.As(err, &f) || f.Class != ClassIdentityMismatch {
		t.Errorf("rule identity is the id: %v", err)
	}
	d.Identity, d.EventOPUserID, d.EventID = "ann@example.com", "ANN", "ev-2"
	if out, err := s.Decide(t.Context(), d); err != nil || out.Result != ResultSuspended {
		t.Errorf("email and id of the same user: %s, %v", out.Result, err)
	}
	d.Identity, d.UserEmail, d.EventOPUserID, d.EventID = "bob@example.com", "bob@example.com", "NOBODY", "ev-3"
	if out, err := s.Decide(t.Context(), d); err != nil || out.Result != ResultSuspended {
		t.Errorf("an id that names nobody: %s, %v", out.Result, err)
	}
}
