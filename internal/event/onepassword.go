package event

// decodeOnePassword handles a single SignInAttempt and an Events API page
// {"items": [...], "cursor": ..., "has_more": ...}.
func decodeOnePassword(doc *document, m map[string]any) ([]Event, error) {
	if _, ok := m["items"]; ok && !has(m, "uuid") {
		d := doc.fields(m, FormatOnePassword)
		items := d.batch("items")
		if d.err != nil {
			return nil, d.err
		}
		return decodeBatch(doc, FormatOnePassword, "items", items, one(onePasswordEvent))
	}
	return single(onePasswordEvent(doc, m))
}

// onePasswordEvent maps a SignInAttempt. target_user.uuid is the 1Password
// user id (OPUserID and UserID). Reasons are the category and the type.
func onePasswordEvent(doc *document, m map[string]any) (Event, *Error) {
	d := doc.fields(m, FormatOnePassword)
	e := Event{Source: string(FormatOnePassword), Kind: KindSignIn}
	e.UserEmail = email(d.identity("target_user.email"))
	e.UserID = d.identity("target_user.uuid")
	e.OPUserID = e.UserID
	category, typ := d.str("category"), d.str("type")
	e.Outcome = onePasswordOutcome(category)
	e.Risk = onePasswordRisk(category, typ)
	var rs reasonSet
	rs.add(category)
	rs.add(typ)
	rs.into(&e)
	e.SrcIP = d.ip("client.ip_address")
	e.Country = countryCode(d.geo("location.country"))
	if e.Country == "" {
		e.Country = countryCode(d.geo("country"))
	}
	e.City = d.geo("location.city")
	e.Time = d.firstTime(unitGuess, "timestamp")
	e.EventID = prefixID(e.Source, d.eventID("uuid"))
	return e, finish(&e, d, m)
}

// onePasswordOutcome: success and firewall_reported_success are success,
// firewall_failed is blocked, the other *_failed categories are failure.
func onePasswordOutcome(category string) string {
	switch category {
	case "success", "firewall_reported_success":
		return OutcomeSuccess
	case "firewall_failed":
		return OutcomeBlocked
	case "credentials_failed", "mfa_failed", "sso_failed", "modern_version_failed":
		return OutcomeFailure
	}
	return OutcomeUnknown
}

// onePasswordRisk derives a risk level (1Password has none): mfa_failed is
// high (password and Secret Key were right), firewall_failed by
// anonymous_blocked or country_blocked medium, other firewall outcomes,
// credentials_failed and sso_failed low, success and modern_version_failed
// none.
func onePasswordRisk(category, typ string) string {
	switch category {
	case "mfa_failed":
		return RiskHigh
	case "firewall_failed":
		if typ == "anonymous_blocked" || typ == "country_blocked" {
			return RiskMedium
		}
		return RiskLow
	case "credentials_failed", "sso_failed", "firewall_reported_success":
		return RiskLow
	case "success", "modern_version_failed":
		return RiskNone
	}
	return RiskUnknown
}
