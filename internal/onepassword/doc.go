// Package onepassword is tripline's client for the 1Password Users API for
// Partners: it obtains and caches OAuth2 client-credentials tokens, lists,
// reads, suspends and reactivates users, and turns every failure into a
// classified error (*APIError or *NetworkError) that says whether a retry can
// help and how long to wait.
//
// No error of this package repeats a credential: every text taken from a
// response (an API message, an OAuth error, a decode or transport error that
// quotes the answer) goes through secret.Redact with the client secret, its
// Basic credential and the recent access tokens before it is stored.
//
// The client never retries on its own, with one exception: a 401 from a
// resource call forces one token refresh and one retry of that call. Every
// other retry decision belongs to the caller, which inspects Retryable and
// RetryAfterDelay.
//
// Both API layouts are supported: "v1beta1" (the public preview) and "v1"
// (general availability). Config.APIVersion picks one.
//
// This package is an adapter at the edge of the system: it implements the
// decision service's API port (remediate.API) and speaks its types
// (remediate.User) and errors (remediate.ErrUserNotFound, ...). It must not
// import any other tripline package except internal/remediate,
// internal/version and internal/secret.
package onepassword
