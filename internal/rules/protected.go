package rules

import (
	"errors"
	"fmt"
)

// ErrNoProtected is matched by the error of a Watcher load (at start or on
// reload) refused because the protected identities would be gone: the
// directory has no ProtectedFile, or it lists nobody (no entry under emails,
// domains, globs or user_ids) without saying `allow_empty: true`. Without
// the check, deleting the file or saving it empty would silently expose
// break-glass and service accounts to suspension.
var ErrNoProtected = errors.New("no protected identities")

// checkProtected returns an error matching ErrNoProtected when s protects
// nobody and its ProtectedFile does not say allow_empty: true, or when the
// directory has no ProtectedFile at all (there is no file to say it). path
// names the file in the error, e.g. "rules/protected.yaml".
func (s *Set) checkProtected(path string) error {
	switch {
	case !s.protectedFound:
		return fmt.Errorf("%s: %w: the file is missing; create it listing the identities tripline must never act on "+
			"(emails, domains, globs, user_ids), or with `allow_empty: true` to run with nobody protected", path, ErrNoProtected)
	case s.protected.Len() == 0 && !s.protected.AllowEmpty():
		return fmt.Errorf("%s: %w: emails, domains, globs and user_ids are all empty; add the identities tripline must never act on, "+
			"or `allow_empty: true` to run with nobody protected", path, ErrNoProtected)
	}
	return nil
}
