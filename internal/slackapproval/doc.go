// Package slackapproval is the Slack side of tripline's approval flow. A rule
// in "mode: approve" does not suspend anyone by itself: it produces a pending
// action, and this package asks people in a Slack channel to approve or deny
// it.
//
// It has two halves:
//
//   - Notifier speaks the Slack Web API with a bot token. Post sends the
//     approval request (Block Kit: a summary of what, who, why, rule, expiry
//     and trace id, then Approve and Deny buttons whose values carry the
//     pending action id) with chat.postMessage and returns the message's
//     channel and timestamp; Remind replies in the message's thread at half
//     time; Decided and Expired rewrite the message with chat.update and
//     remove the buttons.
//   - Handler is the http.Handler for Slack's interactivity callbacks. It
//     verifies each request with the app's signing secret (Slack's v0
//     scheme, constant-time comparison, five-minute clock window, bounded
//     body), lets only the configured approvers answer, refuses replays,
//     hands the answer to a Decider and then updates the message. The
//     clicker is checked before the click is remembered for replay
//     refusal, so clicks of non-approvers (any member of the workspace
//     can click a button they see) take no room in the bounded replay
//     cache; and each Slack user may have at most MaxReplayEntriesPerUser
//     clicks remembered at once (more are refused with 429), so one
//     approver's account cannot fill it for the others either.
//
// The pending-action store (not this package) owns the state: it implements
// Decider, calls Post when an action is created, Remind at ReminderAt, and
// Expired when nobody answered in time. The first answer recorded by the
// Decider wins; later clicks are told who answered first.
//
// Timed suspensions (a rule's suspend_for) get a message too:
// Notifier.PostContainment shows who is suspended, by which rule and until
// when, with Keep (make the suspension permanent) and Lift (reactivate the
// user now) buttons; ContainmentExtended and ContainmentClosed rewrite it.
// The Handler treats Keep and Lift clicks exactly as Approve and Deny
// (signature, approvers only, replay refusal, per-user cap) and hands them
// to Decider.DecideContainment.
//
// Approvals wires all of this to the decision service: it subscribes to
// its notices (approval requests and their decisions; the action that
// starts a timed suspension and its keep, extension and end), records
// each message in the ledger so that any instance can update it, and is
// the Decider, turning clicks into answers written with an AnswerWriter.
//
// No log line or error of this package shows the bot token, the signing
// secret or a response_url: both secrets are secret.Value, and error text
// that comes from outside goes through secret.Redact.
//
// This package is an adapter at the edge of the system. Notifier and
// Handler import no tripline package except internal/secret; Approvals
// (approvals.go, containment_approvals.go) is the bridge to
// internal/remediate.
package slackapproval
