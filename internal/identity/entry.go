package identity

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"unicode"
)

// listKind is one of the four lists of a protected-identities file.
type listKind struct {
	label string // prefix of the entry Match reports, e.g. "email"
	// check returns what is wrong with an entry, or "" when it is valid.
	// raw is the entry as written (trimmed), folded is Fold(raw).
	check func(raw, folded string) string
}

// kindOf returns the list kind of a top-level key.
func kindOf(key string) (listKind, bool) {
	switch key {
	case "emails":
		return listKind{"email", checkEmail}, true
	case "domains":
		return listKind{"domain", checkDomain}, true
	case "globs":
		return listKind{"glob", checkGlob}, true
	case "user_ids":
		return listKind{"user_id", checkUserID}, true
	}
	return listKind{}, false
}

// add stores a checked entry; of equal folded values the first one is kept.
func (p *Protected) add(kind listKind, folded, entry string) {
	put := func(m *map[string]string) {
		if *m == nil {
			*m = make(map[string]string)
		}
		if _, dup := (*m)[folded]; !dup {
			(*m)[folded] = entry
		}
	}
	switch kind.label {
	case "email":
		put(&p.emails)
	case "domain":
		put(&p.domains)
	case "user_id":
		put(&p.userIDs)
	case "glob":
		for _, g := range p.globs {
			if g.pattern == folded {
				return
			}
		}
		p.globs = append(p.globs, globEntry{pattern: folded, entry: entry})
	}
}

func checkEmail(raw, folded string) string {
	if folded == "" {
		return "empty email address"
	}
	if hasSpace(folded) {
		return fmt.Sprintf("%q contains white space", raw)
	}
	local, domain, ok := strings.Cut(folded, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return fmt.Sprintf("%q is not an email address (expected local@domain)", raw)
	}
	return ""
}

func checkDomain(raw, folded string) string {
	switch {
	case folded == "":
		return "empty domain"
	case strings.HasPrefix(folded, "@"):
		return fmt.Sprintf("%q starts with @ (write the domain without @)", raw)
	case strings.Contains(folded, "@"):
		return fmt.Sprintf("%q is not a domain (list email addresses under emails)", raw)
	case strings.ContainsAny(folded, `*?[]\`):
		return fmt.Sprintf("%q contains a wildcard (a domain already covers its subdomains; use globs for patterns)", raw)
	case hasSpace(folded):
		return fmt.Sprintf("%q contains white space", raw)
	case strings.HasPrefix(folded, ".") || strings.HasSuffix(folded, "."):
		return fmt.Sprintf("%q starts or ends with a dot (write the domain without it; subdomains are covered)", raw)
	case strings.Contains(folded, ".."):
		return fmt.Sprintf("%q has an empty label (\"..\")", raw)
	}
	return ""
}

func checkGlob(raw, folded string) string {
	if folded == "" {
		return "empty pattern"
	}
	if _, err := path.Match(folded, ""); errors.Is(err, path.ErrBadPattern) {
		return fmt.Sprintf("%q is not a valid pattern (path.Match syntax: *, ?, [a-z], \\ to escape)", raw)
	}
	if !strings.Contains(folded, "@") {
		return fmt.Sprintf("%q does not contain @ (a glob matches whole email addresses, e.g. svc-*@example.com)", raw)
	}
	return ""
}

func checkUserID(raw, folded string) string {
	if folded == "" {
		return "empty user id"
	}
	if hasSpace(folded) {
		return fmt.Sprintf("%q contains white space", raw)
	}
	return ""
}

// hasSpace reports whether s contains a white space character.
func hasSpace(s string) bool { return strings.IndexFunc(s, unicode.IsSpace) >= 0 }
