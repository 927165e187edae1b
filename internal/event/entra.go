package event

import (
	"strconv"
	"strings"
)

// decodeEntra handles an Event Hubs message {"records": [...]} of Entra ID
// diagnostic logs, or a single record.
func decodeEntra(doc *document, m map[string]any) ([]Event, error) {
	if _, ok := m["records"]; ok {
		d := doc.fields(m, FormatEntra)
		items := d.batch("records")
		if d.err != nil {
			return nil, d.err
		}
		return decodeBatch(doc, FormatEntra, "records", items, one(entraRecord))
	}
	return single(entraRecord(doc, m))
}

// entraRecord maps one record by its category: sign-in logs (all
// *SignInLogs categories), risk detections (UserRiskEvents,
// ServicePrincipalRiskEvents) and risky-user state (RiskyUsers,
// RiskyServicePrincipals). Other categories are unknown_format.
func entraRecord(doc *document, m map[string]any) (Event, *Error) {
	d := doc.fields(m, FormatEntra)
	cat := d.str("category")
	switch {
	case strings.HasSuffix(cat, "SignInLogs"):
		return entraSignIn(d)
	case strings.HasSuffix(cat, "RiskEvents"):
		return entraRiskDetection(d)
	case strings.HasPrefix(cat, "Risky"):
		return entraRiskyUser(d)
	}
	if d.err != nil {
		return Event{}, d.err
	}
	return Event{}, newError(ReasonUnknownFormat, FormatEntra, "category %s is not a sign-in or risk category", quote(cat))
}

func entraCommon(e *Event, d *fields) {
	e.setUser(d.firstIdentity("properties.userPrincipalName", "properties.alternateSignInName"))
	if e.UserID == "" {
		e.UserID = d.identity("properties.userId")
	}
	e.SrcIP = d.firstIP("properties.ipAddress", "callerIpAddress")
	e.Country = countryCode(d.geo("properties.location.countryOrRegion"))
	if e.Country == "" {
		e.Country = countryCode(d.geo("location"))
	}
	e.City = d.geo("properties.location.city")
}

func entraSignIn(d *fields) (Event, *Error) {
	e := Event{Source: string(FormatEntra), Kind: KindSignIn}
	entraCommon(&e, d)
	code, ok := d.num("properties.status.errorCode")
	if !ok {
		code, ok = d.num("resultType")
	}
	e.Outcome = entraOutcome(code, ok, d.str("properties.conditionalAccessStatus"))
	during, _ := riskWord(d.str("properties.riskLevelDuringSignIn"))
	aggregated, _ := riskWord(d.str("properties.riskLevelAggregated"))
	e.Risk = entraRiskState(d, maxRisk(during, aggregated), "remediated", "dismissed", "confirmedSafe")
	var rs reasonSet
	d.strs(&rs, "properties.riskEventTypes_v2")
	if rs.len() == 0 {
		d.strs(&rs, "properties.riskEventTypes")
	}
	if ok && code != 0 {
		rs.add(strconv.FormatFloat(code, 'f', -1, 64))
	}
	rs.into(&e)
	e.Time = d.firstTime(unitGuess, "properties.createdDateTime", "time")
	e.EventID = prefixID(e.Source, d.eventID("properties.id"))
	return e, finish(&e, d, d.m)
}

// entraOutcome maps the sign-in error code: 0 success (blocked when
// Conditional Access failed), CA and lockout codes blocked, MFA-required
// codes challenge, any other code failure.
func entraOutcome(code float64, ok bool, caStatus string) string {
	if !ok {
		return OutcomeUnknown
	}
	switch code {
	case 0:
		if caStatus == "failure" {
			return OutcomeBlocked
		}
		return OutcomeSuccess
	case 53000, 53001, 53002, 53003, 530032, 50053, 50057:
		return OutcomeBlocked
	case 50072, 50074, 50076, 50079:
		return OutcomeChallenge
	}
	return OutcomeFailure
}

// entraRiskState lowers risk to none when riskState says the risk is over.
func entraRiskState(d *fields, risk string, over ...string) string {
	state := d.str("properties.riskState")
	for _, s := range over {
		if state == s {
			return RiskNone
		}
	}
	return risk
}

func entraRiskDetection(d *fields) (Event, *Error) {
	e := Event{Source: string(FormatEntra), Kind: KindAlert, Outcome: OutcomeUnknown}
	entraCommon(&e, d)
	e.Risk, _ = riskWord(d.str("properties.riskLevel"))
	e.Risk = entraRiskState(d, e.Risk, "remediated", "dismissed", "confirmedSafe", "none")
	var rs reasonSet
	d.strs(&rs, "properties.riskEventType")
	if rs.len() == 0 {
		d.strs(&rs, "properties.riskType")
	}
	rs.into(&e)
	e.Time = d.firstTime(unitGuess, "properties.activityDateTime", "properties.detectedDateTime", "time")
	e.EventID = prefixID(e.Source, d.eventID("properties.id"))
	return e, finish(&e, d, d.m)
}

// entraRiskyUser maps a RiskyUsers state record; properties.id is the user
// id there.
func entraRiskyUser(d *fields) (Event, *Error) {
	e := Event{Source: string(FormatEntra), Kind: KindAlert, Outcome: OutcomeUnknown}
	e.UserID = d.identity("properties.id")
	entraCommon(&e, d)
	e.Risk, _ = riskWord(d.str("properties.riskLevel"))
	e.Risk = entraRiskState(d, e.Risk, "remediated", "dismissed", "confirmedSafe", "none")
	var rs reasonSet
	if detail := d.str("properties.riskDetail"); detail != "none" {
		rs.add(detail)
	}
	rs.into(&e)
	e.Time = d.firstTime(unitGuess, "properties.riskLastUpdatedDateTime", "time")
	return e, finish(&e, d, d.m)
}
