package rules

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/identity"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// ErrNoUser is reported (inside a *RuleError) when a rule whose action is
// suspend or reactivate matched an event but resolved no user to act on.
var ErrNoUser = errors.New("no user to act on")

// Set is a loaded, compiled set of rules, with the protected identities of
// the rule directory. It is immutable and safe for concurrent use; the
// count() windows it uses live in its State, which is internally
// synchronized.
type Set struct {
	rules     []*rule
	cat       *catalog
	files     []string
	protected *identity.Protected
	// protectedFound is whether the directory has a ProtectedFile (see
	// checkProtected).
	protectedFound bool
	// index holds, for each event source, the rules Evaluate runs.
	index sourceIndex
	pool  sync.Pool // of *evaluator
}

// RuleInfo describes one loaded rule.
type RuleInfo struct {
	ID          string
	Description string
	File        string // rule file, relative to the loaded directory
	Line        int    // line of the rule's id key
	Severity    string
	Mode        remediate.Mode   // enforce, approve or shadow
	Action      remediate.Action // suspend, reactivate or none (records only)
	Enabled     bool
	Cooldown    time.Duration   // see Decision.Cooldown; 0 when unset
	Grace       time.Duration   // see Decision.Grace; 0 when unset
	MaxActions  Limit           // see Decision.MaxActions; zero when unset
	SuspendFor  []time.Duration // see Decision.SuspendFor; nil when unset
	// ApprovalTimeout is how long a pending action of an approve rule
	// waits for an answer (0 for other modes).
	ApprovalTimeout time.Duration
	Tags            []string
	Tests           int // number of inline tests
	// Sigma says which Sigma rule the rule was imported from (its sigma:
	// block); nil for a rule written for tripline.
	Sigma *SigmaOrigin
	// Sources are the event sources the rule can match, sorted, as its
	// `when` says (a top-level conjunct source == "okta" or source in
	// ["okta", "entra"]); Set.Evaluate runs the rule only for events of
	// those sources. Nil: any source. Empty but not nil: none, the rule
	// never runs.
	Sources []string
}

// Acts reports whether the rule's decisions are acted on: it is enabled, in
// enforce or approve mode, and suspends or reactivates. A rule that acts
// must prove it at load: inline tests that match and that do not, and no
// match on the benign corpus (see LoadChecked).
func (r RuleInfo) Acts() bool {
	return r.Enabled && (r.Mode == remediate.ModeEnforce || r.Mode == remediate.ModeApprove) && (r.Action == remediate.ActionSuspend || r.Action == remediate.ActionReactivate)
}

// Decision is what one rule decided about one event. The rules package
// never suppresses a decision: the decision service applies the rule's
// Cooldown, Grace and MaxActions, and the protected identities, when it acts.
type Decision struct {
	RuleID   string
	Mode     remediate.Mode   // enforce: act on it; approve: once approved; shadow: log and count only
	Action   remediate.Action // suspend, reactivate or none (records only)
	User     string           // identity to act on: a 1Password user id or an email
	Reason   string           // the rule's rendered reason template
	Severity string
	// Cooldown is the rule's cooldown: no second action for the same user
	// by this rule within it. 0 when the rule sets none.
	Cooldown time.Duration
	// Grace is the rule's grace: after a person reactivates a user tripline
	// suspended, this rule only shadows that user for Grace. 0 when unset.
	Grace time.Duration
	// MaxActions is the rule's own blast-radius cap (max_actions), zero
	// when unset.
	MaxActions Limit
	// ApprovalTimeout is how long an approve rule's pending action waits
	// for an answer; 0 for other modes.
	// SuspendFor is the rule's suspend_for: how long its suspensions last
	// before tripline undoes them, for a user's first, second, ...
	// suspension by the rule within 30 days (the last entry repeats); a 0
	// entry is permanent. Nil: the rule's suspensions are permanent.
	SuspendFor      []time.Duration
	ApprovalTimeout time.Duration
}

// RuleError is a runtime failure of one rule on one event. The other rules
// are still evaluated.
type RuleError struct {
	RuleID string
	Err    error
}

// Error returns "rule <id>: <err>".
func (e *RuleError) Error() string { return fmt.Sprintf("rule %s: %v", e.RuleID, e.Err) }

// Unwrap returns the underlying error.
func (e *RuleError) Unwrap() error { return e.Err }

// Result is the outcome of evaluating one event against a Set: the decisions
// of the rules that matched, in rule order, and the runtime errors of the
// rules that failed. Both are nil when nothing matched and nothing failed.
type Result struct {
	Decisions []Decision
	Errors    []*RuleError
}

// Rules describes the loaded rules in load order (files sorted by name,
// rules in file order), including disabled ones.
func (s *Set) Rules() []RuleInfo {
	out := make([]RuleInfo, len(s.rules))
	for i, r := range s.rules {
		out[i] = r.info
	}
	return out
}

// Files returns the rule files the Set was loaded from, sorted.
func (s *Set) Files() []string { return append([]string(nil), s.files...) }

// Protected returns the protected identities of the rule directory
// (ProtectedFile), which the decision service never acts on whatever the
// rules decide. The rules themselves do not consult it. It is never nil: an
// empty list when the directory has no ProtectedFile (Load accepts that; a
// Watcher does not, see NewWatcher). Its Len is the number of entries. A
// reload that fails, including because of a bad, missing or empty
// ProtectedFile, keeps the previous Set and so the previous list.
func (s *Set) Protected() *identity.Protected { return s.protected }

// State returns the State holding the Set's count() windows.
func (s *Set) State() *State { return s.cat.state }

// evaluator is the per-evaluation scratch space: an environment bound to the
// catalog, and a reusable expr VM. Sets pool them.
type evaluator struct {
	env      env
	identity string // the default identity of the event being evaluated
	b        *binding
	vm       vm.VM
	// data is what reason templates see, filled from env at the first
	// match of an evaluation (dataSet) and reused by the next ones.
	data    map[string]any
	dataSet bool
	// sel and keyBuf are the scratch space of the value index (see
	// valueIndex.selectRules).
	sel    []uint64
	keyBuf []byte
}

func newEvaluator(cat *catalog) any {
	e, b := newEnv(cat)
	return &evaluator{env: e, b: b}
}

// Evaluate runs every enabled rule that can match ev's source (see
// RuleInfo.Sources) against ev, in rule order, and returns the decisions of
// the rules that matched and the errors of the rules that failed. A rule
// restricted to other sources does not run: it could not match, and it
// neither records in count() nor reports an error. Likewise, a rule whose
// `when` requires, before any count() call, sigma_eq(raw, path, values) of
// plain values does not run on an event whose raw holds none of them at
// path (see the value index, index_values.go). It does not modify ev.
// count() records the event in the Set's State (see the rule author's
// guide); nothing else is recorded, so evaluating the same event twice
// gives the same decisions.
func (s *Set) Evaluate(ev *event.Event) Result {
	e := s.pool.Get().(*evaluator)
	b := s.index.lookup(ev.Source)
	res := evaluateFields(e, b.rules, b.values, b.fields, ev, false)
	s.pool.Put(e)
	return res
}

// evaluate runs rules against ev with e; disabled rules are skipped unless
// all is set (inline tests run disabled rules too).
func evaluate(e *evaluator, rules []*rule, ev *event.Event, all bool) Result {
	return evaluateFields(e, rules, nil, e.b.cat.envFields, ev, all)
}

// evaluateFields is evaluate filling only the data entries in fields, which
// must hold every entry the `when` and `user` of rules read, and running
// only the rules values selects (nil: all of them).
func evaluateFields(e *evaluator, rules []*rule, values *valueIndex, fields envFields, ev *event.Event, all bool) Result {
	e.identity = e.env.fill(ev, fields)
	e.b.reset(ev)
	e.dataSet = false
	var sel []uint64
	if values != nil {
		e.sel, e.keyBuf = values.selectRules(e.sel, e.b.paths, ev.Raw, e.keyBuf)
		sel = e.sel
	}
	var res Result
	for i, r := range rules {
		if (!r.info.Enabled && !all) || !selected(sel, i) {
			continue
		}
		out, err := e.vm.Run(r.when, map[string]any(e.env))
		if err != nil {
			res.Errors = append(res.Errors, &RuleError{RuleID: r.info.ID, Err: fmt.Errorf("when: %w", err)})
			continue
		}
		if matched, _ := out.(bool); !matched {
			continue
		}
		d, err := decide(e, r, ev)
		if err != nil {
			res.Errors = append(res.Errors, &RuleError{RuleID: r.info.ID, Err: err})
			continue
		}
		res.Decisions = append(res.Decisions, d)
	}
	e.env.clear()
	if e.dataSet {
		e.data["reasons"], e.data["raw"] = []string(nil), map[string]any(nil)
	}
	e.b.reset(nil)
	return res
}

// templateData returns the data reason templates see for decision d: the
// event's data entries, filled at the first use in an evaluation (dataSet)
// and reused by the next ones, and the decision's fields.
func (e *evaluator) templateData(d *Decision) map[string]any {
	if !e.dataSet {
		if e.data == nil {
			e.data = templateData(e.b.ev)
		} else {
			env(e.data).fill(e.b.ev, allEnvFields)
		}
		e.dataSet = true
	}
	data := e.data
	data["rule_id"], data["severity"], data["action"], data["mode"], data["user"] = d.RuleID, d.Severity, string(d.Action), string(d.Mode), d.User
	return data
}

// decide builds the decision of a rule that matched.
func decide(e *evaluator, r *rule, ev *event.Event) (Decision, error) {
	d := Decision{
		RuleID: r.info.ID, Mode: r.info.Mode, Action: r.info.Action,
		Severity: r.info.Severity, User: e.identity,
		Cooldown: r.info.Cooldown, Grace: r.info.Grace, MaxActions: r.info.MaxActions, ApprovalTimeout: r.info.ApprovalTimeout,
		SuspendFor: r.info.SuspendFor,
	}
	if r.user != nil {
		out, err := e.vm.Run(r.user, map[string]any(e.env))
		if err != nil {
			return d, fmt.Errorf("user: %w", err)
		}
		d.User, _ = out.(string)
	}
	if d.User == "" && d.Action != remediate.ActionNone {
		return d, ErrNoUser
	}
	reason, err := r.reason.render(e, ev, &d)
	if err != nil {
		return d, fmt.Errorf("reason: %w", err)
	}
	d.Reason = reason
	return d, nil
}
