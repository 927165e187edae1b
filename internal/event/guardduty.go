package event

import "strings"

// guardDutyEvent maps a GuardDuty finding, raw or in its EventBridge
// envelope (then Raw is the finding). Severity 1-10 is scaled to a 0-100
// score; the level follows AWS's bands (low < 4, medium < 7, high < 9,
// critical). The reason is the finding type.
func guardDutyEvent(doc *document, m map[string]any) (Event, *Error) {
	d := doc.fields(m, FormatGuardDuty)
	detail := d.detail()
	if d.err != nil {
		return Event{}, d.err
	}
	if detail != nil {
		m = detail
		d = doc.fields(m, FormatGuardDuty)
	}
	e := Event{Source: string(FormatGuardDuty), Kind: KindAlert, Outcome: OutcomeUnknown}
	name := d.identity("resource.accessKeyDetails.userName")
	if name != "" && name != awsHidden {
		e.setUser(name)
	}
	e.UserID = d.identity("resource.accessKeyDetails.principalId")
	if i := strings.LastIndexByte(e.UserID, ':'); i >= 0 && e.UserEmail == "" {
		e.UserEmail = email(e.UserID[i+1:])
	}
	sev, ok := d.num("severity")
	if ok {
		e.RiskScore = d.score("severity", 10)
		e.Risk = guardDutyRisk(sev)
	}
	if d.boolean("service.archived") {
		e.Risk = RiskNone
	}
	var rs reasonSet
	d.strs(&rs, "type")
	rs.into(&e)
	guardDutyRemote(&e, d)
	e.Time = d.firstTime(unitGuess, "service.eventLastSeen", "updatedAt", "createdAt")
	e.EventID = prefixID(e.Source, d.eventID("id"))
	return e, finish(&e, d, m)
}

func guardDutyRisk(sev float64) string {
	switch {
	case sev <= 0:
		return RiskNone
	case sev < 4:
		return RiskLow
	case sev < 7:
		return RiskMedium
	case sev < 9:
		return RiskHigh
	}
	return RiskCritical
}

// guardDutyRemote reads remoteIpDetails of the API-call action, else of
// the network-connection action.
func guardDutyRemote(e *Event, d *fields) {
	for _, p := range [...]string{
		"service.action.awsApiCallAction.remoteIpDetails",
		"service.action.networkConnectionAction.remoteIpDetails",
	} {
		if !has(d.m, p) {
			continue
		}
		e.SrcIP = d.ip(p + ".ipAddressV4")
		e.Country = countryCode(d.geo(p + ".country.countryCode"))
		if e.Country == "" {
			e.Country = countryCode(d.geo(p + ".country.countryName"))
		}
		e.City = d.geo(p + ".city.cityName")
		return
	}
}
