package event

// ecsEmailPaths are tried in order for the user's email: ECS fields first,
// then integration namespaces (the Elastic Okta integration keeps the full
// login only in okta.actor.alternate_id).
var ecsEmailPaths = [...]string{
	"user.email", "source.user.email", "client.user.email", "user.name",
	"okta.actor.alternate_id", "azure.signinlogs.properties.user_principal_name",
	"google_workspace.login.affected_email_address", "user.target.email",
}

// ecsEvent maps an ECS event (nested objects or literal dotted keys).
func ecsEvent(doc *document, m map[string]any) (Event, *Error) {
	d := doc.fields(m, FormatECS)
	e := Event{Source: string(FormatECS), Kind: KindSignIn}
	ecsCommon(&e, d)
	e.Outcome, _ = outcomeWord(d.str("event.outcome"))
	e.RiskScore = d.score("event.risk_score_norm", 1)
	e.Risk = ecsVendorRisk(d)
	if e.Risk == RiskUnknown && e.RiskScore != nil {
		e.Risk = riskFromScore(*e.RiskScore)
	}
	var rs reasonSet
	d.strs(&rs, "event.action")
	d.strs(&rs, "event.reason")
	ecsVendorReasons(d, &rs)
	rs.into(&e)
	e.Time = d.firstTime(unitGuess, "@timestamp", "event.start", "event.created")
	e.EventID = prefixID(e.Source, d.eventID("event.id"))
	return e, finish(&e, d, m)
}

// ecsCommon reads the ECS user, source address and geo fields.
func ecsCommon(e *Event, d *fields) {
	for _, p := range ecsEmailPaths {
		if em := email(d.identity(p)); em != "" {
			e.UserEmail = em
			break
		}
	}
	e.UserID = d.firstIdentity("user.id", "source.user.id")
	if name := d.identity("user.name"); email(name) == "" {
		e.UserName = name
	}
	e.SrcIP = d.firstIP("source.ip", "client.ip")
	e.Country = countryCode(d.firstGeo("source.geo.country_iso_code", "client.geo.country_iso_code"))
	if e.Country == "" {
		e.Country = countryCode(d.firstGeo("source.geo.country_name", "client.geo.country_name"))
	}
	e.City = d.firstGeo("source.geo.city_name", "client.geo.city_name")
}

// ecsVendorRisk reads vendor risk levels the integrations keep.
func ecsVendorRisk(d *fields) string {
	r, _ := riskWord(d.str("okta.debug_context.debug_data.risk_level"))
	for _, p := range [...]string{
		"azure.signinlogs.properties.risk_level_during_signin",
		"azure.signinlogs.properties.risk_level_aggregated",
	} {
		w, _ := riskWord(d.str(p))
		r = maxRisk(r, w)
	}
	return r
}

func ecsVendorReasons(d *fields, rs *reasonSet) {
	d.strs(rs, "okta.debug_context.debug_data.risk_reasons")
	d.strs(rs, "okta.debug_context.debug_data.risk_behaviors")
	if d.boolean("okta.security_context.is_proxy") {
		rs.add("isProxy")
	}
	if d.boolean("okta.debug_context.debug_data.threat_suspected") {
		rs.add("threatSuspected")
	}
	d.strs(rs, "azure.signinlogs.properties.risk_event_types_v2")
}
