package event

// finish completes an event built from d: it reports the first field error,
// rejects an event without any user, fills defaults and attaches raw.
func finish(e *Event, d *fields, raw map[string]any) *Error {
	if d.err != nil {
		return d.err
	}
	if e.UserEmail == "" && e.UserID == "" && e.OPUserID == "" && e.UserName == "" {
		return newError(ReasonNoUser, d.f, "no user: neither an email nor a user id")
	}
	if e.Outcome == "" {
		e.Outcome = OutcomeUnknown
	}
	if e.Risk == "" {
		e.Risk = RiskUnknown
	}
	if e.Reasons == nil {
		e.Reasons = []string{}
	}
	if e.EventID == "" {
		e.EventID = hashID(e.Source, raw)
	}
	e.Raw = raw
	return nil
}

// setUser fills the email, and the login as UserName when it is not an
// email.
func (e *Event) setUser(login string) {
	if em := email(login); em != "" {
		if e.UserEmail == "" {
			e.UserEmail = em
		}
		return
	}
	if e.UserName == "" {
		e.UserName = login
	}
}
