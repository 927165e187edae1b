// Package notify tells people what tripline did and what needs them: each
// enforce action, breaker trip, approval request and expiry, and each
// dead-lettered decision of a class a person must look at. A Notifier fans
// each Notification out to the configured sinks:
//
//	slack      Slack, through the Web API (chat.postMessage with a bot token
//	           and a channel) or an incoming webhook (notify only)
//	webhook    a generic JSON POST, signed with HMAC-SHA256 in the
//	           X-Tripline-Signature header (see Sign and VerifySignature)
//	pagerduty  PagerDuty Events API v2, for breaker trips and exhausted
//	           retries only, deduplicated per user or per breaker scope
//
// Notifications never block or slow enforcement: Notify only puts the
// notification in each sink's bounded queue and returns. One goroutine per
// sink sends, retrying network errors, 429 and 5xx with backoff (honouring
// Retry-After) and never other 4xx. A notification that is not delivered
// (queue full, rejected, retries exhausted, shutdown) is counted in
// tripline_notifications_dropped{sink,reason}, logged at Warn and, unless
// it never left Notify, handed to Config.OnFailed: it is never lost
// silently. Deliveries are counted in tripline_notifications_sent{sink,type}
// (both exported to Prometheus with the _total suffix).
//
// Privacy: a sink sees a user's email only when Config.IncludeEmail is set;
// otherwise it sees the 1Password user id and a hash of the folded email
// (HMAC-SHA256 under Config.EmailHashKey, or SHA-256 without a key), and
// email addresses in a rule's rendered reason are replaced by "[email]".
//
// Secrets (the Slack bot token and webhook URL, the webhook URL and signing
// secret, the PagerDuty routing key) never reach a log line, an error
// message or a metric label: errors show a sink's scheme and host only, and
// every text taken from a response goes through secret.Redact.
//
// notify is an adapter at the edge of the system. It imports only
// internal/remediate (the audit record and dead-letter classes),
// internal/deadletter (the dead-letter record), internal/identity (email
// folding), internal/secret and internal/version;
// no other tripline package imports it except cmd/consumer, which wires it.
package notify
