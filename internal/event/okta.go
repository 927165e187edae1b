package event

import (
	"slices"
	"strings"
)

// decodeOkta handles a single LogEvent, an Event Hook batch (data.events[])
// and an EventBridge (Log Streaming) envelope whose detail is a LogEvent.
func decodeOkta(m map[string]any) ([]Event, error) {
	d := &fields{m: m, f: FormatOkta}
	if d.str("eventType") == "com.okta.event_hook" {
		items := d.arr("data.events")
		if d.err != nil {
			return nil, d.err
		}
		return decodeBatch(FormatOkta, "data.events", items, one(oktaEvent))
	}
	if detail, ok := m["detail"].(map[string]any); ok && has(m, "detail-type") {
		return single(oktaEvent(detail))
	}
	return single(oktaEvent(m))
}

// oktaEvent maps one LogEvent. The user is the actor when it is a User,
// else the first target of type User.
func oktaEvent(m map[string]any) (Event, *Error) {
	d := &fields{m: m, f: FormatOkta}
	e := Event{Source: string(FormatOkta), Kind: KindSignIn}
	oktaUser(&e, d)
	e.Outcome = oktaOutcome(d.str("outcome.result"))
	e.Reasons = d.strs(nil, "eventType")
	e.Reasons = d.strs(e.Reasons, "outcome.reason")
	e.Risk, e.Reasons = oktaRisk(d, e.Reasons)
	e.SrcIP = d.str("client.ipAddress")
	e.Country = countryCode(d.str("client.geographicalContext.country"))
	e.City = d.str("client.geographicalContext.city")
	e.Time = d.firstTime(unitGuess, "published")
	e.EventID = prefixID(e.Source, d.str("uuid"), m)
	return e, finish(&e, d, m)
}

func oktaUser(e *Event, d *fields) {
	if t := d.str("actor.type"); t == "" || t == "User" {
		oktaPrincipal(e, d.str("actor.alternateId"), d.str("actor.id"))
		if e.UserEmail != "" || e.UserID != "" {
			return
		}
	}
	for _, t := range d.arr("target") {
		tm, ok := t.(map[string]any)
		if ok && strAt(tm, "type") == "User" {
			oktaPrincipal(e, strAt(tm, "alternateId"), strAt(tm, "id"))
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
// the highest found; reasons gain the risk reasons, the names of POSITIVE
// behaviors, "isProxy" and "threatSuspected".
func oktaRisk(d *fields, reasons []string) (string, []string) {
	risk, _ := riskWord(d.str("securityContext.risk.level"))
	reasons = d.strs(reasons, "securityContext.risk.reasons")
	reasons = d.strs(reasons, "securityContext.risk.detectionName")
	if s := d.str("debugContext.debugData.risk"); s != "" {
		oktaPairs(s, func(k, v string) {
			switch k {
			case "level":
				w, _ := riskWord(v)
				risk = maxRisk(risk, w)
			case "reasons":
				reasons = addReason(reasons, v)
			}
		})
	}
	if s := d.str("debugContext.debugData.behaviors"); s != "" {
		oktaPairs(s, func(k, v string) {
			if v == "POSITIVE" {
				reasons = addReason(reasons, k)
			}
		})
	}
	reasons = oktaUserBehaviors(d, reasons)
	risk, reasons = oktaLogOnly(d, risk, reasons)
	if d.boolean("securityContext.isProxy") {
		reasons = addReason(reasons, "isProxy")
	}
	if d.boolean("debugContext.debugData.threatSuspected") {
		reasons = addReason(reasons, "threatSuspected")
	}
	return risk, reasons
}

func oktaUserBehaviors(d *fields, reasons []string) []string {
	for _, b := range d.arr("securityContext.userBehaviors") {
		bm, ok := b.(map[string]any)
		if ok && strAt(bm, "result") == "POSITIVE" {
			reasons = addReason(reasons, strAt(bm, "name"))
		}
	}
	return reasons
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
// risk.level, risk.reasons and behaviors {name: value}.
func oktaLogOnly(d *fields, risk string, reasons []string) (string, []string) {
	const path = "debugContext.debugData.logOnlySecurityData"
	s := d.str(path)
	if s == "" {
		return risk, reasons
	}
	v, err := parseJSONText(s, 16)
	lo, ok := v.(map[string]any)
	if err != nil || !ok {
		d.fail(path, "want a JSON object in a string")
		return risk, reasons
	}
	w, _ := riskWord(strAt(lo, "risk.level"))
	risk = maxRisk(risk, w)
	switch rs := mustLookup(lo, "risk.reasons").(type) {
	case string:
		for r := range strings.SplitSeq(rs, ",") {
			reasons = addReason(reasons, r)
		}
	case []any:
		for _, r := range rs {
			if s, ok := r.(string); ok {
				reasons = addReason(reasons, s)
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
			reasons = addReason(reasons, n)
		}
	}
	return risk, reasons
}

func mustLookup(m map[string]any, path string) any {
	v, _ := lookup(m, path)
	return v
}
