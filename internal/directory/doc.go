// Package directory resolves the email address of a sign-in to the
// 1Password user it belongs to. It keeps the account's full user listing in
// memory, refreshes it on an interval and, rate-limited, when an unknown
// email shows up, so lookups never wait on the API when the user is known.
//
// The directory reads users through its Lister interface, which
// *onepassword.Client satisfies. It uses the onepassword package's User type
// in that interface only; it must not import any other tripline package, nor
// any HTTP, Kafka or telemetry package.
package directory
