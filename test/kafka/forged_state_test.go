//go:build kafka

package kafka

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/eventtest"
	"github.com/tripline-dev/tripline/internal/kafkatest"
	"github.com/tripline-dev/tripline/internal/ledger"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/pipeline"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/signing"
)

// forgedRules is the risky rule with a cooldown, so that a cooldown dated
// 2099 would make its user immune if it were believed.
var forgedRules = strings.Replace(eventtest.RiskyRule, "    reason: \"risky sign-in\"\n", "    reason: \"risky sign-in\"\n    cooldown: 1h\n", 1)

// TestReliabilityForgedState runs one consumer process with a signing key
// and a global breaker of 5, and attacks every guard the way someone with
// write access to the state and approvals topics and the rules directory
// (or an operator's ordinary mistake) would: protected.yaml deleted, then
// emptied; a breaker re-arm dated an hour ahead (signed: a CLI whose clock
// runs fast), an unsigned re-arm and an unsigned tombstone of the trip;
// 20 breaker holds dated an hour ahead; a cooldown dated 2099; an approval
// forged as approved plus a signed answer naming it; a 1 MB state record.
// Each must be refused and counted, nobody wrongly suspended, no decision
// stalled, and the process must neither exit nor fail to start again.
func TestReliabilityForgedState(t *testing.T) {
	brokers := kafkatest.Brokers(t)
	s := startSim(t, opsim.Seed{}, 40)
	w := newWorld(t, brokers, 1, s)
	if !strings.Contains(forgedRules, "cooldown: 1h") {
		t.Fatal("the scenario's rule has no cooldown: a cooldown dated 2099 would prove nothing")
	}
	if err := eventtest.WriteRulesDir(w.rulesDir, forgedRules); err != nil {
		t.Fatal(err)
	}
	protectedFile := filepath.Join(w.rulesDir, "protected.yaml")
	protectedUser := userEmail(1)
	if err := os.WriteFile(protectedFile, []byte("emails:\n  - "+protectedUser+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.env["TRIPLINE_BREAKER_GLOBAL"] = "5/10m"
	w.env["TRIPLINE_RULES_WATCH"] = "true"
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	keys, err := signing.NewKeyring([]byte(dlqSigningKey), nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, u := range s.Users() {
		ids[u.Email] = u.ID
	}
	events, must := 0, []string{}
	produce := func(emails ...string) {
		t.Helper()
		var msgs []kafka.Message
		for _, e := range emails {
			events++
			msgs = append(msgs, kafka.Message{Key: []byte(e), Value: oktaSignIn(fmt.Sprint("forged-", events), e, "HIGH")})
		}
		w.produce(ctx, msgs...)
	}
	a := w.start("consumer-a")
	a.waitHealthy(t, time.Minute)
	relWait(t, time.Minute, "the consumer ready", readyzLists("ready", true, a), a)
	attacker := newStateWriter(t, ctx, w, keys)

	// protected.yaml deleted, then emptied: both reloads refused, the
	// protected user's risky sign-ins blocked.
	rejected := func() int { return metricValue(t, a, `tripline_rules_reloads_total\{[^}]*result="rejected"[^}]*\}`) }
	if err := os.Remove(protectedFile); err != nil {
		t.Fatal(err)
	}
	relWait(t, 30*time.Second, "the deletion of protected.yaml rejected", func() (bool, string) { n := rejected(); return n >= 1, fmt.Sprint(n) }, a)
	produce(protectedUser)
	if err := os.WriteFile(protectedFile, []byte("emails: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	relWait(t, 30*time.Second, "the emptied protected.yaml rejected", func() (bool, string) { n := rejected(); return n >= 2, fmt.Sprint(n) }, a)
	produce(protectedUser)

	// Five risky users trip the breaker.
	for i := 2; i <= 6; i++ {
		must = append(must, userEmail(i))
	}
	produce(must...)
	relWait(t, time.Minute, "five suspended and the breaker open", func() (bool, string) {
		n := s.suspended(must)
		return n == 5 && strings.Contains(readyzBody(a), "breaker open: global"), fmt.Sprintf("suspended %d", n)
	}, a)

	// A re-arm from a clock an hour fast, an unsigned re-arm and an
	// unsigned tombstone: the breaker stays open, the next user is held.
	// Each is refused before the next is written: the entry a refused
	// record tried to replace is written back at once, and a forged record
	// that this write-back overtakes is superseded without being read.
	attacker.rearm(time.Now().Add(time.Hour))
	relWait(t, 30*time.Second, "the re-arm from a fast clock refused", refusedAtLeast(t, a, map[string]int{remediate.RefusedFutureTime: 1}), a)
	attacker.raw("breaker/global", mustJSON(t, remediate.BreakerEntry{Scope: "global", At: time.Now(), By: "mallory", Reason: "forged"}))
	relWait(t, 30*time.Second, "the unsigned re-arm refused", refusedAtLeast(t, a, map[string]int{remediate.RefusedUnsigned: 1}), a)
	relWait(t, 30*time.Second, "the trip written back over the unsigned re-arm", w.lastBreakerOpen(ctx), a)
	attacker.raw("breaker/global", nil)
	relWait(t, 30*time.Second, "the unsigned tombstone refused", refusedAtLeast(t, a, map[string]int{remediate.RefusedUnsigned: 2}), a)
	relWait(t, 30*time.Second, "the trip written back over the unsigned tombstone", w.lastBreakerOpen(ctx), a)
	held := userEmail(7)
	produce(held)
	relWait(t, time.Minute, "the next user held by the open breaker", func() (bool, string) {
		return len(w.deadLetters()) == 1, fmt.Sprint(len(w.deadLetters()), " dead-lettered")
	}, a)

	// The operator re-arms it properly; then 20 holds dated ahead must
	// not stall the next suspensions.
	if out, _ := w.mustCLI(ctx, "breaker", "reset", "--scope", "global", "--by", "suite", "--reason", "forged-state"); !strings.Contains(out, "re-armed") {
		t.Fatalf("breaker reset printed %q", out)
	}
	relWait(t, 30*time.Second, "the re-arm applied", readyzLists("breaker open: global", false, a), a)
	for i := range 20 {
		attacker.hold(fmt.Sprintf("X%02d", i), time.Now().Add(time.Hour))
	}
	// A cooldown dated 2099 on the next user.
	cooled := userEmail(8)
	attacker.user(remediate.UserEntry{UserID: ids[cooled], Cooldowns: map[string]time.Time{"risky_success": time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)}})
	// An approval forged as approved, and a signed answer naming it.
	forgedFor := userEmail(9)
	forged := remediate.Approval{ID: "ap_forged", State: remediate.ApprovalApproved, RuleID: "risky_success", Action: remediate.ActionSuspend,
		UserID: ids[forgedFor], Created: time.Now(), Expires: time.Now().Add(time.Hour), Answer: "n-forged", DecidedBy: "dana", Channel: "cli"}
	attacker.raw("approval/ap_forged", mustJSON(t, forged))
	ans := forged.Bind(remediate.Answer{Kind: remediate.AnswerDeny, By: "dana", Channel: "cli", At: time.Now(), Nonce: "n-forged"})
	rec, err := pipeline.AnswerRecord(ans, keys)
	if err != nil {
		t.Fatal(err)
	}
	aw := w.writer(w.approvals)
	if err := aw.WriteMessages(ctx, rec); err != nil {
		t.Fatal(err)
	}
	aw.Close()
	// A state record of 1 MB, near the broker's size limit.
	attacker.raw("user/"+ids[userEmail(10)], bytes.Repeat([]byte("x"), 1_000_000))

	later := []string{userEmail(11), userEmail(12), cooled}
	must = append(must, later...)
	produce(later...)
	relWait(t, time.Minute, "the users after the forged holds and cooldown suspended", w.drained(must), a)
	wantRefused := map[string]int{remediate.RefusedFutureTime: 22, remediate.RefusedUnsigned: 3, remediate.RefusedOversized: 1}
	relWait(t, 30*time.Second, "every forged record refused and counted", refusedAtLeast(t, a, wantRefused), a)
	if st, body, _ := a.readyz(); st != 200 || !strings.Contains(body, "state record refused") {
		t.Errorf("/readyz %d does not list the refused records:\n%s", st, body)
	}

	// A restart with the emptied protected.yaml is refused with the fix;
	// once the list is back, the process starts over the forged state: no
	// exit, the same refusals.
	rejectedReloads := rejected()
	a.stop(t, 30*time.Second)
	refusedStart := w.start("consumer-refused")
	if err := refusedStart.waitExit(t, time.Minute); err == nil || !strings.Contains(refusedStart.stderr.String(), "allow_empty: true") {
		t.Errorf("start with an empty protected.yaml: %v, want a refusal naming allow_empty", err)
	}
	if err := os.WriteFile(protectedFile, []byte("emails:\n  - "+protectedUser+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := w.start("consumer-b")
	b.waitHealthy(t, time.Minute)
	relWait(t, time.Minute, "the restarted consumer ready", readyzLists("ready", true, b), b)
	relWait(t, 30*time.Second, "the restarted consumer refusing the forged records", refusedAtLeast(t, b, map[string]int{
		remediate.RefusedFutureTime: 1, remediate.RefusedUnsigned: 1, remediate.RefusedOversized: 1}), b)
	last := userEmail(13)
	must = append(must, last)
	produce(last)
	relWait(t, time.Minute, "a suspension after the restart", w.drained(must), b)

	wrong, some := s.wronglySuspended(must)
	for _, u := range []string{protectedUser, held, forgedFor} {
		if st := s.state(u); st != "ACTIVE" {
			t.Errorf("%s is %s, want ACTIVE", u, st)
		}
	}
	if wrong != 0 {
		t.Errorf("%d users wrongly suspended: %v", wrong, some)
	}
	exits := 0
	if a.err != nil {
		exits++
	}
	if b.exited() {
		exits++
	}
	c := s.calls()
	f := figures{events: events, risky: len(must), suspended: s.suspended(must), wronglySuspended: wrong,
		callsPerRisky: c.perRisky(len(must)), dlq: len(w.deadLetters()), committedAtEnd: w.assertCommittedAtEnd(int64(events))}
	report(t, "forged-state", f, "refused=%s rejected_reloads=%d exits=%d", refusedLine(t, b), rejectedReloads, exits)
	if f.suspended != f.risky {
		t.Errorf("%d of %d users that must be suspended are", f.suspended, f.risky)
	}
	b.stop(t, 30*time.Second)
}

// lastBreakerOpen is a relWait condition: the last record of the global
// breaker on the state topic is an open trip (what compaction keeps).
func (w *world) lastBreakerOpen(ctx context.Context) func() (bool, string) {
	return func() (bool, string) {
		recs, err := w.stateRecords(ctx)
		if err != nil {
			return false, err.Error()
		}
		for i := len(recs) - 1; i >= 0; i-- {
			if recs[i].Key == "breaker/global" {
				return recs[i].Open, fmt.Sprintf("last breaker/global at offset %d: open %v", recs[i].Offset, recs[i].Open)
			}
		}
		return false, "no breaker/global record"
	}
}

// stateWriter writes to a world's state topic as an attacker with write
// access (raw, unsigned records) or with the signing key (a CLI whose clock
// runs ahead) would.
type stateWriter struct {
	t      *testing.T
	ctx    context.Context
	table  *ledger.Table
	signed *remediate.Ledger
}

func newStateWriter(t *testing.T, ctx context.Context, w *world, keys *signing.Keyring) *stateWriter {
	t.Helper()
	led := remediate.NewLedger(nil, remediate.LedgerConfig{Instance: "attacker", Keys: keys})
	table, err := ledger.New(ledger.Config{Brokers: strings.Split(w.brokers, ","), Topic: w.state}, func(string, []byte, string) {})
	if err != nil {
		t.Fatal(err)
	}
	if err := table.Load(ctx); err != nil {
		t.Fatal(err)
	}
	led.SetStore(table)
	return &stateWriter{t: t, ctx: ctx, table: table, signed: led}
}

func (a *stateWriter) raw(key string, value []byte) {
	a.t.Helper()
	if err := a.table.Put(a.ctx, key, value, ""); err != nil {
		a.t.Fatal(err)
	}
}

func (a *stateWriter) rearm(at time.Time) {
	a.t.Helper()
	if err := a.signed.Rearm(a.ctx, remediate.ScopeGlobal, "fast-clock", "re-armed from a laptop an hour ahead", at); err != nil {
		a.t.Fatal(err)
	}
}

func (a *stateWriter) hold(user string, at time.Time) {
	a.t.Helper()
	if err := a.signed.PutHold(a.ctx, remediate.Hold{UserID: user, Rule: "risky_success", At: at, Instance: "attacker"}); err != nil {
		a.t.Fatal(err)
	}
}

func (a *stateWriter) user(e remediate.UserEntry) {
	a.t.Helper()
	if err := a.signed.PutUser(a.ctx, e); err != nil {
		a.t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readyzBody(p *proc) string {
	_, body, _ := p.readyz()
	return body
}

// metricValue sums the samples of the series matching pattern on the
// process's /metrics.
func metricValue(t *testing.T, p *proc, pattern string) int {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + pattern + ` (\d+)`)
	n := 0
	for _, m := range re.FindAllStringSubmatch(scrape(t, "http://"+p.httpAddr+"/metrics"), -1) {
		v, _ := strconv.Atoi(m[1])
		n += v
	}
	return n
}

// refusedAtLeast is a relWait condition: the process counts at least want
// refused state records of each reason.
func refusedAtLeast(t *testing.T, p *proc, want map[string]int) func() (bool, string) {
	return func() (bool, string) {
		ok := true
		var got []string
		for reason, n := range want {
			v := metricValue(t, p, `tripline_state_records_refused_total\{[^}]*reason="`+reason+`"[^}]*\}`)
			got = append(got, fmt.Sprintf("%s=%d/%d", reason, v, n))
			ok = ok && v >= n
		}
		return ok, strings.Join(got, " ")
	}
}

// refusedLine is the process's refused state records by reason, for the
// RELIABILITY line.
func refusedLine(t *testing.T, p *proc) string {
	var parts []string
	for _, reason := range remediate.RefusedRecords {
		if v := metricValue(t, p, `tripline_state_records_refused_total\{[^}]*reason="`+reason+`"[^}]*\}`); v > 0 {
			parts = append(parts, fmt.Sprintf("%s:%d", reason, v))
		}
	}
	return strings.Join(parts, ",")
}
