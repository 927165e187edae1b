package eventgen_test

import (
	"bufio"
	"bytes"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/event/eventgen"
)

// TestLinesDecode checks that every generated document decodes without
// error, in every format, to one event of about 1 KiB of input, with
// recent times, and that the odd vendor values are really there.
func TestLinesDecode(t *testing.T) {
	t.Parallel()
	const n = 5000
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	if err := eventgen.WriteLines(&buf, n, eventgen.Config{Seed: 3, Now: now}); err != nil {
		t.Fatal(err)
	}
	dec, err := event.NewDecoder(event.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sources := map[string]int{}
	risks := map[string]int{}
	users := map[string]bool{}
	var quotedScore, oddWord int
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) < 600 || len(b) > 1600 {
			t.Errorf("line %d: %d bytes, want about 1 KiB", line, len(b))
		}
		evs, err := dec.Decode(b, event.FormatAuto)
		if err != nil || len(evs) != 1 {
			t.Fatalf("line %d: %d events, %v\n%s", line, len(evs), err, b)
		}
		e := evs[0]
		sources[e.Source]++
		risks[e.Risk]++
		users[e.UserEmail+e.UserName] = true
		if e.Time.Before(now.Add(-24*time.Hour-3*time.Minute)) || e.Time.After(now) {
			t.Errorf("line %d: time %v not in the day before %v\n%s", line, e.Time, now, b)
		}
		if bytes.Contains(b, []byte(`"risk_score":"`)) || bytes.Contains(b, []byte(`"risk_score_norm":"`)) {
			quotedScore++
		}
		if bytes.Contains(b, []byte("elevated")) || bytes.Contains(b, []byte("Sev-2")) {
			oddWord++
		}
	}
	if line != n {
		t.Fatalf("%d lines, want %d", line, n)
	}
	for _, s := range []string{"okta", "entra", "ocsf", "ecs", "elastic-alert", "1password", "gws", "cloudtrail", "guardduty", "splunk", "panther"} {
		if sources[s] == 0 {
			t.Errorf("no %s event (sources %v)", s, sources)
		}
	}
	for _, r := range []string{event.RiskNone, event.RiskLow, event.RiskMedium, event.RiskHigh, event.RiskCritical, event.RiskUnknown} {
		if risks[r] == 0 {
			t.Errorf("no event of risk %s (%v)", r, risks)
		}
	}
	if len(users) < 500 || quotedScore == 0 || oddWord == 0 {
		t.Errorf("%d users, %d quoted scores, %d odd risk words: too little variety", len(users), quotedScore, oddWord)
	}
}

// TestDeterministic checks that a Config gives the same lines.
func TestDeterministic(t *testing.T) {
	t.Parallel()
	cfg := eventgen.Config{Seed: 9, Now: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}
	var a, b bytes.Buffer
	if err := eventgen.WriteLines(&a, 200, cfg); err != nil {
		t.Fatal(err)
	}
	if err := eventgen.WriteLines(&b, 200, cfg); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same Config gave different lines")
	}
}
