package rules

import (
	"time"

	"github.com/tripline-dev/tripline/internal/event"
)

// NoRiskScore is the value of risk_score in a rule's environment when the
// event carries no numeric risk score; has_risk_score is then false. It keeps
// comparisons such as `risk_score >= 80` safe without a nil check.
const NoRiskScore = -1

// env is the environment `when` and `user` expressions run against. Its
// fields mirror event.Event under the same names (the expr tags), with
// risk_score flattened to an int and a few derived values; the function-typed
// fields are the helper functions rule authors call. Each env is bound to one
// evaluation at a time (see evaluator); the functions read the event being
// evaluated through that binding.
type env struct {
	UserEmail    string         `expr:"user_email"`
	UserID       string         `expr:"user_id"`
	UserName     string         `expr:"user_name"`
	OPUserID     string         `expr:"op_user_id"`
	Outcome      string         `expr:"outcome"`
	Risk         string         `expr:"risk"`
	RiskScore    int            `expr:"risk_score"`
	HasRiskScore bool           `expr:"has_risk_score"`
	RiskRank     int            `expr:"risk_rank"`
	Reasons      []string       `expr:"reasons"`
	SrcIP        string         `expr:"src_ip"`
	Country      string         `expr:"country"`
	City         string         `expr:"city"`
	Time         time.Time      `expr:"time"`
	EventID      string         `expr:"event_id"`
	Source       string         `expr:"source"`
	Kind         string         `expr:"kind"`
	Raw          map[string]any `expr:"raw"`
	Identity     string         `expr:"identity"`

	InCIDR      func(ip, cidrOrList string) bool     `expr:"in_cidr"`
	IsPrivateIP func(ip string) bool                 `expr:"is_private_ip"`
	IsPublicIP  func(ip string) bool                 `expr:"is_public_ip"`
	CountryIn   func(country, list string) bool      `expr:"country_in"`
	HasSuffix   func(s, suffix string) bool          `expr:"has_suffix"`
	HasPrefix   func(s, prefix string) bool          `expr:"has_prefix"`
	EmailDomain func(email string) string            `expr:"email_domain"`
	Glob        func(pattern, s string) bool         `expr:"glob"`
	List        func(name string) []string           `expr:"list"`
	InList      func(value, list string) bool        `expr:"in_list"`
	HourIn      func(tz string, from, to int) bool   `expr:"hour_in"`
	WeekdayIn   func(tz string, days ...string) bool `expr:"weekday_in"`
	LocalHour   func(tz string) int                  `expr:"local_hour"`
	Count       func(key, window string) int         `expr:"count"`
	RiskAtLeast func(level string) bool              `expr:"risk_at_least"`
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

// fill copies ev into the environment.
func (e *env) fill(ev *event.Event) {
	e.UserEmail = ev.UserEmail
	e.UserID = ev.UserID
	e.UserName = ev.UserName
	e.OPUserID = ev.OPUserID
	e.Outcome = ev.Outcome
	e.Risk = ev.Risk
	if ev.RiskScore != nil {
		e.RiskScore, e.HasRiskScore = *ev.RiskScore, true
	} else {
		e.RiskScore, e.HasRiskScore = NoRiskScore, false
	}
	e.RiskRank = riskRank(ev.Risk)
	e.Reasons = ev.Reasons
	e.SrcIP = ev.SrcIP
	e.Country = ev.Country
	e.City = ev.City
	e.Time = ev.Time
	e.EventID = ev.EventID
	e.Source = ev.Source
	e.Kind = ev.Kind
	e.Raw = ev.Raw
	e.Identity = defaultIdentity(ev)
}

// clear drops the references an environment holds to the last event.
func (e *env) clear() {
	e.Reasons, e.Raw = nil, nil
}

// templateData returns the values a reason template sees: the environment's
// fields under their expr names, plus rule_id, severity, action, mode and
// user (the resolved identity).
func (e *env) templateData() map[string]any {
	return map[string]any{
		"user_email": e.UserEmail, "user_id": e.UserID, "user_name": e.UserName, "op_user_id": e.OPUserID,
		"outcome": e.Outcome, "risk": e.Risk, "risk_score": e.RiskScore,
		"has_risk_score": e.HasRiskScore, "risk_rank": e.RiskRank, "reasons": e.Reasons,
		"src_ip": e.SrcIP, "country": e.Country, "city": e.City, "time": e.Time,
		"event_id": e.EventID, "source": e.Source, "kind": e.Kind, "raw": e.Raw,
		"identity": e.Identity,
		"rule_id":  "", "severity": "", "action": "", "mode": "", "user": "",
	}
}
