// Package directory resolves the identity of a sign-in (an email, or a
// 1Password user id) to the 1Password user it belongs to; it implements the
// decision service's Directory port. It keeps the account's full user
// listing in memory, refreshes it on an interval and, rate-limited, when an
// unknown email shows up, so lookups never wait on the API when the user is
// known. Emails are compared folded (identity.Fold: Unicode NFKC and case
// folding).
//
// The directory reads users through its Lister interface, which
// *onepassword.Client satisfies, and speaks remediate's User type and
// errors. It imports internal/remediate, internal/identity and
// internal/onepassword (for the page size) only, and no HTTP, Kafka or
// telemetry package.
package directory
