//go:build kafka

package kafka

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/kafkatest"
	"github.com/tripline-dev/tripline/internal/opsim"
)

// TestReliabilityGroupOfThree runs three consumer processes in one group
// over a 6-partition topic and one state topic while 20,000 sign-ins of
// 3,000 users (600 risky users with one risky sign-in each) are produced
// over about 30 s. Once a third of the risky users are suspended, with
// messages still to consume, one instance is SIGKILLed and a replacement
// started. Every risky user must end suspended and no other user, the
// suspend calls the API answered must stay within 1.01 per risky user, the
// group must commit the end of every partition, nothing may be
// dead-lettered, and each process must have owned partitions.
func TestReliabilityGroupOfThree(t *testing.T) {
	const events, risky, users, partitions, instances = 20000, 600, 3000, 6, 3
	brokers := kafkatest.Brokers(t)
	s := startSim(t, opsim.Seed{}, users)
	w := newWorld(t, brokers, partitions, s)
	msgs, riskyEmails := signIns(events, risky, users, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// Each suspend call takes 25 ms, so a worker is busy with one when
	// the kill lands, as in the crash scenario.
	s.SetFaults(opsim.Faults{opsim.EndpointSuspend: {Latency: 25 * time.Millisecond}})
	own := w.watchOwnership()
	var procs []*proc
	for i := range instances {
		p := w.start(fmt.Sprintf("consumer-%c", 'a'+i))
		own.track(p)
		procs = append(procs, p)
	}
	relWait(t, 2*time.Minute, "three members sharing the partitions", w.spread(procs...), procs...)
	start := time.Now()
	produced := w.produceOver(ctx, msgs, 100, 30*time.Second)

	victim := procs[1]
	relWait(t, 90*time.Second, "a third of the risky users suspended with messages still to consume", w.suspendedMidStream(riskyEmails, risky/3), procs...)
	lagAtKill, producedAtKill, _ := w.lag(ctx)
	atKill := s.suspended(riskyEmails)
	victim.kill(t)
	t.Logf("killed %s at %s: produced %d, lag %d, suspended %d/%d", victim.name, time.Since(start).Round(time.Millisecond), producedAtKill, lagAtKill, atKill, risky)
	repl := w.start("consumer-d")
	own.track(repl)
	live := []*proc{procs[0], procs[2], repl}

	waitProduced(t, ctx, produced)
	relWait(t, 3*time.Minute, "every risky user suspended and every partition committed to its end", w.drained(riskyEmails), live...)
	took := time.Since(start)
	owned, polls := own.result() // before the stops hand every partition to the last one
	for _, p := range live {
		p.stop(t, 30*time.Second)
	}

	f, c := w.assertNothingLost(events, riskyEmails, 1)
	if c.cut > maxInFlight {
		t.Errorf("%d suspend calls cut by the kill, want at most %d (max_in_flight of %s)", c.cut, maxInFlight, victim.name)
	}
	isRisky := map[string]bool{}
	for _, e := range riskyEmails {
		isRisky[e] = true
	}
	all := s.Users()
	if len(all) != users {
		t.Errorf("simulator has %d users, want %d", len(all), users)
	}
	wrong := 0
	for _, u := range all {
		want := "ACTIVE"
		if isRisky[u.Email] {
			want = "SUSPENDED"
		}
		if u.State != want {
			wrong++
			if wrong <= 10 {
				t.Errorf("user %s (risky %t) is %s, want %s", u.Email, isRisky[u.Email], u.State, want)
			}
		}
	}
	var audits []string
	for _, p := range append(procs, repl) {
		n := p.auditLines("")
		audits = append(audits, strconv.Itoa(n))
		if len(owned[p.name]) == 0 || n == 0 {
			t.Errorf("%s never took part: owned partitions %v, %d audit lines (%d group polls)", p.name, owned[p.name], n, polls)
		}
	}
	report(t, "group-of-three", f, "users=%d benign_users=%d instances=%d partitions=%d kills=1 suspended_at_kill=%d lag_at_kill=%d wrong_state=%d suspend_calls=%d cut_by_kill=%d owned=%s audit_lines=%s took=%s",
		users, users-risky, instances, partitions, atKill, lagAtKill, wrong, c.received, c.cut,
		ownedSummary(owned, append(procs, repl)), strings.Join(audits, "/"), took.Round(time.Second))
}

// ownedSummary lists, in process order, the partitions each process owned.
func ownedSummary(owned map[string][]int, procs []*proc) string {
	out := ""
	for i, p := range procs {
		if i > 0 {
			out += ","
		}
		parts := make([]string, 0, len(owned[p.name]))
		for _, part := range owned[p.name] {
			parts = append(parts, strconv.Itoa(part))
		}
		out += p.name[len(p.name)-1:] + ":" + strings.Join(parts, "+")
	}
	return out
}
