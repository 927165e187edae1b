package event

import (
	"slices"
	"strings"
)

// decodeOkta handles a single LogEvent, an Event Hook batch (data.events[])
// and an EventBridge (Log Streaming) envelope whose detail is a LogEvent.
func decodeOkta(doc *document, m map[string]any) ([]Event, error) {
	d := doc.fields(m, FormatOkta)
	if d.str("eventType") == "com.okta.event_hook" {
		items := d.batch("data.events")
		if d.err != nil {
			return nil, d.err
		}
		return decodeBatch(doc, FormatOkta, "data.events", items, one(oktaEvent))
	}
	detail := d.detail()
	if d.err != nil {
		return nil, d.err
	}
	if detail != nil {
		return single(oktaEvent(doc, detail))
	}
	return single(oktaEvent(doc, m))
}

// oktaEvent maps one LogEvent. The user is the actor when it is a User,
// else the first target of type User.
func oktaEvent(doc *document, m map[string]any) (Event, *Error) {
	d := doc.fields(m, FormatOkta)
	e := Event{Source: string(FormatOkta), Kind: KindSignIn}
	oktaUser(&e, d)
	e.Outcome = oktaOutcome(d.str("outcome.result"))
	var rs reasonSet
	d.strs(&rs, "eventType")
	d.strs(&rs, "outcome.reason")
	e.Risk = oktaRisk(d, &rs)
	rs.into(&e)
	e.SrcIP = d.ip("client.ipAddress")
	e.Country = countryCode(d.geo("client.geographicalContext.country"))
	e.City = d.geo("client.geographicalContext.city")
	e.Time = d.firstTime(unitGuess, "published")
	e.EventID = prefixID(e.Source, d.eventID("uuid"))
	return e, finish(&e, d, m)
}

// oktaUser reads the user strictly (see fields.identity), including the
// actor's type and the target list, which decide whose identity counts.
func oktaUser(e *Event, d *fields) {
	if t := d.identity("actor.type"); t == "" || t == "User" {
		oktaPrincipal(e, d.identity("actor.alternateId"), d.identity("actor.id"))
		if e.UserEmail != "" || e.UserID != "" {
			return
		}
	}
	for i, t := range d.asArr("target", d.strict("target")) {
		tm, ok := t.(map[string]any)
		if !ok {
			continue
		}
		found := false
		d.withinAt("target["+itoa(i)+"].", tm, func() {
			if d.identity("type") == "User" {
				oktaPrincipal(e, d.identity("alternateId"), d.identity("id"))
				found = true
			}
		})
		if found {
			return
		}
	}
}

func oktaPrincipal(e *Event, login, id string) {
	if id != "" && id != "unknown" {
		e.UserID = id
	}
	if login != "" && login != "unknown" {
		e.setUser(login)
	}
}

// oktaOutcome maps outcome.result: SUCCESS/ALLOW success, FAILURE failure,
// DENY/RATE_LIMIT blocked, CHALLENGE challenge, anything else unknown.
func oktaOutcome(result string) string {
	switch strings.ToUpper(result) {
	case "SUCCESS", "ALLOW":
		return OutcomeSuccess
	case "FAILURE":
		return OutcomeFailure
	case "DENY", "RATE_LIMIT":
		return OutcomeBlocked
	case "CHALLENGE":
		return OutcomeChallenge
	}
	return OutcomeUnknown
}

// oktaRisk reads the typed securityContext.risk, the debugData.risk and
// behaviors strings and the logOnlySecurityData JSON string. The level is
// the highest found; rs gains the risk reasons, the names of POSITIVE
// behaviors, "isProxy" and "threatSuspected".
func oktaRisk(d *fields, rs *reasonSet) string {
	risk, _ := riskWord(d.str("securityContext.risk.level"))
	d.strs(rs, "securityContext.risk.reasons")
	d.strs(rs, "securityContext.risk.detectionName")
	if s := d.str("debugContext.debugData.risk"); s != "" {
		oktaPairs(s, func(k, v string) {
			switch k {
			case "level":
				w, _ := riskWord(v)
				risk = maxRisk(risk, w)
			case "reasons":
				rs.add(v)
			}
		})
	}
	if s := d.str("debugContext.debugData.behaviors"); s != "" {
		oktaPairs(s, func(k, v string) {
			if v == "POSITIVE" {
				rs.add(k)
			}
		})
	}
	oktaUserBehaviors(d, rs)
	risk = oktaLogOnly(d, risk, rs)
	if d.boolean("securityContext.isProxy") {
		rs.add("isProxy")
	}
	if d.boolean("debugContext.debugData.threatSuspected") {
		rs.add("threatSuspected")
	}
	return risk
}

func oktaUserBehaviors(d *fields, rs *reasonSet) {
	for _, b := range d.arr("securityContext.userBehaviors") {
		bm, ok := b.(map[string]any)
		if ok && strAt(bm, "result") == "POSITIVE" {
			rs.add(strAt(bm, "name"))
		}
	}
}

// oktaPairs walks an Okta "{k=v, k=v}" debug string. A value may itself
// hold ", " (risk reasons): a part without '=' continues the previous key.
func oktaPairs(s string, emit func(k, v string)) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "{")
	s = strings.TrimSuffix(s, "}")
	key := ""
	for s != "" {
		part, rest, _ := strings.Cut(s, ",")
		s = rest
		part = strings.TrimSpace(part)
		if k, v, ok := strings.Cut(part, "="); ok {
			key = strings.TrimSpace(k)
			part = v
		}
		if key != "" {
			emit(key, strings.TrimSpace(part))
		}
	}
}

// oktaLogOnly reads debugData.logOnlySecurityData, a JSON string holding
// risk.level, risk.reasons and behaviors {name: value}; a string that is not
// a JSON object is left alone.
func oktaLogOnly(d *fields, risk string, rs *reasonSet) string {
	const path = "debugContext.debugData.logOnlySecurityData"
	s := d.str(path)
	if s == "" {
		return risk
	}
	v, err := parseJSON([]byte(s), 16)
	lo, ok := v.(map[string]any)
	if err != nil || !ok {
		// Only evidence: a value that is not a JSON object stays in Raw.
		return risk
	}
	w, _ := riskWord(strAt(lo, "risk.level"))
	risk = maxRisk(risk, w)
	switch r := mustLookup(lo, "risk.reasons").(type) {
	case string:
		for s := range strings.SplitSeq(r, ",") {
			rs.add(s)
		}
	case []any:
		for _, x := range r {
			if s, ok := x.(string); ok {
				rs.add(s)
			}
		}
	}
	if bm, ok := lo["behaviors"].(map[string]any); ok {
		names := make([]string, 0, len(bm))
		for k, v := range bm {
			if v == "POSITIVE" {
				names = append(names, k)
			}
		}
		slices.Sort(names)
		for _, n := range names {
			rs.add(n)
		}
	}
	return risk
}

func mustLookup(m map[string]any, path string) any {
	v, _ := lookup(m, path)
	return v
}
