package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/secret"
	"github.com/tripline-dev/tripline/internal/version"
)

// PagerDutyEvent is the Events API v2 body the PagerDuty sink sends.
type PagerDutyEvent struct {
	RoutingKey  string           `json:"routing_key"`
	EventAction string           `json:"event_action"`
	DedupKey    string           `json:"dedup_key"`
	Client      string           `json:"client,omitempty"`
	Payload     PagerDutyPayload `json:"payload"`
}

// PagerDutyPayload is the payload of a PagerDutyEvent.
type PagerDutyPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails WebhookPayload `json:"custom_details"`
}

// pagerDutyAccepts reports whether n pages: breaker trips and exhausted
// retries only. Everything else is for chat and webhooks.
func pagerDutyAccepts(n Notification) bool {
	return n.Type == TypeBreakerOpen || (n.Type == TypeDLQ && n.Class == remediate.ClassRetriesExhausted)
}

// pagerDutyDedupKey groups pages into one incident: per breaker scope for
// a trip, per 1Password user (or, when the user is unknown, per email hash
// or event) for exhausted retries.
func pagerDutyDedupKey(n Notification) string {
	if n.Type == TypeBreakerOpen {
		scope := n.Scope
		if scope == "" {
			scope = remediate.ScopeGlobal
		}
		return truncate("tripline/breaker/"+scope, 255)
	}
	switch {
	case n.UserID != "":
		return truncate("tripline/user/"+n.UserID, 255)
	case n.EmailHash != "":
		return truncate("tripline/email/"+n.EmailHash, 255)
	}
	return truncate("tripline/event/"+n.EventID, 255)
}

// pagerDutySink triggers a PagerDuty incident.
type pagerDutySink struct {
	url        string
	routingKey secret.Value
	source     string
	client     *http.Client
	now        func() time.Time
	secrets    []secret.Value // every credential of the Notifier
}

func (p *pagerDutySink) send(ctx context.Context, n Notification) error {
	sev := "error"
	if n.Type == TypeBreakerOpen {
		sev = "critical"
	}
	ev := PagerDutyEvent{
		RoutingKey: p.routingKey.Reveal(), EventAction: "trigger", DedupKey: pagerDutyDedupKey(n), Client: "tripline",
		Payload: PagerDutyPayload{
			Summary: truncate(oneLine(headline(n)), 1024), Source: p.source, Severity: sev,
			Timestamp: n.Time.UTC().Format(time.RFC3339Nano), Component: "tripline", Group: n.RuleID,
			Class: string(n.Type), CustomDetails: payload(n),
		},
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return &SendError{Sink: SinkPagerDuty, msg: fmt.Sprintf("pagerduty: encode event: %v", err)}
	}
	where := displayURL(p.url)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(raw))
	if err != nil {
		return transportError(SinkPagerDuty, where, err, p.secrets...)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", version.UserAgent())
	resp, err := p.client.Do(req)
	if err != nil {
		return transportError(SinkPagerDuty, where, err, p.secrets...)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(SinkPagerDuty, where, resp, p.now(), p.secrets...)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return nil
}
