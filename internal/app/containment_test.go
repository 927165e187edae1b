package app

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/remediate"
)

// TestPrintContainmentsSaysWhereEachStands: the table says how long until
// each timed suspension ends, how late an overdue one is, and that one is
// ending and why its last attempt failed.
func TestPrintContainmentsSaysWhereEachStands(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	contained := func(id string, ends time.Duration, ct remediate.Containment) remediate.ContainedUser {
		ct.Rule, ct.Email, ct.Since, ct.Ends = "risky_timed", id+"@example.com", now.Add(-time.Hour), now.Add(ends)
		return remediate.ContainedUser{UserID: strings.ToUpper(id), Containment: ct, Times: 2}
	}
	list := []remediate.ContainedUser{
		contained("overdue", -3*time.Minute, remediate.Containment{}),
		contained("ending", -time.Minute, remediate.Containment{EndNonce: "n", EndingSince: now.Add(-time.Minute)}),
		contained("failing", -time.Minute, remediate.Containment{EndNonce: "n", EndingSince: now.Add(-time.Minute), EndFailure: "retries_exhausted: 503"}),
		contained("waiting", 90*time.Minute, remediate.Containment{}),
	}
	var b bytes.Buffer
	if err := PrintContainments(&b, list, false, now); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"overdue by 3m0s\n",
		"ending since 2026-12-07T11:59:00Z\n",
		"ending since 2026-12-07T11:59:00Z; last attempt failed: retries_exhausted: 503",
		"risky_timed  2026-12-07T11:00:00Z  2026-12-07T13:30:00Z  2      ends in 1h30m0s\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := PrintContainments(&b, nil, false, now); err != nil || b.String() != "no timed suspensions in force\n" {
		t.Errorf("empty table: %q, %v", b.String(), err)
	}
}

// TestAnsweredFollowsEachKind: keep is settled once the timed suspension
// is gone, lift once it is gone or its reactivation failed, extend once
// its end moved; an end that started meanwhile settles keep and extend.
func TestAnsweredFollowsEachKind(t *testing.T) {
	t.Parallel()
	now := time.Now()
	was := remediate.ContainedUser{UserID: "U", Containment: remediate.Containment{Since: now, Ends: now.Add(time.Hour)}}
	moved, ending, failed := was, was, was
	moved.Ends = was.Ends.Add(time.Hour)
	ending.EndNonce = "n"
	failed.EndNonce, failed.EndFailure = "n", "retries_exhausted: 503"
	cases := []struct {
		kind    remediate.AnswerKind
		cur     remediate.ContainedUser
		present bool
		want    bool
	}{
		{remediate.AnswerKeep, was, true, false},
		{remediate.AnswerKeep, was, false, true},
		{remediate.AnswerKeep, ending, true, true},
		{remediate.AnswerLift, was, true, false},
		{remediate.AnswerLift, ending, true, false},
		{remediate.AnswerLift, failed, true, true},
		{remediate.AnswerLift, was, false, true},
		{remediate.AnswerExtend, was, true, false},
		{remediate.AnswerExtend, moved, true, true},
		{remediate.AnswerExtend, ending, true, true},
		{remediate.AnswerExtend, was, false, true},
	}
	for i, c := range cases {
		if got := answered(c.kind, was, c.cur, c.present); got != c.want {
			t.Errorf("case %d: %s, present %v, %+v: answered %v, want %v", i, c.kind, c.present, c.cur.Containment, got, c.want)
		}
	}
}
