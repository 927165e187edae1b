// Package remediate is tripline's decision service: it owns everything
// between "a rule matched" and "the outcome is durable". Given a Decision
// (rule, mode, action, identity, event), Service.Decide resolves the
// 1Password user, runs the guards, calls the Users API when the decision
// acts, records the action in the ledger shared by every instance, writes
// the audit record and returns the final Outcome.
//
// The guards are small decorators around the API call, each in its own file
// and tested alone, applied in this order:
//
//	resolve     the identity (email or 1Password user id) to a User; an event naming two users is refused
//	protected   a protected identity (protected.yaml) is never acted on
//	serialize   one decision per user at a time, across rules and answers
//	refused     a user the API refused to suspend is not tried again until the directory reloads
//	duplicate   the same event, or the same rule and user within the rule's cooldown, acts once
//	provenance  tripline reactivates only users it suspended itself from ACTIVE
//	shadow      a shadow rule (or a stale event) stops here: its outcome says what it would have done
//	breaker     caps suspensions per sliding window, globally and per rule, with holds across instances; manual re-arm
//	approval    an approve rule's decision becomes a pending approval; an approved one goes on
//	dry run     a process dry run stops here
//	before      GET the user: the state before the action, as the API reports it
//	grace       a user a person reactivated is only shadowed during the rule's grace
//	act         suspend or reactivate, then record the action in the ledger
//
// A refusal by a guard is an outcome (blocked_protected, duplicate, ...), not
// a failure. A failure (the user is unknown, the API refused, retries ran
// out, the breaker is open) is returned as a *Failure carrying its
// dead-letter class. Transient Users API failures are retried here, with
// backoff, within a budget.
//
// Approvals: Service.Answer applies an answer (approve, deny, the clock's
// remind and expire) to a pending approval, bound to it and applied once;
// RunApprovalClock writes the clock's answers. The service emits Notices
// (actions, breaker trips, approvals) to Deps.Notify; sinks subscribe.
//
// The Ledger is the table of what tripline did (users, breakers, holds,
// approvals), kept in a Store every instance shares. It judges every record
// it reads (signature, size, decoding, times ahead of its clock: see
// MaxStateRecordBytes) and signs every record it writes; Resign moves a
// state topic written without a key to signed records.
//
// remediate declares the ports it needs (Directory, API, Store, Syncer,
// Auditor, AnswerWriter) and imports no adapter: the Users API client and
// the directory implement the ports and return this package's types and
// errors. It must not import the pipeline, Kafka or the configuration tree.
package remediate
