package notify_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tripline-dev/tripline/internal/notify"
)

const testRoutingKey = "R0UTINGKEYpagerdutyTEST00000001"

func TestPagerDutyPagesBreakerTripsAndExhaustedRetriesOnly(t *testing.T) {
	t.Parallel()
	pd := newReceiver(t, reply{Status: 202, Body: `{"status":"success","message":"Event processed","dedup_key":"x"}`})
	h := start(t, notify.Config{PagerDuty: notify.PagerDutyConfig{RoutingKey: testRoutingKey, URL: pd.URL + "/v2/enqueue", Source: "tripline-prod"}})

	h.Notify(t.Context(), sample()) // an action: not paged
	h.Notify(t.Context(), notify.Notification{Type: notify.TypeApprovalRequested, RuleID: "r1", UserID: "U1"})
	h.Notify(t.Context(), notify.Notification{Type: notify.TypeDLQ, RuleID: "r1", UserID: "U1", Class: "cannot_suspend"})
	h.Notify(t.Context(), notify.Notification{Type: notify.TypeBreakerOpen, RuleID: "r1", Scope: "rule:r1", Result: "breaker_open"})
	h.Notify(t.Context(), notify.Notification{Type: notify.TypeDLQ, RuleID: "r1", UserID: "OPUSER7QX", Email: "alice@example.com",
		Class: "retries_exhausted", Attempts: 6, Result: "failed", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"})
	h.close(t)

	reqs := pd.Requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d pages, want 2 (breaker trip, exhausted retries)", len(reqs))
	}
	type page struct {
		RoutingKey  string `json:"routing_key"`
		EventAction string `json:"event_action"`
		DedupKey    string `json:"dedup_key"`
		Payload     struct {
			Summary       string         `json:"summary"`
			Source        string         `json:"source"`
			Severity      string         `json:"severity"`
			Timestamp     string         `json:"timestamp"`
			CustomDetails map[string]any `json:"custom_details"`
		} `json:"payload"`
	}
	var pages []page
	for _, r := range reqs {
		if r.Path != "/v2/enqueue" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("got %s (%s)", r.Path, r.Header.Get("Content-Type"))
		}
		var p page
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatalf("body: %v: %s", err, r.Body)
		}
		if strings.Contains(string(r.Body), "alice@example.com") {
			t.Errorf("email paged without IncludeEmail: %s", r.Body)
		}
		pages = append(pages, p)
	}
	type summary struct{ Key, Action, Dedup, Source, Severity, Type, Class string }
	var got []summary
	for _, p := range pages {
		got = append(got, summary{p.RoutingKey, p.EventAction, p.DedupKey, p.Payload.Source, p.Payload.Severity,
			p.Payload.CustomDetails["type"].(string), func() string { s, _ := p.Payload.CustomDetails["class"].(string); return s }()})
		if p.Payload.Summary == "" || p.Payload.Timestamp == "" {
			t.Errorf("summary %q, timestamp %q: want both", p.Payload.Summary, p.Payload.Timestamp)
		}
	}
	want := []summary{
		{testRoutingKey, "trigger", "tripline/breaker/rule:r1", "tripline-prod", "critical", "breaker_open", ""},
		{testRoutingKey, "trigger", "tripline/user/OPUSER7QX", "tripline-prod", "error", "dlq", "retries_exhausted"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}
	if !strings.Contains(pages[0].Payload.Summary, "rule:r1") || !strings.Contains(pages[1].Payload.Summary, "OPUSER7QX") {
		t.Errorf("summaries do not name the scope and the user: %q, %q", pages[0].Payload.Summary, pages[1].Payload.Summary)
	}
	if pages[1].Payload.CustomDetails["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("custom_details lack the trace id: %v", pages[1].Payload.CustomDetails)
	}
	if got := h.counter(t, "tripline_notifications_sent", "sink", "pagerduty", "type", "breaker_open"); got != 1 {
		t.Errorf("sent{breaker_open} = %d", got)
	}
	if got := h.counter(t, "tripline_notifications_sent", "sink", "pagerduty", "type", "dlq"); got != 1 {
		t.Errorf("sent{dlq} = %d", got)
	}
}

func TestPagerDutyDedupKeyPerUserAndScope(t *testing.T) {
	t.Parallel()
	pd := newReceiver(t, reply{Status: 202})
	h := start(t, notify.Config{EmailHashKey: testHashKey, PagerDuty: notify.PagerDutyConfig{RoutingKey: testRoutingKey, URL: pd.URL}})
	exhausted := func(user, email string) notify.Notification {
		return notify.Notification{Type: notify.TypeDLQ, Class: "retries_exhausted", UserID: user, Email: email, EventID: "evt-9"}
	}
	h.Notify(t.Context(), exhausted("U1", ""))
	h.Notify(t.Context(), exhausted("U1", ""))
	h.Notify(t.Context(), exhausted("", "Bob@Example.com"))
	h.Notify(t.Context(), exhausted("", ""))
	h.Notify(t.Context(), notify.Notification{Type: notify.TypeBreakerOpen})
	h.close(t)
	var keys []string
	for _, r := range pd.Requests() {
		var p struct {
			DedupKey string `json:"dedup_key"`
		}
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, p.DedupKey)
	}
	want := []string{"tripline/user/U1", "tripline/user/U1",
		"tripline/email/" + notify.HashEmail("bob@example.com", testHashKey), "tripline/event/evt-9", "tripline/breaker/global"}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("dedup keys (-want +got):\n%s", diff)
	}
}
