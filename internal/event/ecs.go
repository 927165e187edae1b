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
func ecsEvent(m map[string]any) (Event, *Error) {
	d := &fields{m: m, f: FormatECS}
	e := Event{Source: string(FormatECS), Kind: KindSignIn}
	ecsCommon(&e, d)
	e.Outcome, _ = outcomeWord(d.str("event.outcome"))
	e.RiskScore = d.score("event.risk_score_norm", 1)
	e.Risk = ecsVendorRisk(d)
	if e.Risk == RiskUnknown && e.RiskScore != nil {
		e.Risk = riskFromScore(*e.RiskScore)
	}
	e.Reasons = d.strs(nil, "event.action")
	e.Reasons = d.strs(e.Reasons, "event.reason")
	e.Reasons = ecsVendorReasons(d, e.Reasons)
	e.Time = d.firstTime(unitGuess, "@timestamp", "event.start", "event.created")
	e.EventID = prefixID(e.Source, d.id("event.id"), m)
	return e, finish(&e, d, m)
}

// ecsCommon reads the ECS user, source address and geo fields.
func ecsCommon(e *Event, d *fields) {
	for _, p := range ecsEmailPaths {
		if em := email(d.str(p)); em != "" {
			e.UserEmail = em
			break
		}
	}
	e.UserID = d.firstStr("user.id", "source.user.id")
	if name := d.str("user.name"); email(name) == "" {
		e.UserName = name
	}
	e.SrcIP = d.firstStr("source.ip", "client.ip")
	e.Country = countryCode(d.firstStr("source.geo.country_iso_code", "client.geo.country_iso_code"))
	if e.Country == "" {
		e.Country = countryCode(d.firstStr("source.geo.country_name", "client.geo.country_name"))
	}
	e.City = d.firstStr("source.geo.city_name", "client.geo.city_name")
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

func ecsVendorReasons(d *fields, dst []string) []string {
	dst = d.strs(dst, "okta.debug_context.debug_data.risk_reasons")
	dst = d.strs(dst, "okta.debug_context.debug_data.risk_behaviors")
	if d.boolean("okta.security_context.is_proxy") {
		dst = addReason(dst, "isProxy")
	}
	if d.boolean("okta.debug_context.debug_data.threat_suspected") {
		dst = addReason(dst, "threatSuspected")
	}
	return d.strs(dst, "azure.signinlogs.properties.risk_event_types_v2")
}
