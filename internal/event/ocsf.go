package event

// OCSF class uids handled.
const (
	ocsfAuthentication   = 3002
	ocsfDetectionFinding = 2004
)

// ocsfEvent maps an OCSF Authentication (3002) or Detection Finding (2004)
// event.
func ocsfEvent(doc *document, m map[string]any) (Event, *Error) {
	d := doc.fields(m, FormatOCSF)
	class, _ := d.num("class_uid")
	switch class {
	case ocsfAuthentication:
		return ocsfAuth(d)
	case ocsfDetectionFinding:
		return ocsfFinding(d)
	}
	if d.err != nil {
		return Event{}, d.err
	}
	return Event{}, newError(ReasonUnknownFormat, FormatOCSF, "class_uid %v is not Authentication (3002) or Detection Finding (2004)", class)
}

func ocsfAuth(d *fields) (Event, *Error) {
	e := Event{Source: string(FormatOCSF), Kind: KindSignIn}
	ocsfUser(&e, d, "user")
	e.Outcome = ocsfOutcome(d)
	e.RiskScore = d.score("user.risk_score", 1)
	e.Risk = ocsfLevel(d, "user.risk_level_id", "user.risk_level")
	if e.Risk == RiskUnknown {
		e.Risk = ocsfSeverity(d)
	}
	if e.Risk == RiskUnknown && e.RiskScore != nil {
		e.Risk = riskFromScore(*e.RiskScore)
	}
	var rs reasonSet
	d.strs(&rs, "status_code")
	d.strs(&rs, "unmapped.eventType")
	rs.into(&e)
	ocsfEndpoint(&e, d, "src_endpoint")
	e.Time = d.firstTime(unitMillis, "time", "time_dt")
	e.EventID = prefixID(e.Source, d.firstEventID("metadata.original_event_uid", "metadata.uid"))
	return e, finish(&e, d, d.m)
}

// ocsfUser reads an OCSF user object: email_addr, else name when it is an
// email; uid is the vendor id.
func ocsfUser(e *Event, d *fields, prefix string) {
	e.UserID = d.identity(prefix + ".uid")
	if em := email(d.identity(prefix + ".email_addr")); em != "" {
		e.UserEmail = em
	}
	if name := d.identity(prefix + ".name"); name != "" {
		e.setUser(name)
	}
}

func ocsfEndpoint(e *Event, d *fields, prefix string) {
	e.SrcIP = d.ip(prefix + ".ip")
	e.Country = countryCode(d.geo(prefix + ".location.country"))
	e.City = d.geo(prefix + ".location.city")
}

func ocsfOutcome(d *fields) string {
	id, ok := d.num("status_id")
	switch {
	case !ok:
	case id == 1:
		return OutcomeSuccess
	case id == 2:
		return OutcomeFailure
	case id == 0:
		return OutcomeUnknown
	}
	o, _ := outcomeWord(d.str("status"))
	return o
}

// ocsfLevel reads a risk_level_id (0 Info, 1 Low, 2 Medium, 3 High,
// 4 Critical, 99 Other: then the label).
func ocsfLevel(d *fields, idPath, labelPath string) string {
	id, ok := d.num(idPath)
	if !ok || id == 99 {
		r, _ := riskWord(d.str(labelPath))
		return r
	}
	switch id {
	case 0:
		return RiskNone
	case 1:
		return RiskLow
	case 2:
		return RiskMedium
	case 3:
		return RiskHigh
	case 4:
		return RiskCritical
	}
	return RiskUnknown
}

// ocsfSeverity reads severity_id (0 Unknown, 1 Informational, 2 Low,
// 3 Medium, 4 High, 5 Critical, 6 Fatal, 99 Other: then the label).
func ocsfSeverity(d *fields) string {
	id, ok := d.num("severity_id")
	if !ok || id == 99 {
		r, _ := riskWord(d.str("severity"))
		return r
	}
	switch id {
	case 1:
		return RiskNone
	case 2:
		return RiskLow
	case 3:
		return RiskMedium
	case 4:
		return RiskHigh
	case 5, 6:
		return RiskCritical
	}
	return RiskUnknown
}

// ocsfFinding maps a Detection Finding: the user and endpoint come from the
// first evidence that has them; a closed finding (activity_id 3) has risk
// none.
func ocsfFinding(d *fields) (Event, *Error) {
	e := Event{Source: string(FormatOCSF), Kind: KindAlert, Outcome: OutcomeUnknown}
	for i, ev := range d.batch("evidences") {
		em, ok := ev.(map[string]any)
		if !ok {
			d.fail("evidences", "element "+itoa(i)+" is "+typeName(ev)+", want an object")
			break
		}
		d.withinAt("evidences["+itoa(i)+"].", em, func() { ocsfEvidence(&e, d) })
	}
	e.RiskScore = d.score("risk_score", 1)
	e.Risk = ocsfLevel(d, "risk_level_id", "risk_level")
	if e.Risk == RiskUnknown {
		e.Risk = ocsfSeverity(d)
	}
	if e.Risk == RiskUnknown && e.RiskScore != nil {
		e.Risk = riskFromScore(*e.RiskScore)
	}
	if act, _ := d.num("activity_id"); act == 3 {
		e.Risk = RiskNone
	}
	var rs reasonSet
	d.strs(&rs, "finding_info.analytic.name")
	d.strs(&rs, "finding_info.types")
	d.strs(&rs, "finding_info.title")
	rs.into(&e)
	e.Time = d.firstTime(unitMillis, "time", "time_dt", "finding_info.last_seen_time")
	e.EventID = prefixID(e.Source, d.firstEventID("finding_info.uid", "metadata.uid"))
	return e, finish(&e, d, d.m)
}

func ocsfEvidence(e *Event, d *fields) {
	if e.UserEmail == "" && e.UserID == "" {
		for _, p := range [...]string{"user", "actor.user"} {
			if has(d.m, p) {
				ocsfUser(e, d, p)
				break
			}
		}
	}
	if e.SrcIP == "" {
		ocsfEndpoint(e, d, "src_endpoint")
	}
}
