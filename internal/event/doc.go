// Package event turns the sign-in events, detections and activity records
// that SIEM and identity providers publish on Kafka topics into one
// normalized record, Event, that rules are evaluated against.
//
// The package is pure decoding: it imports no Kafka, HTTP or OpenTelemetry
// package, and of tripline's packages only identity, a leaf. The pipeline calls Decoder.Decode once per message value; `consumer
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
//   - cloudtrail: records as a {"Records": [...]} file, an EventBridge
//     envelope or a single record. ConsoleLogin is a sign-in; every other
//     event name (an API call, a service event) is an activity. A record
//     without an eventName is unknown_format.
//   - guardduty: GuardDuty findings, in an EventBridge envelope or raw.
//   - ocsf: OCSF Authentication (class_uid 3002, signin) and Detection
//     Finding (2004, alert).
//   - elastic-alert: Elastic Security alert documents (kibana.alert.*).
//   - ecs: ECS events.
//   - okta: Okta System Log LogEvents, Event Hook batches (data.events[]) and
//     EventBridge Log Streaming envelopes.
//   - 1password: 1Password Events API sign-in attempts, single or as an API
//     page {"items": [...], "cursor", "has_more"}.
//   - gws: Google Workspace Reports API activities of the login application
//     (sign-ins; account warnings are alerts) and of the admin application
//     (activities), single or as a page (kind admin#reports#activities);
//     each events[] entry is one Event. Other applications (drive, token,
//     ...) are unknown_format, and the message names the ones read.
//   - generic: any object mapped by a GenericMapping. Detection picks it only
//     for the Splunk webhook (sid, results_link, result) and Panther webhook
//     (alertId, type, createdAt) shapes; other topics must pin it. A nil
//     Config.Generic selects DefaultGenericMapping.
//
// Paths are looked up the same way in nested objects and literal dotted keys
// ("kibana.alert.uuid"), so ECS and Elastic documents of either shape work.
// For most fields, a literal dotted key wins over the nested path, and of a
// key repeated in one object the last one counts (as in encoding/json).
// The fields that say who the user is are stricter: the email, login, user
// id and 1Password user id fields of every format, the fields that choose
// among them (Okta actor.type and target[], CloudTrail userIdentity.type
// and userIdentity.sessionContext.sessionIssuer.arn),
// the batch arrays and EventBridge detail objects that hold them, and the
// Google affected_email_address parameter. When such a path resolves two
// ways (a literal dotted key "actor.alternateId" next to the nested
// actor.alternateId) or goes through a key repeated in its object, the
// event is refused (bad_field, naming the field): the sender must not be
// able to choose which identity counts. A dotted key alone is fine.
//
// # Normalized fields
//
// kind is signin (an attempt to authenticate), alert (a detection or a
// risk verdict about a user) or activity (an action taken once signed in:
// a CloudTrail API call other than ConsoleLogin, a Google Workspace admin
// change). An activity's outcome says whether the action succeeded (an API
// call refused with AccessDenied is a failure), not a sign-in: rules that
// read outcome, risk or count failures check kind.
//
// user_email is trimmed, its ASCII letters lower-cased, and set only when the
// value looks like an email (a UPN, an Okta login, an AWS SSO session name
// qualify); a login that is not an email goes to user_name (AWS IAM user
// names, ECS user.name). Other characters are kept as sent: an email that
// Unicode NFKC normalization and case folding would change beyond ASCII
// lower-casing (the Kelvin sign K, a dotted capital I, full-width letters,
// an upper-case É) is refused as ambiguous_identity, since it could be a
// look-alike of another user's address (identity.Ambiguous); so is a
// user_name that folds to something with an '@'. "josé@example.com" in
// NFC lower case is accepted.
// user_id is the vendor's user id; op_user_id is set for 1Password events
// only. A sign-in or an alert without any of these is no_user; an activity
// may have none (an AWS service, the AWS account root, a Google system
// actor): rules see it, and nothing can act on it.
//
// The user of a CloudTrail activity comes from userIdentity, read more
// carefully than for ConsoleLogin because some of its names are chosen by
// whoever holds the credentials: Root and AWSService give no user;
// user_id is onBehalfOf.userId (an IAM Identity Center user id), else the
// arn, else the principalId; an IAM user's userName is user_email when it
// is an email, else user_name; an assumed-role session name (principalId
// after ':', equal to the arn's last part) is user_email, or user_name when
// it is not an email, only when the session was issued for an IAM Identity
// Center permission set (sessionIssuer.arn under the reserved path
// role/aws-reserved/sso.amazonaws.com/, a role AWSReservedSSO_* that is
// the arn's role): Identity Center names those sessions after the user,
// while any other session name is chosen by the caller of AssumeRole and
// gives no email. Other types (FederatedUser, SAMLUser, WebIdentityUser,
// IdentityCenterUser, AWSAccount) never give an email; their userName is
// user_name when it is not one. No email is ever built from a name that
// is not literally an email. A Google Workspace admin activity's user is
// its actor (actor.email, actor.profileId), the administrator, never a
// user its parameters name (USER_EMAIL).
//
// outcome is success, failure, blocked, challenge or unknown; risk is none,
// low, medium, high, critical or unknown (unknown when the source has no
// signal, e.g. CloudTrail, Google Workspace admin activities). The outcome
// of a CloudTrail activity is failure when errorCode is set, else success;
// a Google Workspace admin activity's is success (the admin log records
// the changes that were made). risk_score is 0-100 (GuardDuty severity
// 1-10 is multiplied by 10; a score outside 0-100 is clamped to it);
// without a vendor level, risk is bucketed from it:
// 0 none, 1-39 low, 40-69 medium, 70-89 high, 90-100 critical. A signal
// that is over (closed Elastic alert, closed OCSF finding, dismissed or
// remediated Entra risk, archived GuardDuty finding) has risk none.
//
// reasons always holds a list (maybe empty) of the vendor's own tokens, each
// once, at most MaxReasons (64) of at most MaxReasonLen (256) bytes; longer
// ones are cut and later ones left out, and reasons_truncated counts what
// was cut or left out:
//
//   - okta: eventType, outcome.reason, risk reasons, names of POSITIVE
//     behaviors, "isProxy", "threatSuspected"
//   - entra: riskEventTypes_v2 (else riskEventTypes) and the non-zero
//     errorCode of a sign-in; riskEventType of a detection; riskDetail of a
//     risky user
//   - 1password: category and type (e.g. "mfa_failed", "totp_bad")
//   - gws: the event name (e.g. "account_disabled_password_leak"),
//     login_failure_type, "is_suspicious"; for an admin activity, the event
//     name and type (e.g. "GRANT_ADMIN_PRIVILEGE", "USER_SETTINGS")
//   - ocsf: status_code and unmapped.eventType (3002); analytic name, types
//     and title (2004)
//   - ecs and elastic-alert: event.action, event.reason, the Okta and Entra
//     integration risk fields; the rule name and rule_id of an alert
//   - cloudtrail: eventName and errorMessage of a ConsoleLogin; eventName
//     and errorCode of any other record
//   - guardduty: the finding type
//
// country is ISO 3166-1 alpha-2 in upper case; names (Okta, 1Password's
// top-level country, ECS country_name) are mapped by a built-in table, and
// unknown values leave it empty. src_ip is the address as sent (not
// parsed), except for a CloudTrail activity, whose sourceIPAddress is kept
// only when it is an IP address (AWS puts service names such as
// "ec2.amazonaws.com" there). time is UTC, the time the sign-in or the
// action happened (not ingest time). event_id is "<source>:<native id>", or
// "<source>:sha256-<32 hex>" of the canonical JSON of the document when the
// source has none (for a Google activity without a uniqueQualifier, each
// event after the first gets "-<index>" after the hash). Raw is the decoded
// document; for a batch, the item; for an EventBridge envelope, its detail.
//
// # Vendor values
//
// Vendors do not always send what their documentation says, and an event
// that tripline can evaluate must not become a dead letter because of a
// value it could read anyway. So every field that does not say who the
// user is is read liberally, and the vendor's value always stays in Raw:
//
//   - a number sent as a string ("85", "50126", "3002") is read as the
//     number; a string field sent as a number, a boolean or a one-element
//     list is read as its text;
//   - a boolean may be true/false, "true"/"false", "yes"/"no", "on",
//     "1"/"0" or a number (any other word is false);
//   - a risk score outside 0-100 is clamped to it (GuardDuty severity
//     above 10 too); a risk or outcome word tripline does not know maps
//     to unknown;
//   - a time may be RFC 3339 with or without a fraction or a zone, with a
//     'T' or a space ("2006-01-02 15:04:05"), an offset with or without a
//     colon, RFC 1123 and a few other layouts, or epoch seconds,
//     milliseconds, microseconds or nanoseconds as a number or a string
//     (told apart by size; a number that would be before 2000 in the unit
//     a source documents is read by its size instead);
//   - a value that cannot be read at all (an object where a time, an
//     outcome or an address is expected, an unparseable time, a number
//     word) reads as absent: the next field in line is tried, else the
//     normalized field stays empty or unknown, and an event id falls back
//     to the hash of the document.
//
// Only what is needed to evaluate the event is strict: the fields that
// name the user (email, login, user ids, and the fields that choose among
// them) accept a string or an integer, and any other type is bad_field
// (reading it as absent could let another field choose the user); the
// batch arrays that hold the items are bad_field when they are not
// arrays; the caps below apply to every capped field.
//
// # Caps
//
// A message is untrusted: whoever can write to a SIEM topic controls every
// byte. Each field is checked as it is read, and the event is refused
// (bad_field, naming the field, its length and the cap) when an email, user
// id, user name, 1Password user id or native event id is longer than
// MaxIdentityLen (254) bytes, an IP address longer than MaxIPLen (64), or a
// country or city longer than MaxGeoLen (128). Addresses are not parsed
// (CloudTrail puts "AWS Internal" and host names there), except a CloudTrail
// activity's, which is dropped, not refused, when it is not an IP address.
// Error messages quote at most 64 bytes of a value.
//
// The strings an Event keeps are copies: the normalized fields share one
// small buffer per event, and the strings of Raw are copied out of the
// message in chunks of a few KiB, so keeping one event of a large batch
// keeps neither the message nor the other items alive.
//
// # Errors and reason codes
//
// Every error returned by Decode is an *Error; Reason(err) returns its
// stable code, which the pipeline writes into dead-letter headers:
//
//	empty           no bytes, or only white space
//	too_large       more than Config.MaxBytes (default 1 MiB); or more
//	                than Config.MaxItems (default 10,000) items in a batch
//	                (any array nested at most 3 deep), events from one
//	                message, or keys in one object
//	invalid_utf8    not valid UTF-8
//	invalid_json    syntax error, truncated value, trailing data
//	too_deep        nesting deeper than Config.MaxDepth (default 64)
//	not_object      null, number, string or array where an object is needed
//	unknown_format  no format recognised, or a record the format does not
//	                handle (a CloudTrail record without eventName, a Google
//	                Workspace activity of an application other than login
//	                and admin, an Entra audit log)
//	no_user         a sign-in or an alert with neither an email nor a
//	                vendor user id
//	bad_field       an identity field of a type that cannot name a user
//	                (not a string or an integer), a batch array that is not
//	                an array, a field past its cap, or an identity field
//	                given two ways; the message names the field
//	ambiguous_identity
//	                an email that Unicode NFKC and case folding change
//	                beyond ASCII lower-casing (a possible look-alike)
//	empty_batch     a batch envelope with no items
//	partial         some items of a batch failed
//	internal        (from Reason) an error that is not an *Error
//
// Limits are checked before parsing: size, UTF-8 validity and nesting depth
// (a linear byte scan that stops at the first level past the limit). The
// JSON parser is single-pass and bounded by the same depth, so no input can
// make it recurse deeply, and it stops at the first array or object past
// MaxItems. All work is linear in the size of the message (reasons are
// de-duplicated with a set, object keys hashed for ids are radix-sorted):
// any message of up to 1 MiB normalizes in well under 50 ms
// (BenchmarkNormalizeHostile). Decode never panics.
//
// The parser accepts exactly the JSON texts encoding/json accepts, except
// that it refuses invalid UTF-8 and nesting deeper than Config.MaxDepth, and
// decodes them to the same values (FuzzParserMatchesEncodingJSON).
//
// # Batches
//
// A batch message (Entra records, CloudTrail Records, Okta event hook,
// 1Password and Google pages) never drops an item silently. When some items
// fail, Decode returns the good events AND an *Error whose Items lists the
// failed indexes with their own errors and a copy of each failed item's own
// bytes (ItemError.Raw); its reason is partial, or, when every item failed
// for the same reason, that reason. The pipeline can act on the good events
// and dead-letter each failed item alone, with its index.
package event
