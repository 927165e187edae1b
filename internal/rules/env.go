package rules

import (
	"github.com/tripline-dev/tripline/internal/event"
)

// NoRiskScore is the value of risk_score in a rule's environment when the
// event carries no numeric risk score; has_risk_score is then false. It keeps
// comparisons such as `risk_score >= 80` safe without a nil check.
const NoRiskScore = -1

// env is the environment `when` and `user` expressions run against: a map
// from the names rule authors use to values, so that expr reads a variable
// with one map access and no reflection. Its data entries mirror
// event.Event under the same names (the expr tags), with risk_score
// flattened to an int and a few derived values (see dataNames); its function
// entries are the helper functions rule authors call. Each env is bound to
// one evaluation at a time (see evaluator); the functions read the event
// being evaluated through that binding.
type env map[string]any

// dataNames are the names of an environment's data entries, in the order
// of event.Event.
var dataNames = []string{
	"user_email", "user_id", "user_name", "op_user_id", "outcome", "risk",
	"risk_score", "has_risk_score", "risk_rank", "reasons", "src_ip",
	"country", "city", "time", "event_id", "source", "kind", "raw", "identity",
}

// envTypes is the environment rules are compiled against: every name with
// a value of its type. Evaluation uses environments with the same names and
// types (see newEnv).
func envTypes() map[string]any {
	e := env{}
	e.fill(&event.Event{})
	for name, fn := range (&binding{}).funcs() {
		e[name] = fn
	}
	return e
}

// riskRank maps a risk level to its rank on the ladder none < low < medium <
// high < critical (0 to 4); unknown or empty is -1.
func riskRank(level string) int {
	switch level {
	case event.RiskNone:
		return 0
	case event.RiskLow:
		return 1
	case event.RiskMedium:
		return 2
	case event.RiskHigh:
		return 3
	case event.RiskCritical:
		return 4
	}
	return -1
}

// defaultIdentity is the user a rule acts on when it has no `user`
// expression: the 1Password user id when the event has one, else the
// normalized email.
func defaultIdentity(ev *event.Event) string {
	if ev.OPUserID != "" {
		return ev.OPUserID
	}
	return ev.UserEmail
}

// counterIdentity is the identity count() counts under: the normalized
// email when present (so the same person is counted together across
// sources), else the 1Password user id, else the vendor user id.
func counterIdentity(ev *event.Event) string {
	switch {
	case ev.UserEmail != "":
		return ev.UserEmail
	case ev.OPUserID != "":
		return ev.OPUserID
	}
	return ev.UserID
}

// fill copies ev into the environment and returns the default identity.
func (e env) fill(ev *event.Event) string {
	e["user_email"] = ev.UserEmail
	e["user_id"] = ev.UserID
	e["user_name"] = ev.UserName
	e["op_user_id"] = ev.OPUserID
	e["outcome"] = ev.Outcome
	e["risk"] = ev.Risk
	if ev.RiskScore != nil {
		e["risk_score"], e["has_risk_score"] = *ev.RiskScore, true
	} else {
		e["risk_score"], e["has_risk_score"] = NoRiskScore, false
	}
	e["risk_rank"] = riskRank(ev.Risk)
	e["reasons"] = ev.Reasons
	e["src_ip"] = ev.SrcIP
	e["country"] = ev.Country
	e["city"] = ev.City
	e["time"] = ev.Time
	e["event_id"] = ev.EventID
	e["source"] = ev.Source
	e["kind"] = ev.Kind
	e["raw"] = ev.Raw
	id := defaultIdentity(ev)
	e["identity"] = id
	return id
}

// clear drops the references an environment holds to the last event's
// slices and maps. Its strings may still share memory with the last message
// until the next fill.
func (e env) clear() {
	e["reasons"], e["raw"] = []string(nil), map[string]any(nil)
}

// templateData returns the values a reason template sees: the environment's
// fields under their expr names, plus rule_id, severity, action, mode and
// user (the resolved identity).
func (e env) templateData() map[string]any {
	data := make(map[string]any, len(dataNames)+5)
	e.fillTemplateData(data)
	data["rule_id"], data["severity"], data["action"], data["mode"], data["user"] = "", "", "", "", ""
	return data
}

// fillTemplateData copies the environment's data entries into data.
func (e env) fillTemplateData(data map[string]any) {
	for _, name := range dataNames {
		data[name] = e[name]
	}
}
