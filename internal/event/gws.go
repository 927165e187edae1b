package event

import (
	"strings"
	"time"
)

// decodeGWS handles a login activity and a Reports API page
// ({"kind": "admin#reports#activities", "items": [...]}). Each named event
// of an activity gives one normalized event.
func decodeGWS(m map[string]any) ([]Event, error) {
	if _, ok := m["items"]; ok {
		d := &fields{m: m, f: FormatGWS}
		items := d.arr("items")
		if d.err != nil {
			return nil, d.err
		}
		return decodeBatch(FormatGWS, "items", items, many(gwsActivity))
	}
	evs, err := gwsActivity(m)
	if err != nil {
		return nil, err
	}
	return evs, nil
}

// gwsActivity maps every entry of events[] of one activity.
func gwsActivity(m map[string]any) ([]Event, *Error) {
	d := &fields{m: m, f: FormatGWS}
	if app := d.str("id.applicationName"); app != "" && app != "login" {
		return nil, newError(ReasonUnknownFormat, FormatGWS, "applicationName %q is not login", app)
	}
	list := d.arr("events")
	if d.err != nil {
		return nil, d.err
	}
	if len(list) == 0 {
		return nil, newError(ReasonEmptyBatch, FormatGWS, "activity has no events")
	}
	out := make([]Event, 0, len(list))
	for i, it := range list {
		em, ok := it.(map[string]any)
		if !ok {
			return nil, badField(FormatGWS, "events", "element "+itoa(i)+" is "+typeName(it)+", want an object")
		}
		e, err := gwsEvent(d, em)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// gwsParams indexes the parameters of one event by name.
type gwsParams map[string]map[string]any

func gwsEvent(d *fields, ev map[string]any) (Event, *Error) {
	params := gwsParams{}
	for _, p := range asSlice(ev["parameters"]) {
		if pm, ok := p.(map[string]any); ok {
			if n, ok := pm["name"].(string); ok {
				params[n] = pm
			}
		}
	}
	name, _ := ev["name"].(string)
	e := Event{Source: string(FormatGWS), Kind: KindSignIn}
	e.setUser(d.firstStr("actor.email"))
	if affected := params.str(d, "affected_email_address"); affected != "" {
		e.UserEmail = email(affected)
	}
	e.UserID = d.str("actor.profileId")
	suspicious := params.boolean(d, "is_suspicious")
	e.Outcome, e.Risk = gwsOutcomeRisk(name, suspicious)
	e.Reasons = addReason([]string{}, name)
	e.Reasons = addReason(e.Reasons, params.str(d, "login_failure_type"))
	if suspicious {
		e.Reasons = addReason(e.Reasons, "is_suspicious")
	}
	if strings.HasPrefix(name, "account_") || strings.HasPrefix(name, "suspicious_") || name == "gov_attack_warning" {
		e.Kind = KindAlert
	}
	e.SrcIP = d.str("ipAddress")
	e.Country = countryCode(d.str("networkInfo.regionCode"))
	e.Time = params.time(d, "login_timestamp")
	if e.Time.IsZero() {
		e.Time = d.firstTime(unitGuess, "id.time")
	}
	if uq := d.id("id.uniqueQualifier"); uq != "" {
		e.EventID = "gws:" + uq + ":" + d.str("id.time") + ":" + name
	}
	return e, finish(&e, d, d.m)
}

// gwsOutcomeRisk maps the event name and is_suspicious.
func gwsOutcomeRisk(name string, suspicious bool) (string, string) {
	switch {
	case name == "account_disabled_password_leak", name == "account_disabled_hijacked":
		return OutcomeBlocked, RiskCritical
	case name == "gov_attack_warning":
		return OutcomeUnknown, RiskCritical
	case strings.HasPrefix(name, "account_disabled_"):
		return OutcomeBlocked, RiskHigh
	case strings.HasPrefix(name, "suspicious_"), name == "risky_sensitive_action_blocked":
		return OutcomeBlocked, RiskHigh
	case name == "login_success", name == "risky_sensitive_action_allowed":
		return OutcomeSuccess, suspiciousRisk(suspicious, RiskHigh)
	case name == "login_failure":
		return OutcomeFailure, suspiciousRisk(suspicious, RiskMedium)
	case name == "login_challenge", name == "login_verification":
		return OutcomeChallenge, suspiciousRisk(suspicious, RiskMedium)
	}
	return OutcomeUnknown, suspiciousRisk(suspicious, RiskMedium)
}

func suspiciousRisk(suspicious bool, level string) string {
	if suspicious {
		return level
	}
	return RiskNone
}

func (p gwsParams) str(d *fields, name string) string {
	pm := p[name]
	if pm == nil {
		return ""
	}
	var s string
	d.within(pm, func() { s = d.str("value") })
	return s
}

func (p gwsParams) boolean(d *fields, name string) bool {
	pm := p[name]
	if pm == nil {
		return false
	}
	var b bool
	d.within(pm, func() { b = d.boolean("boolValue") })
	return b
}

// time reads an intValue parameter holding microseconds since the epoch.
func (p gwsParams) time(d *fields, name string) (t time.Time) {
	pm := p[name]
	if pm == nil {
		return t
	}
	d.within(pm, func() { t, _ = d.time("intValue", unitMicros) })
	return t
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}
