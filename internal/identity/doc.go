// Package identity gives tripline one way to compare identities, email
// addresses and 1Password user ids, and holds the protected-identities list
// that the decision service enforces: identities tripline never suspends or
// reactivates, whatever a rule decides.
//
// Fold is the comparison form: trimmed, NFKC-normalized and fully case
// folded, so that "BreakGlass@Example.com" and its full-width look-alike
// compare equal. Ambiguous flags addresses whose non-ASCII characters fold
// onto other characters. ParseProtected reads the protected-identities YAML
// file and reports every problem in it at once; Protected.Match answers
// whether a user is protected and by which entry, Protected.Len counts the
// entries and Protected.AllowEmpty tells whether the file says an empty list
// is meant (allow_empty: true).
//
// It is a leaf package: it imports no other tripline package.
package identity
