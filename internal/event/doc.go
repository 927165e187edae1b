// Package event turns the sign-in events and detections that SIEM and
// identity providers publish on Kafka topics into one normalized record,
// Event, that rules are evaluated against.
//
// The package is pure decoding: it imports no Kafka, HTTP or OpenTelemetry
// package. The pipeline calls Decoder.Decode once per message value; `consumer
// normalize` calls it per JSON document.
//
// # Formats
//
// A Decoder recognises, in this order (FormatAuto), or is told (a pinned
// Format):
//
//   - entra: Entra ID diagnostic logs via Event Hubs, {"records": [...]}:
//     *SignInLogs categories (kind signin), UserRiskEvents and
//     ServicePrincipalRiskEvents detections and RiskyUsers state (kind alert).
//   - cloudtrail: ConsoleLogin records, as a {"Records": [...]} file, an
//     EventBridge envelope or a single record. Other event names are
//     unknown_format.
//   - guardduty: GuardDuty findings, in an EventBridge envelope or raw.
//   - ocsf: OCSF Authentication (class_uid 3002, signin) and Detection
//     Finding (2004, alert).
//   - elastic-alert: Elastic Security alert documents (kibana.alert.*).
//   - ecs: ECS events.
//   - okta: Okta System Log LogEvents, Event Hook batches (data.events[]) and
//     EventBridge Log Streaming envelopes.
//   - 1password: 1Password Events API sign-in attempts, single or as an API
//     page {"items": [...], "cursor", "has_more"}.
//   - gws: Google Workspace Reports API login activities, single or as a page
//     (kind admin#reports#activities); each events[] entry is one Event.
//   - generic: any object mapped by a GenericMapping. Detection picks it only
//     for the Splunk webhook (sid, results_link, result) and Panther webhook
//     (alertId, type, createdAt) shapes; other topics must pin it. A nil
//     Config.Generic selects DefaultGenericMapping.
//
// Paths are looked up the same way in nested objects and literal dotted keys
// ("kibana.alert.uuid"), so ECS and Elastic documents of either shape work.
//
// # Normalized fields
//
// user_email is lower-cased, trimmed and set only when the value looks like
// an email (a UPN, an Okta login, an AWS SSO session name qualify); a login
// that is not an email goes to user_name (AWS IAM user names, ECS user.name).
// user_id is the vendor's user id; op_user_id is set for 1Password events
// only. outcome is success, failure, blocked, challenge or unknown; risk is
// none, low, medium, high, critical or unknown (unknown when the source has
// no signal, e.g. CloudTrail). risk_score is 0-100 (GuardDuty severity 1-10
// is multiplied by 10); without a vendor level, risk is bucketed from it:
// 0 none, 1-39 low, 40-69 medium, 70-89 high, 90-100 critical. A signal
// that is over (closed Elastic alert, closed OCSF finding, dismissed or
// remediated Entra risk, archived GuardDuty finding) has risk none.
//
// reasons always holds a list (maybe empty) of the vendor's own tokens:
//
//   - okta: eventType, outcome.reason, risk reasons, names of POSITIVE
//     behaviors, "isProxy", "threatSuspected"
//   - entra: riskEventTypes_v2 (else riskEventTypes) and the non-zero
//     errorCode of a sign-in; riskEventType of a detection; riskDetail of a
//     risky user
//   - 1password: category and type (e.g. "mfa_failed", "totp_bad")
//   - gws: the event name (e.g. "account_disabled_password_leak"),
//     login_failure_type, "is_suspicious"
//   - ocsf: status_code and unmapped.eventType (3002); analytic name, types
//     and title (2004)
//   - ecs and elastic-alert: event.action, event.reason, the Okta and Entra
//     integration risk fields; the rule name and rule_id of an alert
//   - cloudtrail: eventName and errorMessage; guardduty: the finding type
//
// country is ISO 3166-1 alpha-2 in upper case; names (Okta, 1Password's
// top-level country, ECS country_name) are mapped by a built-in table, and
// unknown values leave it empty. time is UTC, the time the sign-in happened
// (not ingest time). event_id is "<source>:<native id>", or
// "<source>:sha256-<32 hex>" of the canonical JSON of the document when the
// source has none. Raw is the decoded document; for a batch, the item; for an
// EventBridge envelope, its detail.
//
// # Errors and reason codes
//
// Every error returned by Decode is an *Error; Reason(err) returns its
// stable code, which the pipeline writes into dead-letter headers:
//
//	empty           no bytes, or only white space
//	too_large       more than Config.MaxBytes (default 1 MiB)
//	invalid_utf8    not valid UTF-8
//	invalid_json    syntax error, truncated value, trailing data
//	too_deep        nesting deeper than Config.MaxDepth (default 64)
//	not_object      null, number, string or array where an object is needed
//	unknown_format  no format recognised, or a record the format does not
//	                handle (a non-login CloudTrail event, an Entra audit log)
//	no_user         neither an email nor a vendor user id
//	bad_field       a field of the wrong type or not parseable; the message
//	                names the field
//	empty_batch     a batch envelope with no items
//	partial         some items of a batch failed
//	internal        (from Reason) an error that is not an *Error
//
// Limits are checked before parsing: size, UTF-8 validity and nesting depth
// (a linear byte scan that stops at the first level past the limit). The
// JSON parser is single-pass and bounded by the same depth, so no input can
// make it recurse deeply. Decode never panics.
//
// # Batches
//
// A batch message (Entra records, CloudTrail Records, Okta event hook,
// 1Password and Google pages) never drops an item silently. When some items
// fail, Decode returns the good events AND an *Error whose Items lists the
// failed indexes with their own errors; its reason is partial, or, when
// every item failed for the same reason, that reason. The pipeline can act
// on the good events and dead-letter the message with the reason.
package event
