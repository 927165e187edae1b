package event

import (
	"strconv"
	"strings"
)

// decodeEntra handles an Event Hubs message {"records": [...]} of Entra ID
// diagnostic logs, or a single record.
func decodeEntra(m map[string]any) ([]Event, error) {
	if _, ok := m["records"]; ok {
		d := &fields{m: m, f: FormatEntra}
		items := d.arr("records")
		if d.err != nil {
			return nil, d.err
		}
		return decodeBatch(FormatEntra, "records", items, one(entraRecord))
	}
	return single(entraRecord(m))
}

// entraRecord maps one record by its category: sign-in logs (all
// *SignInLogs categories), risk detections (UserRiskEvents,
// ServicePrincipalRiskEvents) and risky-user state (RiskyUsers,
// RiskyServicePrincipals). Other categories are unknown_format.
func entraRecord(m map[string]any) (Event, *Error) {
	d := &fields{m: m, f: FormatEntra}
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
	return Event{}, newError(ReasonUnknownFormat, FormatEntra, "category %q is not a sign-in or risk category", cat)
}

func entraCommon(e *Event, d *fields) {
	e.setUser(d.firstStr("properties.userPrincipalName", "properties.alternateSignInName"))
	if e.UserID == "" {
		e.UserID = d.str("properties.userId")
	}
	e.SrcIP = d.firstStr("properties.ipAddress", "callerIpAddress")
	e.Country = countryCode(d.str("properties.location.countryOrRegion"))
	if e.Country == "" {
		e.Country = countryCode(d.str("location"))
	}
	e.City = d.str("properties.location.city")
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
	e.Reasons = d.strs(nil, "properties.riskEventTypes_v2")
	if len(e.Reasons) == 0 {
		e.Reasons = d.strs(e.Reasons, "properties.riskEventTypes")
	}
	if ok && code != 0 {
		e.Reasons = addReason(e.Reasons, strconv.FormatFloat(code, 'f', -1, 64))
	}
	e.Time = d.firstTime(unitGuess, "properties.createdDateTime", "time")
	e.EventID = prefixID(e.Source, d.str("properties.id"), d.m)
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
	e.Reasons = d.strs(nil, "properties.riskEventType")
	if len(e.Reasons) == 0 {
		e.Reasons = d.strs(e.Reasons, "properties.riskType")
	}
	e.Time = d.firstTime(unitGuess, "properties.activityDateTime", "properties.detectedDateTime", "time")
	e.EventID = prefixID(e.Source, d.str("properties.id"), d.m)
	return e, finish(&e, d, d.m)
}

// entraRiskyUser maps a RiskyUsers state record; properties.id is the user
// id there.
func entraRiskyUser(d *fields) (Event, *Error) {
	e := Event{Source: string(FormatEntra), Kind: KindAlert, Outcome: OutcomeUnknown}
	e.UserID = d.str("properties.id")
	entraCommon(&e, d)
	e.Risk, _ = riskWord(d.str("properties.riskLevel"))
	e.Risk = entraRiskState(d, e.Risk, "remediated", "dismissed", "confirmedSafe", "none")
	if detail := d.str("properties.riskDetail"); detail != "none" {
		e.Reasons = addReason(e.Reasons, detail)
	}
	e.Time = d.firstTime(unitGuess, "properties.riskLastUpdatedDateTime", "time")
	return e, finish(&e, d, d.m)
}
