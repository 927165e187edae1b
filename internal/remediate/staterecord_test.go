package remediate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/signing"
)

var (
	stateKey   = []byte("state-test-signing-key-0123456789")
	oldKey     = []byte("state-test-old-signing-key-012345")
	outsideKey = []byte("someone-else-signing-key-01234567")
)

func ring(t *testing.T, current, previous []byte) *signing.Keyring {
	t.Helper()
	k, err := signing.NewKeyring(current, previous)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// forge writes a record straight into the store, as anyone with write
// access to the state topic can: signed under keys (nil: unsigned).
func forge(t *testing.T, st *memStore, keys *signing.Keyring, key string, v any) {
	t.Helper()
	var value []byte
	if v != nil {
		var err error
		if value, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Put(t.Context(), key, value, keys.Sign(stateFields(key, value)...)); err != nil {
		t.Fatal(err)
	}
}

func refusedCount(l *Ledger, reason string) int64 { return l.RefusedCounts()[reason] }

// TestSignedStateRefusesWhatItCannotTrust: with a key, every kind of record
// that is not signed under it (unsigned, another key, changed after
// signing, an unsigned tombstone) is refused and counted, and the entry it
// tried to replace stays in force.
func TestSignedStateRefusesWhatItCannotTrust(t *testing.T) {
	t.Parallel()
	keys := ring(t, stateKey, nil)
	s, _, st, now := signedService(t, Config{Breaker: Limit{Count: 1, Window: time.Hour}}, keys, usersN(2)...)
	if out, _ := s.Decide(t.Context(), suspendOf("r1", "u000@example.com", "ev0")); out.Result != ResultSuspended {
		t.Fatalf("first decision = %s", out.Result)
	}
	if b, ok := s.ledger.Breaker(ScopeGlobal); !ok || !b.Open {
		t.Fatalf("breaker after the cap: %+v", b)
	}
	rearm := BreakerEntry{Scope: ScopeGlobal, Open: false, At: *now, By: "mallory", Reason: "forged"}
	forge(t, st, nil, "breaker/global", rearm)
	forge(t, st, ring(t, outsideKey, nil), "breaker/global", rearm)
	value, _ := json.Marshal(rearm)
	sig := keys.Sign(stateFields("breaker/global", []byte(`{"scope":"global","open":true}`))...)
	if err := st.Put(t.Context(), "breaker/global", value, sig); err != nil { // a signature moved to another value
		t.Fatal(err)
	}
	forge(t, st, nil, "breaker/global", nil) // an unsigned tombstone
	for reason, want := range map[string]int64{RefusedUnsigned: 2, RefusedOtherKey: 1, RefusedBadSignature: 1} {
		if got := refusedCount(s.ledger, reason); got != want {
			t.Errorf("refused %s: %d, want %d", reason, got, want)
		}
	}
	if b, ok := s.ledger.Breaker(ScopeGlobal); !ok || !b.Open {
		t.Errorf("breaker after forged re-arms and deletion: %+v (%v), want still open", b, ok)
	}
	if out, _ := s.Decide(t.Context(), suspendOf("r1", "u001@example.com", "ev1")); out.Result != ResultBreakerOpen {
		t.Errorf("decision after forged re-arms = %s, want breaker_open", out.Result)
	}
	if got := s.ledger.Refused(); len(got) != 4 || got[0].Key != "breaker/global" || got[0].Reason != RefusedUnsigned {
		t.Errorf("listed refusals %+v", got)
	}
	// A signed re-arm is what a legitimate reset writes.
	if err := s.ledger.Rearm(t.Context(), ScopeGlobal, "alice", "reviewed", *now); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.ledger.Breaker(ScopeGlobal); b.Open || b.By != "alice" {
		t.Errorf("after a signed re-arm: %+v", b)
	}
}

// TestUnsignedStateAcceptsOnlyWithoutAKey: without a key records are not
// signed and unsigned ones are accepted; with one, what an older version
// wrote unsigned is refused.
func TestUnsignedStateAcceptsOnlyWithoutAKey(t *testing.T) {
	t.Parallel()
	s, _, st, now := testService(t, Config{}, ann)
	forge(t, st, nil, "user/ANN", UserEntry{UserID: "ANN", Cooldowns: map[string]time.Time{"r1": *now}})
	if _, ok := s.ledger.User("ANN"); !ok || s.ledger.Authenticated() {
		t.Fatal("without a key an unsigned record must be accepted")
	}
	for _, r := range st.log {
		if r.signature != "" {
			t.Fatalf("without a key records are unsigned, got %q", r.signature)
		}
	}
	signed, _, st2, _ := signedService(t, Config{}, ring(t, stateKey, nil), ann)
	forge(t, st2, nil, "user/ANN", UserEntry{UserID: "ANN"})
	if _, ok := signed.ledger.User("ANN"); ok || refusedCount(signed.ledger, RefusedUnsigned) != 1 {
		t.Error("with a key an unsigned record must be refused")
	}
}

// TestStateRecordsDatedAheadAreRefused: a cooldown dated 2099, a breaker
// re-arm an hour ahead and holds dated ahead are refused; a re-arm within
// the skew counts from this instance's clock, not the writer's.
func TestStateRecordsDatedAheadAreRefused(t *testing.T) {
	t.Parallel()
	users := usersN(12)
	keys := ring(t, stateKey, nil)
	s, api, st, now := signedService(t, Config{Breaker: Limit{Count: 5, Window: time.Hour}}, keys, users...)

	// A user made immune by a cooldown in 2099.
	forge(t, st, keys, "user/U000", UserEntry{UserID: "U000", Cooldowns: map[string]time.Time{"r1": time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)}})
	if out, _ := s.Decide(t.Context(), Decision{RuleID: "r1", Mode: ModeEnforce, Action: ActionSuspend, Identity: "u000@example.com", EventID: "e0", Cooldown: time.Hour}); out.Result != ResultSuspended {
		t.Errorf("user with a cooldown dated 2099: %s %s, want suspended", out.Result, out.Detail)
	}
	// Twenty holds dated ahead would stall every suspension.
	for i := range 20 {
		forge(t, st, keys, fmt.Sprintf("hold/X%02d", i), Hold{UserID: fmt.Sprintf("X%02d", i), Rule: "r1", At: now.Add(time.Hour)})
	}
	if got := refusedCount(s.ledger, RefusedFutureTime); got != 21 {
		t.Errorf("refused as dated ahead: %d, want 21", got)
	}
	for i := 1; i <= 4; i++ {
		// Bounded: holds that stalled it would make it wait forever.
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		out, err := s.Decide(ctx, suspendOf("r1", users[i].Email, fmt.Sprint("e", i)))
		cancel()
		if out.Result != ResultSuspended {
			t.Fatalf("decision %d behind holds dated ahead = %s (%v), want suspended", i, out.Result, err)
		}
	}
	if b, _ := s.ledger.Breaker(ScopeGlobal); !b.Open {
		t.Fatalf("breaker not tripped at the cap: %+v", b)
	}
	// A re-arm from a CLI whose clock runs an hour fast is refused...
	if err := s.ledger.Rearm(t.Context(), ScopeGlobal, "ops", "fast clock", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.ledger.Breaker(ScopeGlobal); !b.Open {
		t.Errorf("a re-arm dated an hour ahead re-armed the breaker: %+v", b)
	}
	// ...and one within the skew counts from now: exactly 5 more, not 9.
	if err := s.ledger.Rearm(t.Context(), ScopeGlobal, "ops", "slightly fast clock", now.Add(4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.ledger.Breaker(ScopeGlobal); b.Open || !b.At.Equal(*now) {
		t.Fatalf("re-arm within the skew: %+v, want closed from %s", b, *now)
	}
	before := api.count("suspend")
	for i := 5; i < 12; i++ {
		*now = now.Add(time.Second)
		s.Decide(t.Context(), suspendOf("r1", users[i].Email, fmt.Sprint("e", i)))
	}
	if got := api.count("suspend") - before; got != 5 {
		t.Errorf("after a re-arm dated 4m ahead: %d suspensions, want exactly the cap of 5", got)
	}
}

// TestPreviousKeyVerifiesAndRewritesSignUnderTheCurrentOne: after a
// rotation, records signed under the previous key are accepted and counted
// until tripline rewrites them under the current key; a record under
// neither key is refused as signed under another key.
func TestPreviousKeyVerifiesAndRewritesSignUnderTheCurrentOne(t *testing.T) {
	t.Parallel()
	s, _, st, now := signedService(t, Config{}, ring(t, stateKey, oldKey), ann, bob)
	forge(t, st, ring(t, oldKey, nil), "user/ANN", UserEntry{UserID: "ANN"})
	forge(t, st, ring(t, outsideKey, nil), "user/BOB", UserEntry{UserID: "BOB"})
	if _, ok := s.ledger.User("ANN"); !ok || s.ledger.UnderPreviousKey() != 1 {
		t.Fatalf("record under the previous key: accepted %v, counted %d", ok, s.ledger.UnderPreviousKey())
	}
	if _, ok := s.ledger.User("BOB"); ok || refusedCount(s.ledger, RefusedOtherKey) != 1 {
		t.Errorf("record under another key accepted")
	}
	rec := s.ledger.Refused()[0]
	if !strings.Contains(rec.Detail, signing.Fingerprint(outsideKey)) {
		t.Errorf("refusal %q does not name the other key's fingerprint", rec.Detail)
	}
	if _, err := s.Decide(t.Context(), suspendOf("r1", "ann@example.com", "ev")); err != nil {
		t.Fatal(err)
	}
	if s.ledger.UnderPreviousKey() != 0 || !strings.HasPrefix(st.log["user/ANN"].signature, "k="+signing.Fingerprint(stateKey)) {
		t.Errorf("rewritten record still under the previous key: %d, %q", s.ledger.UnderPreviousKey(), st.log["user/ANN"].signature)
	}
	_ = now
}

// TestOversizedAndUndecodableRecordsAreRefused: a record over the cap, an
// empty one (a value cut off while decompressing) and one that does not
// decode or match its key are refused; what the ledger writes is clipped
// to fit.
func TestOversizedAndUndecodableRecordsAreRefused(t *testing.T) {
	t.Parallel()
	s, _, st, _ := testService(t, Config{}, ann)
	big := bytes.Repeat([]byte("x"), MaxStateRecordBytes+1)
	for key, value := range map[string][]byte{"user/A1": big, "user/A2": {}, "user/A3": []byte("{"), "user/A4": []byte(`{"user_id":"other"}`), "nonsense/x": []byte(`{}`)} {
		if err := st.Put(t.Context(), key, value, ""); err != nil {
			t.Fatal(err)
		}
	}
	if got := refusedCount(s.ledger, RefusedOversized); got != 2 {
		t.Errorf("refused as oversized: %d, want 2", got)
	}
	if got := refusedCount(s.ledger, RefusedUndecodable); got != 3 {
		t.Errorf("refused as undecodable: %d, want 3", got)
	}
	e := UserEntry{UserID: "ANN", Last: &Stamp{Rule: "r1", Event: strings.Repeat("e", 1<<20), Action: "suspend"}, Cooldowns: map[string]time.Time{}}
	for i := range 5000 {
		e.Cooldowns[fmt.Sprintf("rule_%05d_%s", i, strings.Repeat("r", 40))] = time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)
	}
	if err := s.ledger.PutUser(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if n := len(st.log["user/ANN"].value); n > MaxStateRecordBytes {
		t.Errorf("written record of %d bytes, over %d", n, MaxStateRecordBytes)
	}
	got, ok := s.ledger.User("ANN")
	if !ok || len(got.Cooldowns) == 0 || len(got.Last.Event) > maxEventIDLen {
		t.Errorf("clipped record not applied whole: ok %v, %d cooldowns", ok, len(got.Cooldowns))
	}
	if _, found := got.Cooldowns["rule_04999_"+strings.Repeat("r", 40)]; !found {
		t.Error("clipping dropped the newest cooldown; it must drop the oldest first")
	}
}

// TestRefusedRecordIsWrittenOver: the entry a refused record tried to
// replace is written again, signed, so that compaction keeps it rather than
// the refused record.
func TestRefusedRecordIsWrittenOver(t *testing.T) {
	t.Parallel()
	keys := ring(t, stateKey, nil)
	s, _, st, _ := signedService(t, Config{Breaker: Limit{Count: 1, Window: time.Hour}}, keys, usersN(1)...)
	s.Decide(t.Context(), suspendOf("r1", "u000@example.com", "ev0"))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.ledger.Run(ctx) }()
	forge(t, st, nil, "breaker/global", nil) // an unsigned tombstone: compaction would drop the trip
	waitFor(t, "the trip written back", func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		r := st.log["breaker/global"]
		return r.value != nil && r.signature != ""
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var b BreakerEntry
	st.mu.Lock()
	json.Unmarshal(st.log["breaker/global"].value, &b)
	st.mu.Unlock()
	if !b.Open {
		t.Errorf("written back %+v, want the open trip", b)
	}
}

// TestForgedApprovalWithAReplayedAnswerActsOnNobody: an approval record
// forged as approved, plus a verbatim copy of a signed deny answer, is the
// attack the state's signatures and the answers' binding stop: the forged
// record is refused, and the copied answer matches no pending approval.
func TestForgedApprovalWithAReplayedAnswerActsOnNobody(t *testing.T) {
	t.Parallel()
	keys := ring(t, stateKey, nil)
	s, api, st, now := signedService(t, Config{Approvals: true}, keys, ann, bob)
	if out, _ := s.Decide(t.Context(), approveOf("r1", "ann@example.com", "ev-1")); out.Result != ResultPendingApproval {
		t.Fatalf("Decide = %s", out.Result)
	}
	annID := ApprovalID("r1", "ANN", "ev-1")
	deny := answer(s, annID, AnswerDeny, "lee", *now)
	deny.Source = Source{Topic: "tripline.approvals", Offset: 1}
	if _, err := s.Answer(t.Context(), deny); err != nil {
		t.Fatal(err)
	}
	// Forge Bob's approval as approved by the deny's nonce, unsigned.
	forged := Approval{ID: "ap_forged", State: ApprovalApproved, RuleID: "r1", Action: ActionSuspend, UserID: "BOB",
		Created: *now, Expires: now.Add(time.Hour), Answer: deny.Nonce, DecidedBy: "lee", Channel: "cli"}
	forge(t, st, nil, approvalKeyPrefix+forged.ID, forged)
	replayed := deny
	replayed.ApprovalID, replayed.Source.Offset = forged.ID, 2
	if _, err := s.Answer(t.Context(), replayed); err == nil || api.count("suspend") != 0 {
		t.Fatalf("forged approval + replayed answer: %v, %d suspensions", err, api.count("suspend"))
	}
	// Even signed (a leaked key), the copied answer names another user,
	// rule or creation time, and a deny never carries an action out.
	forge(t, st, keys, approvalKeyPrefix+forged.ID, forged)
	if _, err := s.Answer(t.Context(), replayed); err == nil || api.count("suspend") != 0 {
		t.Fatalf("signed forged approval + replayed deny: %v, %d suspensions", err, api.count("suspend"))
	}
	// The deny itself, copied to another record, is refused as a replay.
	again := deny
	again.Source.Offset = 3
	if _, err := s.Answer(t.Context(), again); err == nil {
		t.Error("a copied answer was applied again")
	}
}

// TestAnswerMustMatchItsApproval: an answer is applied only if the user,
// rule, action and creation time it names are the pending approval's.
func TestAnswerMustMatchItsApproval(t *testing.T) {
	t.Parallel()
	s, api, now, _, _ := approvalService(t, ann)
	s.Decide(t.Context(), approveOf("r1", "ann@example.com", "ev-1"))
	id := ApprovalID("r1", "ANN", "ev-1")
	for name, change := range map[string]func(*Answer){
		"user":          func(a *Answer) { a.UserID = "BOB" },
		"rule":          func(a *Answer) { a.RuleID = "r2" },
		"action":        func(a *Answer) { a.Action = ActionReactivate },
		"creation time": func(a *Answer) { a.Created = a.Created.Add(-time.Hour) },
	} {
		ans := answer(s, id, AnswerApprove, "dana", *now)
		ans.Nonce += name
		change(&ans)
		if _, err := s.Answer(t.Context(), ans); !errors.Is(err, ErrAnswerRefused) || api.count("suspend") != 0 {
			t.Errorf("answer naming another %s: %v, %d suspensions; want ErrAnswerRefused and none", name, err, api.count("suspend"))
		}
	}
	if a, _ := s.ledger.Approval(id); a.State != ApprovalPending {
		t.Fatalf("approval after refused answers: %s, want still pending", a.State)
	}
	if out, err := s.Answer(t.Context(), answer(s, id, AnswerApprove, "dana", *now)); err != nil || out.Result != ResultSuspended {
		t.Errorf("the matching answer: %s, %v", out.Result, err)
	}
}

// TestOnlyAnApproveAnswerCarriesAnActionOut: an approval approved whose
// action failed is carried out again by its own approve answer applied
// again, and by nothing else carrying its nonce (a deny with the same
// nonce is a replay).
func TestOnlyAnApproveAnswerCarriesAnActionOut(t *testing.T) {
	t.Parallel()
	s, api, now, _, _ := approvalService(t, ann)
	s.Decide(t.Context(), approveOf("r1", "ann@example.com", "ev-1"))
	id := ApprovalID("r1", "ANN", "ev-1")
	api.mu.Lock()
	api.errs["suspend"] = ErrPermissionDenied
	api.mu.Unlock()
	approve := answer(s, id, AnswerApprove, "dana", *now)
	approve.Source = Source{Topic: "tripline.approvals", Offset: 1}
	if _, err := s.Answer(t.Context(), approve); err == nil {
		t.Fatal("the approved action did not fail")
	}
	api.mu.Lock()
	delete(api.errs, "suspend")
	api.mu.Unlock()
	deny := approve
	deny.Kind, deny.Source.Offset = AnswerDeny, 2
	if _, err := s.Answer(t.Context(), deny); !errors.Is(err, ErrAnswerRefused) || api.count("suspend") != 1 {
		t.Fatalf("a deny carrying the approve's nonce: %v, %d suspend calls; want refused and no new call", err, api.count("suspend"))
	}
	approve.Source.Offset = 3 // replayed from the dead-letter topic
	if out, err := s.Answer(t.Context(), approve); err != nil || out.Result != ResultSuspended {
		t.Errorf("the approve applied again after its action failed: %s, %v; want suspended", out.Result, err)
	}
}

// TestResignSignsWhatItWouldAcceptAndNothingElse: the one-time move to
// signed state signs the unsigned records and those under the previous
// key that a ledger would accept, keeps those already signed, and refuses
// (never signs) records under another key, dated ahead or undecodable;
// a signed ledger then loads the result with no refusal but those.
func TestResignSignsWhatItWouldAcceptAndNothingElse(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := &memStore{}
	forge(t, st, nil, "user/ANN", UserEntry{UserID: "ANN", Cooldowns: map[string]time.Time{"r1": now.Add(-time.Hour)}})
	forge(t, st, ring(t, oldKey, nil), "user/BOB", UserEntry{UserID: "BOB"})
	forge(t, st, ring(t, stateKey, nil), "user/CAT", UserEntry{UserID: "CAT"})
	forge(t, st, ring(t, outsideKey, nil), "user/DAN", UserEntry{UserID: "DAN"})
	forge(t, st, nil, "user/EVE", UserEntry{UserID: "EVE", Cooldowns: map[string]time.Time{"r1": time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)}})
	forge(t, st, nil, "breaker/global", map[string]any{"scope": "rule:other"})
	forge(t, st, nil, "approval/gone", nil)
	var recs []StoredRecord
	for _, k := range []string{"approval/gone", "breaker/global", "user/ANN", "user/BOB", "user/CAT", "user/DAN", "user/EVE"} {
		recs = append(recs, StoredRecord{Key: k, Value: st.log[k].value, Signature: st.log[k].signature})
	}
	keys := ring(t, stateKey, oldKey)
	dry, err := Resign(t.Context(), st, keys, recs, clock, true)
	if err != nil || len(st.writes) != 7 {
		t.Fatalf("dry run: %v, %d writes (want the 7 forged ones only)", err, len(st.writes))
	}
	got := map[string]string{}
	for _, o := range dry {
		got[o.Key] = o.Action
	}
	want := map[string]string{"approval/gone": "skipped", "breaker/global": "refused", "user/ANN": "signed", "user/BOB": "signed",
		"user/CAT": "kept", "user/DAN": "refused", "user/EVE": "refused"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
	if _, err := Resign(t.Context(), st, keys, recs, clock, false); err != nil {
		t.Fatal(err)
	}
	signed := NewLedger(nil, LedgerConfig{Keys: ring(t, stateKey, nil), Now: clock})
	st.join(signed)
	for _, id := range []string{"ANN", "BOB", "CAT"} {
		if _, ok := signed.User(id); !ok {
			t.Errorf("user %s not accepted after resign (under the current key alone)", id)
		}
	}
	for _, id := range []string{"DAN", "EVE"} {
		if _, ok := signed.User(id); ok {
			t.Errorf("user %s was signed although it must be refused", id)
		}
	}
}

// atomicClock is a fake clock safe to move while a decision reads it.
type atomicClock struct{ ns atomic.Int64 }

func (c *atomicClock) now() time.Time       { return time.Unix(0, c.ns.Load()).UTC() }
func (c *atomicClock) move(d time.Duration) { c.ns.Add(int64(d)) }
func newAtomicClock(t time.Time) *atomicClock {
	c := &atomicClock{}
	c.ns.Store(t.UnixNano())
	return c
}

// TestLongBreakerWaitsAreLoggedAndListed: a decision waiting for holds in
// flight is logged at warn once it has waited 30 s, with what it waits for,
// and listed for /readyz once it has waited a minute; it acts once the
// holds are released.
func TestLongBreakerWaitsAreLoggedAndListed(t *testing.T) {
	t.Parallel()
	clock := newAtomicClock(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	st := &memStore{}
	led := NewLedger(st, LedgerConfig{Instance: "here", Now: clock.now})
	st.join(led)
	dir := &fakeDir{users: map[string]User{"ANN": ann}}
	api := &fakeAPI{states: map[string]string{"ANN": StateActive}, errs: map[string]error{}}
	var logs syncBuffer
	s, err := New(Config{Breaker: Limit{Count: 2, Window: time.Hour}, Retry: RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxElapsed: time.Second, MaxAttempts: 2}},
		Deps{Directory: dir, API: api, Ledger: led, Now: clock.now, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	// Two holds of another instance, in flight, fill the cap.
	for _, u := range []string{"X1", "X2"} {
		forge(t, st, nil, holdKeyPrefix+u, Hold{UserID: u, Rule: "r1", At: clock.now(), Instance: "there"})
	}
	done := make(chan Outcome, 1)
	go func() {
		out, _ := s.Decide(context.Background(), suspendOf("r1", "ann@example.com", "ev"))
		done <- out
	}()
	waitFor(t, "the decision waiting", func() bool { return led.Waiting() == 1 })
	clock.move(31 * time.Second)
	waitFor(t, "the warning about the wait", func() bool {
		return strings.Contains(logs.String(), "waited for holds in flight") && strings.Contains(logs.String(), "global: 2 holds in flight")
	})
	if got := led.LongWaits(clock.now()); len(got) != 0 {
		t.Errorf("waits over a minute after 31s: %v", got)
	}
	clock.move(30 * time.Second)
	if got := led.LongWaits(clock.now()); len(got) != 1 || !strings.Contains(got[0], "rule r1, user ANN") || !strings.Contains(got[0], "2 holds in flight") {
		t.Errorf("waits over a minute after 61s: %v", got)
	}
	for _, u := range []string{"X1", "X2"} {
		forge(t, st, nil, holdKeyPrefix+u, Hold{UserID: u, Rule: "r1", At: clock.now().Add(-61 * time.Second), Instance: "there", Released: true})
	}
	select {
	case out := <-done:
		if out.Result != ResultSuspended {
			t.Errorf("after the holds were released: %s", out.Result)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the decision still waits after the holds were released")
	}
	if n := strings.Count(logs.String(), "waited for holds in flight"); n != 1 {
		t.Errorf("the wait was logged %d times, want once", n)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger's writes and the test's
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
