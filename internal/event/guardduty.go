package event

import "strings"

// guardDutyEvent maps a GuardDuty finding, raw or in its EventBridge
// envelope (then Raw is the finding). Severity 1-10 is scaled to a 0-100
// score; the level follows AWS's bands (low < 4, medium < 7, high < 9,
// critical). The reason is the finding type.
func guardDutyEvent(m map[string]any) (Event, *Error) {
	if detail, ok := m["detail"].(map[string]any); ok && has(m, "detail-type") {
		m = detail
	}
	d := &fields{m: m, f: FormatGuardDuty}
	e := Event{Source: string(FormatGuardDuty), Kind: KindAlert, Outcome: OutcomeUnknown}
	name := d.str("resource.accessKeyDetails.userName")
	if name != "" && name != awsHidden {
		e.setUser(name)
	}
	e.UserID = d.str("resource.accessKeyDetails.principalId")
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
	e.Reasons = d.strs([]string{}, "type")
	guardDutyRemote(&e, d)
	e.Time = d.firstTime(unitGuess, "service.eventLastSeen", "updatedAt", "createdAt")
	e.EventID = prefixID(e.Source, d.str("id"), m)
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
		e.SrcIP = d.str(p + ".ipAddressV4")
		e.Country = countryCode(d.str(p + ".country.countryCode"))
		if e.Country == "" {
			e.Country = countryCode(d.str(p + ".country.countryName"))
		}
		e.City = d.str(p + ".city.cityName")
		return
	}
}
