// Package remediate turns an enforce-mode rule decision into a call to the
// Users API: it resolves the identity to a 1Password user, applies the
// guards (the seam where protected identities, blast-radius breakers and the
// action ledger live), honours dry-run, and calls suspend or reactivate.
// Actions are idempotent: suspending a suspended user is a success with the
// result already_suspended.
//
// It declares the narrow interfaces it needs (Directory, API, Guard) and
// imports no adapter package: cmd/consumer wires the Users API client in.
package remediate
