package event

import (
	"fmt"
	"strconv"
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
		if len(in) > DefaultMaxBytes || len(in) < DefaultMaxBytes*7/10 {
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
	add("ecs-keys", ReasonTooLarge, in, n)

	// As many keys as fit, as short as they can be.
	in, n = fill(`{"@timestamp":"2025-10-14T08:41:17Z","event":{"kind":"event","outcome":"success"},`+
		`"user":{"email":"a@example.com"},`, ",", "}", func(i int) string { return `"` + strconv.FormatInt(int64(i), 36) + `":0` })
	add("ecs-short-keys", ReasonTooLarge, in, n)

	// 50k keys and no known format: the error lists some keys.
	in, n = fill("{", ",", "}", keys)
	add("unknown-keys", ReasonTooLarge, in, n)

	// The most keys allowed, in an ECS event without an id (hashed).
	in, n = fill(`{"@timestamp":"2025-10-14T08:41:17Z","event":{"kind":"event","outcome":"success"},`+
		`"user":{"email":"a@example.com"},"x":{`, ",", "}}", func(i int) string {
		if i >= DefaultMaxItems {
			return strings.Repeat(" ", DefaultMaxBytes)
		}
		return fmt.Sprintf(`"k%05d":"%080d"`, i, i)
	})
	add("ecs-max-keys", "", in, n)

	// An Okta event hook of 1 MiB of small events: past MaxItems.
	in, n = fill(`{"eventType":"com.okta.event_hook","data":{"events":[`, ",", `]}}`,
		func(i int) string {
			return fmt.Sprintf(`{"uuid":"%d","actor":{"alternateId":"u%d@example.com"}}`, i, i%1000)
		})
	add("okta-hook-events", ReasonTooLarge, in, n)

	// The same of empty items.
	in, n = fill(`{"eventType":"com.okta.event_hook","data":{"events":[`, ",", `]}}`,
		func(int) string { return `{}` })
	add("okta-hook-empty-items", ReasonTooLarge, in, n)

	// An Entra batch of 1 MiB of junk items.
	in, n = fill(`{"records":[`, ",", `]}`, func(int) string { return `1` })
	add("entra-junk-items", ReasonTooLarge, in, n)

	// A Google activity of 1 MiB of empty events.
	in, n = fill(`{"kind":"admin#reports#activity","id":{"applicationName":"login","time":"2025-10-14T08:41:17Z"},`+
		`"actor":{"email":"a@example.com"},"events":[`, ",", `]}`, func(int) string { return `{}` })
	add("gws-activity-events", ReasonTooLarge, in, n)

	// The heaviest batches within MaxItems: DefaultMaxItems items of about
	// 100 bytes, all good, or all failing (each then needs its own raw
	// bytes), one event per item or many.
	pad := func(i int) string { return strings.Repeat("x", 100-len(fmt.Sprint(i))) }
	in, n = fill(`{"eventType":"com.okta.event_hook","data":{"events":[`, ",", `]}}`, func(i int) string {
		if i >= DefaultMaxItems {
			return strings.Repeat(" ", DefaultMaxBytes)
		}
		return fmt.Sprintf(`{"uuid":"%d","actor":{"alternateId":"u%d@x.io"},"outcome":{"result":"FAILURE","reason":"r%d"}}`, i, i%1000, i)
	})
	add("okta-hook-max-events", "", in, n)

	in, n = fill(`{"eventType":"com.okta.event_hook","data":{"events":[`, ",", `]}}`, func(i int) string {
		if i >= DefaultMaxItems {
			return strings.Repeat(" ", DefaultMaxBytes)
		}
		return fmt.Sprintf(`{"uuid":"%d%s"}`, i, pad(i)[:80])
	})
	add("okta-hook-max-failing", ReasonNoUser, in, n)

	in, n = fill(`{"records":[`, ",", `]}`, func(i int) string {
		if i >= DefaultMaxItems {
			return strings.Repeat(" ", DefaultMaxBytes)
		}
		return `"` + pad(i) + `"`
	})
	add("entra-max-junk", ReasonNotObject, in, n)

	in, n = fill(`{"kind":"admin#reports#activity","id":{"applicationName":"login","time":"2025-10-14T08:41:17Z"},`+
		`"actor":{"email":"a@example.com"},"events":[`, ",", `]}`, func(i int) string {
		if i >= DefaultMaxItems {
			return strings.Repeat(" ", DefaultMaxBytes)
		}
		return fmt.Sprintf(`{"name":"login_failure","parameters":[{"name":"login_failure_type","value":"t%d"}]}`, i)
	})
	add("gws-activity-max-events", "", in, n)

	return cases
}

// BenchmarkNormalizeHostile decodes messages of about 1 MiB built to be as
// costly as possible. The goal is at most 50 ms each. The messages refused
// as too_large are decoded again without MaxItems (uncapped/...), to show
// that the parser and the formats stay linear past it.
func BenchmarkNormalizeHostile(b *testing.B) {
	dec := newTestDecoder(b)
	uncapped, err := NewDecoder(Config{MaxItems: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range hostileInputs(b) {
		run := func(name string, dec *Decoder) {
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(c.in)))
				for b.Loop() {
					dec.Decode(c.in, FormatAuto)
				}
			})
		}
		run(c.name, dec)
		if c.reason == ReasonTooLarge {
			run("uncapped/"+c.name, uncapped)
		}
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
