package remediate

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Action is what a rule asks for.
type Action string

// Actions.
const (
	ActionSuspend    Action = "suspend"
	ActionReactivate Action = "reactivate"
	// ActionNone: a rule that only records its decision (logged and
	// counted); such a decision never reaches the decision service.
	ActionNone Action = "none"
)

// Mode says whether a rule's decisions act.
type Mode string

// Modes.
const (
	// ModeEnforce decisions act, once every guard allows it.
	ModeEnforce Mode = "enforce"
	// ModeShadow decisions never act; their outcome says what they would
	// have done.
	ModeShadow Mode = "shadow"
	// ModeApprove decisions act once a person approves them: once every
	// guard allows it, the decision becomes a pending approval in the
	// ledger, and nothing is called until an approve answer arrives
	// before it expires (see Service.Answer).
	ModeApprove Mode = "approve"
)

// Result is the final outcome of a decision, as audited and counted.
type Result string

// Results.
const (
	ResultSuspended        Result = "suspended"
	ResultAlreadySuspended Result = "already_suspended"
	ResultReactivated      Result = "reactivated"
	ResultAlreadyActive    Result = "already_active"
	// ResultShadow: a shadow rule would have acted.
	ResultShadow Result = "shadow"
	// ResultStale: the event is too old to act on; the rule would have
	// acted (shadow only).
	ResultStale Result = "stale"
	// ResultDryRun: the process runs dry; every guard allowed the action.
	ResultDryRun Result = "dry_run"
	// ResultBlockedProtected: the user is a protected identity.
	ResultBlockedProtected Result = "blocked_protected"
	// ResultBlockedRefused: the API refused to suspend this user before
	// (last owner, externally managed administrator).
	ResultBlockedRefused Result = "blocked_refused"
	// ResultBlockedProvenance: a reactivation of a user tripline did not
	// suspend itself.
	ResultBlockedProvenance Result = "blocked_provenance"
	// ResultDuplicate: the same event already led to an action for this
	// user, or the rule acted on the user within its cooldown.
	ResultDuplicate Result = "duplicate"
	// ResultGrace: a person reactivated the user after tripline suspended
	// them, and the rule's grace has not run out.
	ResultGrace Result = "grace"
	// ResultBreakerOpen: a blast-radius breaker is open; the decision is
	// held in the dead-letter topic for replay after review.
	ResultBreakerOpen Result = "breaker_open"
	// ResultFailed: the action failed; the decision is dead-lettered.
	ResultFailed Result = "failed"
	// ResultPendingApproval: the decision waits for a person's approval
	// (mode approve); Detail names the approval.
	ResultPendingApproval Result = "pending_approval"
	// ResultApprovalDenied: a person denied the pending action.
	ResultApprovalDenied Result = "approval_denied"
	// ResultApprovalExpired: nobody answered in time; the action is
	// denied and never carried out.
	ResultApprovalExpired Result = "approval_expired"
	// ResultContainmentExtended: the user is under a timed suspension; the
	// decision extended it (or made it permanent) instead of suspending
	// again.
	ResultContainmentExtended Result = "containment_extended"
	// ResultContainmentKept: a person made a timed suspension permanent.
	ResultContainmentKept Result = "containment_kept"
	// ResultExcepted: an exception in force spares the user from the
	// rule (see Exception).
	ResultExcepted Result = "excepted"
)

// User states as the Users API reports them.
const (
	StateActive      = "ACTIVE"
	StateSuspended   = "SUSPENDED"
	StateUnspecified = "STATE_UNSPECIFIED"
)

// User is a 1Password user.
type User struct {
	ID          string
	Email       string
	DisplayName string
	// State is StateActive, StateSuspended, or what the API sent.
	State string
}

// Limit caps how many suspensions may happen in a sliding window. The zero
// value is no cap.
type Limit struct {
	Count  int
	Window time.Duration
}

// Source is where the decision's message was read.
type Source struct {
	Topic     string
	Partition int
	Offset    int64
}

// String is "topic/partition@offset", or "" for the zero Source.
func (s Source) String() string {
	if s == (Source{}) {
		return ""
	}
	return fmt.Sprintf("%s/%d@%d", s.Topic, s.Partition, s.Offset)
}

// Decision is what one rule decided about one event.
type Decision struct {
	RuleID string
	Mode   Mode
	Action Action
	// Identity is an email or a 1Password user id.
	Identity string
	Reason   string
	Severity string
	// Cooldown: no second action by this rule on the same user within it.
	Cooldown time.Duration
	// Grace: after a person reactivates a user tripline suspended, this
	// rule only shadows the user for Grace.
	Grace time.Duration
	// MaxActions is the rule's own breaker cap (zero: none).
	MaxActions Limit
	EventID    string
	EventTime  time.Time
	// UserEmail is the event's email, for the audit record; with
	// EventOPUserID it is also checked against the resolved user.
	UserEmail string
	// EventOPUserID is the event's 1Password user id, when it names one.
	// An event that names an email and a 1Password user id belonging to
	// two different users is refused (ClassIdentityMismatch).
	EventOPUserID string
	// ApprovalTimeout is how long the pending action of an approve rule
	// waits for an answer.
	ApprovalTimeout time.Duration
	// SuspendFor makes a suspension timed: how long the user's first,
	// second, ... suspension by the rule within 30 days lasts (the last
	// entry repeats; a 0 entry is permanent). Nil: permanent.
	SuspendFor []time.Duration
	Source     Source
	// RecordTime is the timestamp of the Kafka record the event came in
	// (for a parked decision, the original record's): when the SIEM's
	// record reached Kafka. The time from it to the Users API's answer to
	// the action is tripline_time_to_action_seconds. Zero for an action no
	// record timed (an approved action carried out, the end of a timed
	// suspension: a person's or a timer's wait is not tripline's): not
	// observed.
	RecordTime time.Time
	// Stale, when set, says why the event is too old to act on (its time,
	// or its Kafka record's, is older than the maximum event age): the
	// decision runs the read-only guards and ends as stale, like a shadow
	// one.
	Stale string
}

// Outcome is what happened to a decision.
type Outcome struct {
	Decision Decision
	// User is the resolved user (zero when the identity did not resolve).
	User User
	// Before is the user's state as the API reported it just before the
	// action ("" when no GET was made).
	Before string
	Result Result
	// Detail says why, for refusals: the protected entry, the breaker's
	// scope, "same event", "cooldown 1h0m0s".
	Detail string
	// Attempts counts the attempts of the last Users API call made (the
	// action, or the read before it when that failed).
	Attempts int
	// ContainedUntil is when the timed suspension this outcome started or
	// extended ends (zero: none).
	ContainedUntil time.Time
}

// Errors the ports wrap so that errors.Is works. Any other error is
// retryable when it has a Retryable() bool method returning true, and
// permanent otherwise.
var (
	// ErrUserNotFound: the identity is not a user of the 1Password account.
	ErrUserNotFound = errors.New("user not found")
	// ErrCannotSuspend: the API refuses to change this user (the last
	// owner, an externally managed administrator).
	ErrCannotSuspend = errors.New("user cannot be suspended")
	// ErrPermissionDenied: the OAuth application lacks the permission.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrUnauthenticated: the Users API refused the credentials.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrAmbiguousIdentity: the identity names more than one user (two
	// users of the account whose emails fold to the same address).
	ErrAmbiguousIdentity = errors.New("identity names more than one user")
	// ErrInterrupted: the service stopped (shutdown) before the decision
	// reached an outcome; it must be decided again (redelivered).
	ErrInterrupted = errors.New("interrupted by shutdown")
)

// Directory resolves identities to users. Lookup takes an email (compared
// case- and Unicode-insensitively) or a 1Password user id, and returns an
// error wrapping ErrUserNotFound when no user of the account has it; other
// errors may be retryable. LoadedAt is when the current listing of the
// account's users was loaded (zero before the first). Implementations are
// safe for concurrent use.
type Directory interface {
	Lookup(ctx context.Context, identity string) (User, error)
	LoadedAt() time.Time
}

// API reads, suspends and reactivates users by id. Suspend and reactivate
// are idempotent and return the user as it is afterwards. Errors wrap
// ErrUserNotFound, ErrCannotSuspend, ErrPermissionDenied or
// ErrUnauthenticated where they apply; retryable errors have a Retryable()
// bool method, and may have a RetryAfterDelay() time.Duration method.
// Implementations are safe for concurrent use.
type API interface {
	GetUser(ctx context.Context, id string) (User, error)
	SuspendUser(ctx context.Context, id string) (User, error)
	ReactivateUser(ctx context.Context, id string) (User, error)
}

// Store is the durable table the ledger lives in (ledger.Table: a compacted
// Kafka topic every instance reads and tails). Put writes key=value (nil
// value: a tombstone) with its signature ("" for none) and returns once the
// record is durable, after the store has handed it to the ledger's Apply.
// It is safe for concurrent use.
type Store interface {
	Put(ctx context.Context, key string, value []byte, signature string) error
}

// Syncer is a Store that can wait until the ledger has applied every
// record the other instances wrote before the call (ledger.Table.Sync).
// The breakers sync before each hold they take, so they count what the
// other instances did and hold up to then, however fast the Users API
// answers.
type Syncer interface {
	Sync(ctx context.Context) error
}

// Auditor records the outcome of every decision. Audit returns once the
// record is durable; an error stops the consumer before the offset of the
// decision's message is committed.
type Auditor interface {
	Audit(ctx context.Context, rec Record) error
}
