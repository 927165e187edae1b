package remediate

import (
	"context"
	"sync"
	"testing"
	"time"
)

// noticeLog records the notices of a Service.
type noticeLog struct {
	mu sync.Mutex
	ns []Notice
}

func (l *noticeLog) add(_ context.Context, n Notice) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ns = append(l.ns, n)
}

// take returns the notices of type typ so far and forgets every notice.
func (l *noticeLog) take(typ NoticeType) []Notice {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Notice
	for _, n := range l.ns {
		if n.Type == typ {
			out = append(out, n)
		}
	}
	l.ns = nil
	return out
}

// noticedService is testService with its notices recorded.
func noticedService(t *testing.T, users ...User) (*Service, *fakeAPI, *time.Time, *noticeLog) {
	t.Helper()
	s, api, _, now := testService(t, Config{Approvals: true}, users...)
	log := &noticeLog{}
	s.notice = log.add
	return s, api, now, log
}

// checkContainmentNotice fails unless ns is one notice naming the timed
// suspension of user that started at since, ended as end, by whom ("":
// no person's answer).
func checkContainmentNotice(t *testing.T, what string, ns []Notice, user string, since time.Time, end, by string) Notice {
	t.Helper()
	if len(ns) != 1 {
		t.Fatalf("%s: %d notices, want 1: %+v", what, len(ns), ns)
	}
	n := ns[0]
	switch {
	case n.Containment == nil || n.Containment.UserID != user || !n.Containment.Since.Equal(since):
		t.Errorf("%s: containment %+v, want the one of %s since %s", what, n.Containment, user, since)
	case n.Outcome == nil || n.Outcome.User.ID != user:
		t.Errorf("%s: outcome %+v, want one for %s", what, n.Outcome, user)
	case n.End != end:
		t.Errorf("%s: end %q, want %q", what, n.End, end)
	case by == "" && n.Answer != nil, by != "" && (n.Answer == nil || n.Answer.By != by):
		t.Errorf("%s: answer %+v, want by %q", what, n.Answer, by)
	}
	return n
}

// TestContainmentNotices: a timed suspension's start is an action notice
// with its end; its extension (by a rule's new match or a person), its
// keep and its end (reactivated, lifted, refused) each notify with the
// user and its start, so a chat message about it can be found and updated.
func TestContainmentNotices(t *testing.T) {
	t.Parallel()
	s, api, now, log := noticedService(t, ann, bob)
	start := *now
	s.Decide(t.Context(), timedOf("r1", "ann@example.com", "ev-1", time.Hour, 2*time.Hour))
	if ns := log.take(NoticeAction); len(ns) != 1 || !ns[0].Outcome.ContainedUntil.Equal(start.Add(time.Hour)) {
		t.Fatalf("start: %+v, want one action notice until %s", ns, start.Add(time.Hour))
	}

	*now = now.Add(10 * time.Minute)
	s.Decide(t.Context(), timedOf("r1", "ann@example.com", "ev-2", time.Hour, 2*time.Hour))
	n := checkContainmentNotice(t, "extended by a rule", log.take(NoticeContainmentExtended), "ANN", start, "", "")
	if want := now.Add(2 * time.Hour); !n.Outcome.ContainedUntil.Equal(want) || !n.Containment.Ends.Equal(want) {
		t.Errorf("extended by a rule until %s (containment %s), want %s", n.Outcome.ContainedUntil, n.Containment.Ends, want)
	}
	s.Answer(t.Context(), personAnswer(t, s, "ann@example.com", AnswerExtend, time.Hour))
	checkContainmentNotice(t, "extended by a person", log.take(NoticeContainmentExtended), "ANN", start, "", "dana")
	s.Answer(t.Context(), personAnswer(t, s, "ann@example.com", AnswerKeep, 0))
	checkContainmentNotice(t, "kept", log.take(NoticeContainmentKept), "ANN", start, EndKept, "dana")

	bobStart := *now
	s.Decide(t.Context(), timedOf("r1", "bob@example.com", "ev-3", time.Hour))
	log.take(NoticeAction)
	*now = now.Add(time.Hour)
	endNow(t, s)
	checkContainmentNotice(t, "ended", log.take(NoticeContainmentEnded), "BOB", bobStart, EndReactivated, "tripline")

	// Lifted by a person.
	*now = now.Add(time.Hour)
	bobStart = *now
	s.Decide(t.Context(), timedOf("r1", "bob@example.com", "ev-4", time.Hour))
	log.take(NoticeAction)
	s.Answer(t.Context(), personAnswer(t, s, "bob@example.com", AnswerLift, 0))
	checkContainmentNotice(t, "lifted", log.take(NoticeContainmentEnded), "BOB", bobStart, EndLifted, "dana")

	// A person reactivated Bob first: the end reactivates nobody.
	*now = now.Add(time.Hour)
	bobStart = *now
	s.Decide(t.Context(), timedOf("r1", "bob@example.com", "ev-5", time.Hour))
	api.mu.Lock()
	api.states["BOB"] = StateActive
	api.mu.Unlock()
	*now = now.Add(time.Hour)
	endNow(t, s)
	checkContainmentNotice(t, "refused (already active)", log.take(NoticeContainmentEnded), "BOB", bobStart, EndRefused, "tripline")

	// The suspension is no longer tripline's last action on Bob.
	*now = now.Add(time.Hour)
	bobStart = *now
	s.Decide(t.Context(), timedOf("r1", "bob@example.com", "ev-6", time.Hour))
	e, _ := s.ledger.User("BOB")
	e.Last.At = e.Last.At.Add(time.Second)
	if err := s.ledger.PutUser(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(time.Hour)
	endNow(t, s)
	checkContainmentNotice(t, "refused (provenance)", log.take(NoticeContainmentEnded), "BOB", bobStart, EndRefused, "tripline")

	// A permanent rule's match makes it permanent: an extension without an end.
	api.mu.Lock()
	api.states["BOB"] = StateActive
	api.mu.Unlock()
	*now = now.Add(time.Hour)
	bobStart = *now
	s.Decide(t.Context(), timedOf("r1", "bob@example.com", "ev-7", time.Hour))
	s.Decide(t.Context(), suspendOf("r2", "bob@example.com", "ev-8"))
	if n := checkContainmentNotice(t, "made permanent", log.take(NoticeContainmentExtended), "BOB", bobStart, "", ""); !n.Outcome.ContainedUntil.IsZero() {
		t.Errorf("made permanent: until %s, want zero", n.Outcome.ContainedUntil)
	}
}
