package event

import (
	"strings"
	"time"
)

// decodeGWS handles a login or admin activity and a Reports API page
// ({"kind": "admin#reports#activities", "items": [...]}). Each named event
// of an activity gives one normalized event.
func decodeGWS(doc *document, m map[string]any) ([]Event, error) {
	if _, ok := m["items"]; ok {
		d := doc.fields(m, FormatGWS)
		items := d.batch("items")
		if d.err != nil {
			return nil, d.err
		}
		return decodeBatch(doc, FormatGWS, "items", items, many(gwsActivity))
	}
	evs, err := gwsActivity(doc, m)
	if err != nil {
		return nil, err
	}
	return evs, nil
}

// gwsEventFunc completes e, which holds what the activity gives, with the
// event ev (called name) of the activity read by d; activityTime gives
// id.time.
type gwsEventFunc func(e *Event, d *fields, ev map[string]any, name string, activityTime func() time.Time) *Error

// gwsApplications names the applications read, for the error about others.
const gwsApplications = "login, admin"

// gwsActivity maps every entry of events[] of one activity of the login
// application (an activity without applicationName is read as one; see
// gwsLoginEvent) or of the admin application (see gwsAdminEvent). Other
// applications are unknown_format. What the events share (the actor, the
// address, the id) is read once.
//
// The event id is "gws:<uniqueQualifier>:<id.time>:<event name>"; an
// activity without a uniqueQualifier is hashed once, and its events after
// the first get "-<index>" after the hash, so that they stay distinct.
func gwsActivity(doc *document, m map[string]any) ([]Event, *Error) {
	d := doc.fields(m, FormatGWS)
	base := Event{Source: string(FormatGWS)}
	var each gwsEventFunc
	switch app := d.str("id.applicationName"); app {
	case "", "login":
		base.Kind, each = KindSignIn, gwsLoginEvent
	case "admin":
		base.Kind, each = KindActivity, gwsAdminEvent
	default:
		return nil, newError(ReasonUnknownFormat, FormatGWS, "applicationName %s is not one tripline reads (%s)", quote(app), gwsApplications)
	}
	list := d.arr("events")
	if d.err != nil {
		return nil, d.err
	}
	if len(list) == 0 {
		return nil, newError(ReasonEmptyBatch, FormatGWS, "activity has no events")
	}
	if doc.tooMany(len(list)) {
		return nil, newError(ReasonTooLarge, FormatGWS, "activity has %d events, more than the %d allowed", len(list), doc.maxItems)
	}
	base.setUser(d.identity("actor.email"))
	base.UserID = d.identity("actor.profileId")
	base.SrcIP = d.ip("ipAddress")
	base.Country = countryCode(d.geo("networkInfo.regionCode"))
	uq, idTime, hash := d.eventID("id.uniqueQualifier"), "", ""
	if uq != "" {
		idTime = d.str("id.time")
	}
	if d.err != nil {
		return nil, d.err
	}
	if uq == "" {
		hash = hashID(base.Source, m)
	}
	// id.time is read once, and only for an event without login_timestamp.
	var activityTime *time.Time
	timeOf := func() time.Time {
		if activityTime == nil {
			t := d.firstTime(unitGuess, "id.time")
			activityTime = &t
		}
		return *activityTime
	}
	out := make([]Event, 0, len(list))
	for i, it := range list {
		em, ok := it.(map[string]any)
		if !ok {
			return nil, badField(FormatGWS, "events", "element "+itoa(i)+" is "+typeName(it)+", want an object")
		}
		e := base
		name, _ := em["name"].(string)
		switch {
		case uq != "":
			e.EventID = "gws:" + uq + ":" + idTime + ":" + name
		case i == 0:
			e.EventID = hash
		default:
			e.EventID = hash + "-" + itoa(i)
		}
		if err := each(&e, d, em, name, timeOf); err != nil {
			return nil, err
		}
		out = appendEvents(out, e)
	}
	return out, nil
}

// gwsLoginEvent is the gwsEventFunc of login activities: the user is the
// affected_email_address parameter, else the actor; account warnings
// (account_*, suspicious_*, gov_attack_warning) are alerts.
func gwsLoginEvent(e *Event, d *fields, ev map[string]any, name string, activityTime func() time.Time) *Error {
	params := gwsParams(asSlice(ev["parameters"]))
	if affected := params.identity(d, "affected_email_address"); affected != "" {
		e.UserEmail = email(affected)
	}
	suspicious := params.boolean(d, "is_suspicious")
	e.Outcome, e.Risk = gwsOutcomeRisk(name, suspicious)
	var rs reasonSet
	rs.add(name)
	rs.add(params.str(d, "login_failure_type"))
	if suspicious {
		rs.add("is_suspicious")
	}
	rs.into(e)
	if strings.HasPrefix(name, "account_") || strings.HasPrefix(name, "suspicious_") || name == "gov_attack_warning" {
		e.Kind = KindAlert
	}
	e.Time = params.time(d, "login_timestamp")
	if e.Time.IsZero() {
		e.Time = activityTime()
	}
	return finish(e, d, d.m)
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

// gwsParams is the parameters list of one event: objects with a name and
// a value. Events have a handful, so a parameter is found by a scan.
type gwsParams []any

// find returns the parameter called name, the last one when it is
// repeated, and how many there are.
func (p gwsParams) find(name string) (map[string]any, int) {
	var found map[string]any
	n := 0
	for _, x := range p {
		if pm, ok := x.(map[string]any); ok {
			if s, ok := pm["name"].(string); ok && s == name {
				found = pm
				n++
			}
		}
	}
	return found, n
}

func (p gwsParams) str(d *fields, name string) string {
	pm, _ := p.find(name)
	if pm == nil {
		return ""
	}
	var s string
	d.within(pm, func() { s = d.str("value") })
	return s
}

// identity reads a parameter that names the user: strictly, so a
// parameter given twice is a bad_field, as a repeated key would be.
func (p gwsParams) identity(d *fields, name string) string {
	pm, n := p.find(name)
	if n > 1 {
		d.fail("parameters", "parameter "+quote(name)+" appears "+itoa(n)+" times; refused, the sender could choose which one counts")
		return ""
	}
	if pm == nil {
		return ""
	}
	var s string
	d.withinAt("parameters["+quote(name)+"].", pm, func() { s = d.identity("value") })
	return s
}

func (p gwsParams) boolean(d *fields, name string) bool {
	pm, _ := p.find(name)
	if pm == nil {
		return false
	}
	var b bool
	d.within(pm, func() { b = d.boolean("boolValue") })
	return b
}

// time reads an intValue parameter holding microseconds since the epoch.
func (p gwsParams) time(d *fields, name string) (t time.Time) {
	pm, _ := p.find(name)
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
