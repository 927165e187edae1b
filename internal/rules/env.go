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
// entries are most of the helper functions rule authors call (see funcs).
// Each env is bound to one evaluation at a time (see evaluator) through the
// binding it holds under bindingName; the helper functions read the event
// being evaluated through it.
type env map[string]any

// dataNames are the names of an environment's data entries, in the order
// of event.Event.
var dataNames = dataNamesArray[:]

var dataNamesArray = [...]string{
	"user_email", "user_id", "user_name", "op_user_id", "outcome", "risk",
	"risk_score", "has_risk_score", "risk_rank", "reasons", "src_ip",
	"country", "city", "time", "event_id", "source", "kind", "raw", "identity",
	"reasons_truncated",
}

// envFields is a set of data entries of an environment, one bit per name
// of dataNames. Evaluation fills only the entries the loaded rules read.
type envFields uint32

// allEnvFields holds every data entry.
const allEnvFields = envFields(1)<<len(dataNamesArray) - 1

// Bits of the data entries, in the order of dataNames.
const (
	fUserEmail envFields = 1 << iota
	fUserID
	fUserName
	fOPUserID
	fOutcome
	fRisk
	fRiskScore
	fHasRiskScore
	fRiskRank
	fReasons
	fSrcIP
	fCountry
	fCity
	fTime
	fEventID
	fSource
	fKind
	fRaw
	fIdentity
	fReasonsTruncated
)

// envFieldOf returns the bit of a data entry name, 0 for other names.
func envFieldOf(name string) envFields {
	for i, n := range dataNames {
		if n == name {
			return 1 << i
		}
	}
	return 0
}

// envTypes is the environment rules are compiled against: every name with
// a value of its type. Evaluation uses environments with the same names and
// types (see newEnv).
func envTypes() map[string]any {
	e := env{}
	e.fill(&event.Event{}, allEnvFields)
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

// fill copies the data entries of ev in used into the environment and
// returns the default identity. Entries not in used keep their previous
// values: no expression evaluated with this environment reads them.
func (e env) fill(ev *event.Event, used envFields) string {
	if used&fUserEmail != 0 {
		e["user_email"] = ev.UserEmail
	}
	if used&fUserID != 0 {
		e["user_id"] = ev.UserID
	}
	if used&fUserName != 0 {
		e["user_name"] = ev.UserName
	}
	if used&fOPUserID != 0 {
		e["op_user_id"] = ev.OPUserID
	}
	if used&fOutcome != 0 {
		e["outcome"] = boxed(ev.Outcome)
	}
	if used&fRisk != 0 {
		e["risk"] = boxed(ev.Risk)
	}
	if used&(fRiskScore|fHasRiskScore) != 0 {
		if ev.RiskScore != nil {
			e["risk_score"], e["has_risk_score"] = *ev.RiskScore, true
		} else {
			e["risk_score"], e["has_risk_score"] = NoRiskScore, false
		}
	}
	if used&fRiskRank != 0 {
		e["risk_rank"] = riskRank(ev.Risk)
	}
	if used&fReasons != 0 {
		e["reasons"] = ev.Reasons
	}
	if used&fReasonsTruncated != 0 {
		e["reasons_truncated"] = ev.ReasonsTruncated
	}
	if used&fSrcIP != 0 {
		e["src_ip"] = ev.SrcIP
	}
	if used&fCountry != 0 {
		e["country"] = ev.Country
	}
	if used&fCity != 0 {
		e["city"] = ev.City
	}
	if used&fTime != 0 {
		e["time"] = ev.Time
	}
	if used&fEventID != 0 {
		e["event_id"] = ev.EventID
	}
	if used&fSource != 0 {
		e["source"] = boxedSource(ev.Source)
	}
	if used&fKind != 0 {
		e["kind"] = boxed(ev.Kind)
	}
	if used&fRaw != 0 {
		e["raw"] = ev.Raw
	}
	id := defaultIdentity(ev)
	if used&fIdentity != 0 {
		e["identity"] = id
	}
	return id
}

// Interfaces holding the values outcome, risk, kind and source usually
// take, so that filling an environment with them does not allocate.
var (
	boxSuccess   any = event.OutcomeSuccess
	boxFailure   any = event.OutcomeFailure
	boxBlocked   any = event.OutcomeBlocked
	boxChallenge any = event.OutcomeChallenge
	boxUnknown   any = event.OutcomeUnknown // also event.RiskUnknown
	boxNone      any = event.RiskNone
	boxLow       any = event.RiskLow
	boxMedium    any = event.RiskMedium
	boxHigh      any = event.RiskHigh
	boxCritical  any = event.RiskCritical
	boxSignIn    any = event.KindSignIn
	boxAlert     any = event.KindAlert
	boxFormats       = func() map[string]any {
		m := make(map[string]any)
		for _, f := range event.Formats() {
			m[string(f)] = string(f)
		}
		return m
	}()
)

// boxed returns s as an interface, without allocating for the usual
// values of outcome, risk, kind and source.
func boxed(s string) any {
	switch s {
	case event.OutcomeSuccess:
		return boxSuccess
	case event.OutcomeFailure:
		return boxFailure
	case event.OutcomeBlocked:
		return boxBlocked
	case event.OutcomeChallenge:
		return boxChallenge
	case event.OutcomeUnknown:
		return boxUnknown
	case event.RiskNone:
		return boxNone
	case event.RiskLow:
		return boxLow
	case event.RiskMedium:
		return boxMedium
	case event.RiskHigh:
		return boxHigh
	case event.RiskCritical:
		return boxCritical
	case event.KindSignIn:
		return boxSignIn
	case event.KindAlert:
		return boxAlert
	}
	return s
}

// boxedSource is boxed for the source, which names a format.
func boxedSource(s string) any {
	if v, ok := boxFormats[s]; ok {
		return v
	}
	return s
}

// clear drops the references an environment holds to the last event's
// slices and maps. Its strings may still share memory with the last message
// until the next fill.
func (e env) clear() {
	e["reasons"], e["raw"] = []string(nil), map[string]any(nil)
}

// templateData returns the values a reason template sees for ev: its
// data entries under their expr names, plus rule_id, severity, action, mode
// and user (the resolved identity), empty until set.
func templateData(ev *event.Event) map[string]any {
	data := make(map[string]any, len(dataNames)+5)
	env(data).fill(ev, allEnvFields)
	data["rule_id"], data["severity"], data["action"], data["mode"], data["user"] = "", "", "", "", ""
	return data
}
