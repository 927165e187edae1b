//go:build kafka

package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/eventtest"
	"github.com/tripline-dev/tripline/internal/kafkatest"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/pipeline"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/signing"
)

// containmentRules is the suite's risky rule with suspend_for: 1m, the
// shortest timed suspension: tripline suspends each risky user for a
// minute, then reactivates them.
var containmentRules = strings.Replace(eventtest.RiskyRule, "    reason: \"risky sign-in\"\n", "    reason: \"risky sign-in\"\n    suspend_for: 1m\n", 1)

// TestReliabilityContainment runs three consumer processes in one group (6
// source partitions, one state topic, the approvals topic where the
// clock's ends and a person's answers travel) with a rule that suspends
// for one minute, and 30 risky users: each is suspended once, then a
// person keeps 3 of them (consumer containment keep). When the minute is
// up, the approval clock of every instance writes an end for each of the
// other 27. Each reactivate call takes 1 s, so ends are in flight when
// half of them reached the API: then one instance is SIGKILLed, and the
// two others take over its partitions and carry its ends out again. The
// scenario writes one more end for each of the 27 right after the kill,
// and another once every user is ACTIVE again, as the clocks of other
// instances would (signed, like theirs): each must change nothing.
//
// Every contained user who was not kept must be ACTIVE again with exactly
// one reactivate call answered (reactivate calls per contained user =
// 1.00); the kept ones SUSPENDED with none; 3 users a person suspended
// before, each with a risky sign-in too (tripline finds them suspended and
// never contains them), SUSPENDED with none; no other user reactivated; 30
// benign users ACTIVE; one suspend call per risky user; every answer
// applied; nothing dead-lettered; the survivors exit 0 on SIGTERM.
func TestReliabilityContainment(t *testing.T) {
	const contained, kept, byPerson, benign, partitions, instances = 30, 3, 3, 30, 6, 3
	brokers := kafkatest.Brokers(t)
	if !strings.Contains(containmentRules, "suspend_for: 1m") {
		t.Fatal("the scenario's rule has no suspend_for: nothing would end")
	}
	var seed opsim.Seed
	var byPersonEmails []string
	for i := 1; i <= byPerson; i++ {
		e := fmt.Sprintf("suspended.by.person%d@example.com", i)
		byPersonEmails = append(byPersonEmails, e)
		seed.Users = append(seed.Users, opsim.UserSeed{Email: e, State: opsim.StateSuspended})
	}
	s := startSim(t, seed, contained+benign)
	w := newWorld(t, brokers, partitions, s)
	if err := eventtest.WriteRulesDir(w.rulesDir, containmentRules); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s.SetFaults(opsim.Faults{opsim.EndpointReactivate: {Latency: time.Second}})

	var procs []*proc
	for i := range instances {
		procs = append(procs, w.start(fmt.Sprintf("consumer-%c", 'a'+i)))
	}
	relWait(t, 2*time.Minute, "three members sharing the partitions", w.spread(procs...), procs...)
	var msgs []kafka.Message
	var riskyEmails []string
	for i := 1; i <= contained; i++ {
		e := userEmail(i)
		riskyEmails = append(riskyEmails, e)
		msgs = append(msgs, kafka.Message{Key: []byte(e), Value: oktaSignIn(fmt.Sprint("risky-", i), e, "HIGH")})
	}
	for i, e := range byPersonEmails {
		msgs = append(msgs, kafka.Message{Key: []byte(e), Value: oktaSignIn(fmt.Sprint("person-", i), e, "HIGH")})
	}
	for i := range 2 * benign { // users contained+1 .. contained+benign
		e := userEmail(contained + 1 + i%benign)
		msgs = append(msgs, kafka.Message{Key: []byte(e), Value: benignSignIn(fmt.Sprint("benign-", i), e, i)})
	}
	start := time.Now()
	w.produce(ctx, msgs...)
	relWait(t, time.Minute, "every risky user suspended and every partition committed", w.drained(riskyEmails), procs...)
	suspended := s.suspended(riskyEmails)
	inForce := w.containments(ctx)
	if len(inForce) != contained {
		t.Errorf("consumer containment list shows %d timed suspensions, want %d (one per risky user)", len(inForce), contained)
	}

	// A person keeps three of them, before the minute is up.
	keptEmails, ending := riskyEmails[:kept], riskyEmails[kept:]
	for _, e := range keptEmails {
		if out, _ := w.mustCLI(ctx, "containment", "keep", e, "--by", "suite", "--reason", "test"); !strings.Contains(out, "kept the suspension of "+e) {
			t.Errorf("consumer containment keep %s printed:\n%s", e, out)
		}
	}

	// The ends: the kill lands once half of them reached the API.
	relWait(t, 2*time.Minute, "half the ends reaching the API", func() (bool, string) {
		n := s.reactivates.Load()
		return n >= int64(len(ending)/2), fmt.Sprintf("%d reactivate calls", n)
	}, procs...)
	due := time.Now()
	atKill := s.reactivates.Load()
	victim, live := procs[1], []*proc{procs[0], procs[2]}
	victim.kill(t)
	duplicates := w.writeEnds(ctx, inForce, ending)
	relWait(t, 2*time.Minute, "every contained user not kept ACTIVE again", func() (bool, string) {
		n := countState(s, ending, opsim.StateActive)
		return n == len(ending), fmt.Sprintf("%d/%d ACTIVE, %d reactivate calls", n, len(ending), s.reactivates.Load())
	}, live...)
	endedIn := time.Since(due)
	duplicates += w.writeEnds(ctx, inForce, ending)
	relWait(t, time.Minute, "every answer applied and every source partition committed", func() (bool, string) {
		ok, note := w.answersApplied()
		done, more := w.drained(nil)()
		return ok && done, note + "; " + more
	}, live...)
	if left := w.containments(ctx); len(left) != 0 {
		t.Errorf("consumer containment list still shows %d timed suspensions: %+v", len(left), left)
	}
	for _, p := range live {
		p.stop(t, 30*time.Second)
	}

	ids := map[string]string{}
	for _, u := range s.Users() {
		ids[u.Email] = u.ID
	}
	calls, ours := s.reactivateCalls(), map[string]bool{}
	endCalls := 0
	for _, e := range ending {
		ours[ids[e]] = true
		endCalls += calls[ids[e]]
		if st, n := s.state(e), calls[ids[e]]; st != opsim.StateActive || n != 1 {
			t.Errorf("%s (timed suspension ended): %s with %d reactivate calls answered, want ACTIVE with exactly 1", e, st, n)
		}
	}
	for _, e := range append(append([]string(nil), keptEmails...), byPersonEmails...) {
		if st, n := s.state(e), calls[ids[e]]; st != opsim.StateSuspended || n != 0 {
			t.Errorf("%s (kept, or suspended by a person): %s with %d reactivate calls answered, want SUSPENDED with none", e, st, n)
		}
	}
	notOurs := 0
	for id, n := range calls {
		if !ours[id] {
			notOurs += n
			t.Errorf("user %s reactivated %d times, but tripline's timed suspension of them did not end", id, n)
		}
	}
	perContained := float64(endCalls) / float64(len(ending))
	if perContained != 1 {
		t.Errorf("%d reactivate calls answered for %d ended timed suspensions: %.3f per contained user, want 1.000", endCalls, len(ending), perContained)
	}
	c := s.calls()
	assertOneCallEach(t, c, contained)
	dl := w.deadLetters()
	if len(dl) != 0 {
		t.Errorf("DLQ holds %d records (%v), want none", len(dl), classCounts(dl))
	}
	f := figures{events: len(msgs), risky: contained, suspended: suspended, callsPerRisky: c.perRisky(contained), dlq: len(dl)}
	f.committedAtEnd = w.assertCommittedAtEnd(int64(len(msgs)))
	f.wronglySuspended = w.assertNoneWronglySuspended(append(append([]string(nil), keptEmails...), byPersonEmails...))
	if got := countState(s, riskyEmails[kept:], opsim.StateActive) + countState(s, keptEmails, opsim.StateSuspended); got != contained {
		t.Errorf("%d of %d contained users in the state they should end in", got, contained)
	}
	report(t, "containment", f, "contained=%d ended=%d kept=%d reactivate_calls_per_contained=%.3f reactivated_not_ended=%d suspended_by_person=%d instances=%d partitions=%d kills=1 extra_ends=%d reactivate_calls=%d reactivate_calls_at_kill=%d reactivate_cut_by_kill=%d ended_after_kill_in=%s took=%s",
		contained, len(ending), kept, perContained, notOurs, byPerson, instances, partitions, duplicates,
		s.reactivates.Load(), atKill, s.reactivateCut.Load(), endedIn.Round(100*time.Millisecond), time.Since(start).Round(time.Second))
}

// countState counts how many of emails are in state in the simulator.
func countState(s *sim, emails []string, state string) int {
	n := 0
	for _, e := range emails {
		if s.state(e) == state {
			n++
		}
	}
	return n
}

// containedUser is one timed suspension as `consumer containment list
// --json` prints it.
type containedUser struct {
	User     string    `json:"user"`
	OPUserID string    `json:"op_user_id"`
	RuleID   string    `json:"rule_id"`
	Since    time.Time `json:"since"`
}

// containments lists the timed suspensions in force, as `consumer
// containment list --json` prints them.
func (w *world) containments(ctx context.Context) []containedUser {
	w.t.Helper()
	out, _ := w.mustCLI(ctx, "containment", "list", "--json")
	var list []containedUser
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var c containedUser
		if err := dec.Decode(&c); err != nil {
			w.t.Fatalf("consumer containment list --json: %v\n%s", err, out)
		}
		list = append(list, c)
	}
	return list
}

// writeEnds writes, for the timed suspension of each of emails in list,
// one more end to the approvals topic, signed, as the approval clock of
// another instance does when the time is up, and returns how many.
func (w *world) writeEnds(ctx context.Context, list []containedUser, emails []string) int {
	w.t.Helper()
	keys, err := signing.NewKeyring([]byte(dlqSigningKey), nil)
	if err != nil {
		w.t.Fatal(err)
	}
	var msgs []kafka.Message
	for _, c := range list {
		if !slices.Contains(emails, c.User) {
			continue
		}
		ans := remediate.BindContainment(c.OPUserID, remediate.Containment{Rule: c.RuleID, Since: c.Since},
			remediate.Answer{Kind: remediate.AnswerEnd, By: "tripline", Channel: "timeout", At: time.Now(), Nonce: fmt.Sprintf("suite-%s-%d", c.OPUserID, time.Now().UnixNano())})
		rec, err := pipeline.AnswerRecord(ans, keys)
		if err != nil {
			w.t.Fatal(err)
		}
		msgs = append(msgs, rec)
	}
	aw := w.writer(w.approvals)
	defer aw.Close()
	if err := aw.WriteMessages(ctx, msgs...); err != nil {
		w.t.Fatalf("write %d ends to %s: %v", len(msgs), w.approvals, err)
	}
	return len(msgs)
}

// answersApplied reports whether the group committed the end of every
// partition of the approvals topic (every answer applied), with a note.
func (w *world) answersApplied() (bool, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	md, err := w.client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{w.approvals}})
	if err != nil || len(md.Topics) != 1 || md.Topics[0].Error != nil {
		return false, fmt.Sprintf("approvals topic %s: %v", w.approvals, err)
	}
	committed, end, err := w.offsets(ctx, w.approvals, w.group, len(md.Topics[0].Partitions))
	if err != nil {
		return false, err.Error()
	}
	var lag, total int64
	for p, e := range end {
		lag += e - max(committed[p], 0)
		total += e
	}
	return lag == 0, fmt.Sprintf("answers: lag %d of %d", lag, total)
}
