package event

import (
	"errors"
	"fmt"
	"strings"
)

// GenericMapping maps the fields of a message with no fixed schema (Splunk,
// Sumo Logic and Panther alert webhooks, home-grown topics) to an Event.
// Each field is a dotted path ("result.user", literal dotted keys and
// nested objects alike); several alternatives may be separated by '|' and
// the first present one wins. Empty paths are not read.
type GenericMapping struct {
	UserEmail, UserID, Outcome, Risk, RiskScore, Reasons, SrcIP, Country, City, Time, EventID, Kind string
	// OutcomeValues maps vendor outcome values (case-insensitive) to an
	// Outcome constant; values not listed go through the built-in
	// synonyms (allow/allowed/ok → success, fail/failed → failure,
	// deny/denied/block → blocked, ...), else unknown.
	OutcomeValues map[string]string
	// RiskValues maps vendor risk or severity values (case-insensitive) to
	// a Risk constant; values not listed go through the built-in synonyms
	// (info → none, moderate → medium, fatal → critical, ...), else unknown.
	RiskValues map[string]string
}

// DefaultGenericMapping returns the mapping used when Config.Generic is nil.
// It reads flat keys (user_email, src_ip, ...), the Splunk webhook's
// result.* row (CIM names: user, src, action, urgency) and Panther's
// alertContext.*, with Panther's severity and alertId and Splunk's
// search_name and sid.
func DefaultGenericMapping() *GenericMapping {
	return &GenericMapping{
		UserEmail: "user_email|email|user|result.user_email|result.email|result.user|result.src_user|" +
			"alertContext.user_email|alertContext.email|alertContext.user|alertContext.actor",
		UserID:    "user_id|result.user_id|alertContext.user_id",
		Outcome:   "outcome|action|result.outcome|result.action|alertContext.outcome|alertContext.action",
		Risk:      "risk|result.risk|result.severity|result.urgency|alertContext.risk|alertContext.severity|severity",
		RiskScore: "risk_score|result.risk_score|alertContext.risk_score",
		Reasons:   "reasons|result.reasons|result.signature|alertContext.reasons|search_name|rule_id|title",
		SrcIP:     "src_ip|client_ip|result.src_ip|result.src|result.client_ip|alertContext.src_ip|alertContext.ip|alertContext.client_ip",
		Country:   "country|src_country|result.src_country|result.country|alertContext.src_country|alertContext.country",
		City:      "city|result.city|alertContext.city",
		Time:      "time|timestamp|@timestamp|result._time|alertContext.time|createdAt",
		EventID:   "event_id|alertId|sid",
		Kind:      "kind",
	}
}

// compiledMapping is a validated GenericMapping with split paths and
// lower-cased value tables.
type compiledMapping struct {
	userEmail, userID, outcome, risk, riskScore, reasons []string
	srcIP, country, city, time, eventID, kind            []string
	outcomeValues, riskValues                            map[string]string
}

func compileMapping(m *GenericMapping) (compiledMapping, error) {
	var errs []error
	split := func(name, s string) []string {
		var out []string
		for p := range strings.SplitSeq(s, "|") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			if strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".") || strings.Contains(p, "..") {
				errs = append(errs, fmt.Errorf("generic mapping %s: path %q has an empty segment", name, p))
			}
			out = append(out, p)
		}
		return out
	}
	c := compiledMapping{
		userEmail: split("UserEmail", m.UserEmail), userID: split("UserID", m.UserID),
		outcome: split("Outcome", m.Outcome), risk: split("Risk", m.Risk),
		riskScore: split("RiskScore", m.RiskScore), reasons: split("Reasons", m.Reasons),
		srcIP: split("SrcIP", m.SrcIP), country: split("Country", m.Country), city: split("City", m.City),
		time: split("Time", m.Time), eventID: split("EventID", m.EventID), kind: split("Kind", m.Kind),
	}
	if len(c.userEmail) == 0 && len(c.userID) == 0 {
		errs = append(errs, errors.New("generic mapping: UserEmail or UserID must be set"))
	}
	var err error
	c.outcomeValues, err = valueTable("OutcomeValues", m.OutcomeValues, outcomeWord)
	errs = append(errs, err)
	c.riskValues, err = valueTable("RiskValues", m.RiskValues, riskWord)
	errs = append(errs, err)
	return c, errors.Join(errs...)
}

// valueTable lower-cases the keys of a value table and checks that every
// value is a normalized constant.
func valueTable(name string, in map[string]string, norm func(string) (string, bool)) (map[string]string, error) {
	out := make(map[string]string, len(in))
	var errs []error
	for k, v := range in {
		n, ok := norm(v)
		if !ok || n != v {
			errs = append(errs, fmt.Errorf("generic mapping %s[%q]: %q is not a normalized value", name, k, v))
		}
		out[strings.ToLower(strings.TrimSpace(k))] = v
	}
	return out, errors.Join(errs...)
}

// first returns the first present path among alternatives ("" if none).
func (c *compiledMapping) first(m map[string]any, alts []string) string {
	for _, p := range alts {
		if has(m, p) {
			return p
		}
	}
	return ""
}

// event maps a message with the generic mapping. The source is "splunk" or
// "panther" for those webhook shapes, else "generic"; the kind is read
// from the Kind path when it says signin or alert, else alert.
func (c *compiledMapping) event(doc *document, m map[string]any) (Event, *Error) {
	d := doc.fields(m, FormatGeneric)
	e := Event{Source: webhookSource(m), Kind: KindAlert}
	if e.Source == "" {
		e.Source = string(FormatGeneric)
	}
	for _, p := range c.userEmail {
		if login := d.identity(p); login != "" {
			e.setUser(login)
		}
		if e.UserEmail != "" {
			break
		}
	}
	if p := c.first(m, c.userID); p != "" {
		e.UserID = d.identity(p)
	}
	e.Outcome = mapValue(c.str(d, c.outcome), c.outcomeValues, outcomeWord)
	e.RiskScore = c.score(d)
	e.Risk = mapValue(c.str(d, c.risk), c.riskValues, riskWord)
	if e.Risk == RiskUnknown && e.RiskScore != nil {
		e.Risk = riskFromScore(*e.RiskScore)
	}
	var rs reasonSet
	if p := c.first(m, c.reasons); p != "" {
		d.strs(&rs, p)
	}
	rs.into(&e)
	if p := c.first(m, c.srcIP); p != "" {
		e.SrcIP = d.ip(p)
	}
	if p := c.first(m, c.country); p != "" {
		e.Country = countryCode(d.geo(p))
	}
	if p := c.first(m, c.city); p != "" {
		e.City = d.geo(p)
	}
	if p := c.first(m, c.time); p != "" {
		e.Time, _ = d.time(p, unitGuess)
	}
	e.EventID = prefixID(e.Source, c.id(d))
	if k := strings.ToLower(c.str(d, c.kind)); k == KindSignIn || k == KindAlert {
		e.Kind = k
	}
	return e, finish(&e, d, m)
}

func (c *compiledMapping) str(d *fields, alts []string) string {
	if p := c.first(d.m, alts); p != "" {
		return d.str(p)
	}
	return ""
}

func (c *compiledMapping) id(d *fields) string {
	if p := c.first(d.m, c.eventID); p != "" {
		return d.eventID(p)
	}
	return ""
}

func (c *compiledMapping) score(d *fields) *int {
	if p := c.first(d.m, c.riskScore); p != "" {
		return d.score(p, 1)
	}
	return nil
}

// mapValue maps a vendor value through the table, then the synonyms.
func mapValue(v string, table map[string]string, norm func(string) (string, bool)) string {
	if n, ok := table[strings.ToLower(v)]; ok {
		return n
	}
	n, _ := norm(v)
	return n
}
