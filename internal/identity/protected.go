package identity

import (
	"path"
	"strings"
)

// Protected is a list of identities the decision service never acts on.
// The zero value and a nil *Protected protect nobody. It is immutable and
// safe for concurrent use. ParseProtected builds one from a file.
type Protected struct {
	// Each map is keyed by the folded value and holds the entry as written,
	// e.g. "email BreakGlass@example.com". The first of duplicates wins.
	userIDs map[string]string
	emails  map[string]string
	domains map[string]string
	globs   []globEntry // in file order, without duplicates
	// allowEmpty is the file's allow_empty: an empty list is meant.
	allowEmpty bool
}

// globEntry is one entry of the globs list.
type globEntry struct {
	pattern string // folded, valid for path.Match
	entry   string
}

// Match reports whether the user with this 1Password user id and email is
// protected, and which entry protects them, e.g. `email
// breakglass@example.com`, `domain admins.example.com`, `glob
// svc-*@example.com` or `user_id WVRQ4RGKJ5GNXGBWRXD5X3DLOI` (the entry as
// written in the file).
//
// Both id and email are compared after Fold; an empty id or email matches
// nothing of its kind. When several entries match, user ids win over emails,
// emails over domains and domains over globs; globs are tried in file order.
func (p *Protected) Match(userID, email string) (entry string, ok bool) {
	if p == nil {
		return "", false
	}
	if id := Fold(userID); id != "" {
		if entry, ok := p.userIDs[id]; ok {
			return entry, true
		}
	}
	e := Fold(email)
	if e == "" {
		return "", false
	}
	if entry, ok := p.emails[e]; ok {
		return entry, true
	}
	if entry, ok := p.matchDomain(e); ok {
		return entry, true
	}
	for _, g := range p.globs {
		if ok, _ := path.Match(g.pattern, e); ok {
			return g.entry, true
		}
	}
	return "", false
}

// matchDomain matches the domain of the folded email e (after its last "@")
// and each parent domain of it against the domains entries.
func (p *Protected) matchDomain(e string) (string, bool) {
	at := strings.LastIndexByte(e, '@')
	if at < 0 || len(p.domains) == 0 {
		return "", false
	}
	for d := e[at+1:]; d != ""; {
		if entry, ok := p.domains[d]; ok {
			return entry, true
		}
		dot := strings.IndexByte(d, '.')
		if dot < 0 {
			break
		}
		d = d[dot+1:]
	}
	return "", false
}

// Len returns the number of entries. Entries that are equal after Fold
// (duplicates) count once.
func (p *Protected) Len() int {
	if p == nil {
		return 0
	}
	return len(p.userIDs) + len(p.emails) + len(p.domains) + len(p.globs)
}

// AllowEmpty reports whether the file says `allow_empty: true`: protecting
// nobody is meant, not an accident (a file saved empty). It says nothing
// about Len; a list with entries may say it too. A nil *Protected returns
// false.
func (p *Protected) AllowEmpty() bool { return p != nil && p.allowEmpty }
