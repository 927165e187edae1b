package event

import "time"

// Outcome values of a sign-in.
const (
	OutcomeSuccess   = "success"
	OutcomeFailure   = "failure"
	OutcomeBlocked   = "blocked"
	OutcomeChallenge = "challenge"
	OutcomeUnknown   = "unknown"
)

// Risk levels, from none to critical.
const (
	RiskNone     = "none"
	RiskLow      = "low"
	RiskMedium   = "medium"
	RiskHigh     = "high"
	RiskCritical = "critical"
	RiskUnknown  = "unknown"
)

// Kinds of record: a sign-in (an attempt to authenticate), an alert (a
// detection or a risk verdict about a user), or an activity (an action a
// user or a service took once signed in: an API call, an admin change).
// Shipped rules that read outcome, risk or count failures check the kind:
// an API call refused with AccessDenied is an activity with outcome
// failure, not a failed sign-in.
const (
	KindSignIn   = "signin"
	KindAlert    = "alert"
	KindActivity = "activity"
)

// Event is one normalized record (a sign-in, an alert or an activity, see
// Kind), whatever format it arrived in.
// The json tags are the wire names printed by `consumer normalize`; the expr
// tags are the names rule authors use in `when` expressions.
type Event struct {
	UserEmail string `json:"user_email" expr:"user_email"`
	UserID    string `json:"user_id,omitempty" expr:"user_id"`
	// UserName is the login when it is not an email (an AWS IAM user name,
	// an Okta login without a domain), for mapping tables.
	UserName  string `json:"user_name,omitempty" expr:"user_name"`
	OPUserID  string `json:"op_user_id,omitempty" expr:"op_user_id"`
	Outcome   string `json:"outcome" expr:"outcome"`
	Risk      string `json:"risk" expr:"risk"`
	RiskScore *int   `json:"risk_score,omitempty" expr:"risk_score"`
	// Reasons are the vendor's own tokens, each once, at most MaxReasons
	// of at most MaxReasonLen bytes.
	Reasons []string `json:"reasons" expr:"reasons"`
	// ReasonsTruncated counts the reasons that were not kept whole: values
	// cut to MaxReasonLen bytes, and values left out because Reasons
	// already held MaxReasons (each time they appear). 0 means Reasons is
	// complete.
	ReasonsTruncated int       `json:"reasons_truncated,omitempty" expr:"reasons_truncated"`
	SrcIP            string    `json:"src_ip,omitempty" expr:"src_ip"`
	Country          string    `json:"country,omitempty" expr:"country"`
	City             string    `json:"city,omitempty" expr:"city"`
	Time             time.Time `json:"time" expr:"time"`
	EventID          string    `json:"event_id" expr:"event_id"`
	Source           string    `json:"source" expr:"source"`
	Kind             string    `json:"kind" expr:"kind"`
	// Raw is the decoded source document (for a batch, the one item this
	// event came from), for rules that need vendor fields.
	Raw map[string]any `json:"raw,omitempty" expr:"raw"`
	// Item is the event's position in its batch, counted from 1 (0 when
	// the message was not a batch), and ItemRaw a copy of that item's own
	// bytes: what to dead-letter when this event fails, instead of the
	// whole batch.
	Item    int    `json:"-" expr:"-"`
	ItemRaw []byte `json:"-" expr:"-"`
}
