package rules

import (
	"testing"
	"testing/fstest"
	"time"

	"github.com/tripline-dev/tripline/internal/event"
)

func TestSanity(t *testing.T) {
	fsys := fstest.MapFS{"a.yaml": {Data: []byte(`
lists:
  trusted_networks: [10.0.0.0/8]
rules:
  - id: r1
    severity: high
    action: suspend
    when: outcome == "failure" && !in_cidr(src_ip, "trusted_networks") && count("mfa_fail", "10m") >= 3
    reason: "{{ .user_email }} failed {{ .rule_id }}"
`)}}
	s, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	ev := event.Event{UserEmail: "a@example.com", Outcome: "failure", SrcIP: "203.0.113.1", Time: time.Unix(1000, 0), EventID: "x1"}
	for i := range 3 {
		ev.EventID = string(rune('a' + i))
		ev.Time = ev.Time.Add(time.Minute)
		r := s.Evaluate(&ev)
		t.Logf("%d %+v", i, r)
	}
}
