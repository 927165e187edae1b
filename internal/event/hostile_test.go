package event

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// hostileCase is a message of about DefaultMaxBytes built to make Decode do
// as much work as one message can: huge lists, huge strings, huge objects.
type hostileCase struct {
	name   string
	in     []byte
	reason string // the reason Decode must give ("" for success)
}

// fill appends items made by item(i) between prefix and suffix, separated
// by sep, while the message stays within DefaultMaxBytes.
func fill(prefix, sep, suffix string, item func(i int) string) ([]byte, int) {
	b := []byte(prefix)
	n := 0
	for ; ; n++ {
		s := item(n)
		extra := len(s) + len(suffix)
		if n > 0 {
			extra += len(sep)
		}
		if len(b)+extra > DefaultMaxBytes {
			break
		}
		if n > 0 {
			b = append(b, sep...)
		}
		b = append(b, s...)
	}
	return append(b, suffix...), n
}

const hostileOktaHead = `{"uuid":"h1","published":"2025-10-14T08:41:17Z","eventType":"user.session.start",` +
	`"actor":{"id":"00u1","type":"User","alternateId":"a@example.com"},"outcome":{"result":"SUCCESS"},` +
	`"client":{"ipAddress":"192.0.2.1"},`

// hostileInputs returns the hostile messages of BenchmarkNormalizeHostile
// and TestHostileInputs.
func hostileInputs(tb testing.TB) []hostileCase {
	tb.Helper()
	var cases []hostileCase
	add := func(name, reason string, in []byte, n int) {
		if len(in) > DefaultMaxBytes || len(in) < DefaultMaxBytes*9/10 {
			tb.Fatalf("%s: %d bytes, want about %d", name, len(in), DefaultMaxBytes)
		}
		cases = append(cases, hostileCase{fmt.Sprintf("%s-%dk", name, n/1000), in, reason})
	}

	// About 100k distinct risk reasons, as a JSON array.
	in, n := fill(hostileOktaHead+`"securityContext":{"risk":{"level":"HIGH","reasons":[`, ",", `]}}}`,
		func(i int) string { return fmt.Sprintf(`"r%06d"`, i) })
	add("okta-reasons", "", in, n)

	// The same in the classic debugData.risk string.
	in, n = fill(hostileOktaHead+`"debugContext":{"debugData":{"risk":"{reasons=`, ", ", `, level=HIGH}"}}}`,
		func(i int) string { return fmt.Sprintf("r%06d", i) })
	add("okta-debugdata-reasons", "", in, n)

	// The same in logOnlySecurityData, a JSON document in a string.
	in, n = fill(hostileOktaHead+`"debugContext":{"debugData":{"logOnlySecurityData":"{\"risk\":{\"level\":\"HIGH\",\"reasons\":[`,
		",", `]}}"}}}`, func(i int) string { return fmt.Sprintf(`\"r%06d\"`, i) })
	add("okta-logonly-reasons", "", in, n)

	// A 1 MiB event id made of '<', which JSON encoders escape six-fold.
	head := `{"published":"2025-10-14T08:41:17Z","eventType":"user.session.start",` +
		`"actor":{"id":"00u1","type":"User","alternateId":"a@example.com"},"uuid":"`
	in = []byte(head + strings.Repeat("<", DefaultMaxBytes-len(head)-2) + `"}`)
	add("okta-event-id", ReasonBadField, in, 1000)

	// A 1 MiB email.
	head = `{"uuid":"h1","published":"2025-10-14T08:41:17Z","eventType":"user.session.start",` +
		`"actor":{"id":"00u1","type":"User","alternateId":"a`
	in = []byte(head + strings.Repeat("a", DefaultMaxBytes-len(head)-16) + `@example.com"}}`)
	add("okta-email", ReasonBadField, in, 1000)

	// An ECS event with 50k keys and no event id, so it is hashed.
	keys := func(i int) string { return fmt.Sprintf(`"k%05d":"%09d"`, i, i) }
	in, n = fill(`{"@timestamp":"2025-10-14T08:41:17Z","event":{"kind":"event","outcome":"success"},`+
		`"user":{"email":"a@example.com"},`, ",", "}", keys)
	add("ecs-keys", "", in, n)

	// 50k keys and no known format: the error lists some keys.
	in, n = fill("{", ",", "}", keys)
	add("unknown-keys", ReasonUnknownFormat, in, n)

	// An Okta event hook with one small event per item.
	in, n = fill(`{"eventType":"com.okta.event_hook","data":{"events":[`, ",", `]}}`,
		func(i int) string { return fmt.Sprintf(`{"uuid":"%d","actor":{"alternateId":"u%d@example.com"}}`, i, i%1000) })
	add("okta-hook-events", "", in, n)

	// An Okta event hook whose items all fail: each needs its own raw bytes.
	in, n = fill(`{"eventType":"com.okta.event_hook","data":{"events":[`, ",", `]}}`,
		func(int) string { return `{}` })
	add("okta-hook-empty-items", ReasonNoUser, in, n)

	// An Entra batch of 100k junk items.
	in, n = fill(`{"records":[`, ",", `]}`, func(int) string { return `1` })
	add("entra-junk-items", ReasonNotObject, in, n)

	return cases
}

// BenchmarkNormalizeHostile decodes messages of about 1 MiB built to be as
// costly as possible. The goal is at most 50 ms each.
func BenchmarkNormalizeHostile(b *testing.B) {
	dec := newTestDecoder(b)
	for _, c := range hostileInputs(b) {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.in)))
			for b.Loop() {
				dec.Decode(c.in, FormatAuto)
			}
		})
	}
}

// TestHostileInputs checks the reason Decode gives each hostile message and
// that it stays fast (a loose bound: the race detector slows it down).
func TestHostileInputs(t *testing.T) {
	dec := newTestDecoder(t)
	for _, c := range hostileInputs(t) {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			evs, err := dec.Decode(c.in, FormatAuto)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			if got := Reason(err); got != c.reason {
				t.Fatalf("reason %q, want %q (%.300v)", got, c.reason, err)
			}
			if err != nil && len(err.Error()) > 64<<10 {
				t.Errorf("error message of %d bytes", len(err.Error()))
			}
			for _, e := range evs {
				if len(e.Reasons) > MaxReasons || len(e.EventID) > MaxIdentityLen+len(e.Source)+1 {
					t.Fatalf("event with %d reasons, event id of %d bytes", len(e.Reasons), len(e.EventID))
				}
			}
		})
	}
}
