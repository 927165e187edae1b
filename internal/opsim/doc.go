// Package opsim is an in-process simulator of the 1Password Users API
// (v1beta1 and the v1 GA layout) and of its OAuth token server.
//
// A [Server] is an [http.Handler] that serves, at the same time:
//
//	POST /v1beta1/users/oauth2/token                          client_credentials token (Basic auth)
//	POST /v1beta1/users/oauth2/revoke                         revoke a token
//	POST /v1/oauth/token, POST /v1/oauth/revoke               the same under the v1 layout
//	GET  /{v1beta1|v1}/accounts/{account}/users               list users (filter, max_page_size, page_token)
//	GET  /{v1beta1|v1}/accounts/{account}/users/{user}        get a user
//	POST /{v1beta1|v1}/accounts/{account}/users/{user}:suspend
//	POST /{v1beta1|v1}/accounts/{account}/users/{user}:reactivate
//
// Tokens from either token endpoint work on either layout. Resource errors
// are grpc-gateway style Status bodies ({"code":N,"message":"...","details":[]});
// token and revoke errors are RFC 6749 style ({"error":"invalid_client"}).
//
// Test and operator controls live under /_opsim/ on the same handler:
// GET /_opsim/state, GET and POST /_opsim/faults, POST /_opsim/revoke-all.
// They are neither logged nor subject to fault injection.
//
// The behaviour follows the simulator contract of the project's Users API
// reference notes (section 6, items 1-34); where the real service is
// undocumented the simulator picks the documented-by-convention answer and
// makes the uncertain choices configurable in [Config].
//
// A Server is safe for concurrent use. Listing keeps users in one slice in a
// stable order (create_time, then id) with an id index, so a page costs
// O(page size) plus the scan over users the filter skips.
//
// Package opsim imports only the standard library and no other tripline
// package, so any package's tests may use it.
package opsim
