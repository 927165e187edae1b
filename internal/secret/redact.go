package secret

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Redact returns s with every credential it can recognise replaced by
// Redacted, for text that came from outside (an HTTP error body, an error
// built from one) before it goes into an error, a log line or a span:
//
//   - each non-empty secret, as is, URL-encoded (query and path escaping,
//     either hex case), JSON-escaped and base64-encoded (standard and URL
//     alphabets, padded or not). To cover an HTTP Basic credential, pass
//     "id:secret" (and the form with both halves URL-encoded, as OAuth2
//     clients send it) as a secret: its base64 form is the header value;
//   - the value after a "Bearer" or "Basic" scheme name, unless it is a plain
//     lower-case word ("bearer token"), so credentials Redact was not given
//     are caught too;
//   - the value of an access_token, refresh_token, id_token, client_secret
//     or password key, in form (key=value) or JSON ("key":"value") style.
//
// Every secret is removed however short, so a one-letter secret removes
// that letter everywhere: safe, if unreadable. Redact is meant for error
// paths, not hot loops.
func Redact(s string, secrets ...Value) string {
	if s == "" {
		return s
	}
	if re := secretsPattern(s, secrets); re != nil {
		s = re.ReplaceAllLiteralString(s, Redacted)
	}
	s = schemePattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := schemePattern.FindStringSubmatch(m)
		if plainWord.MatchString(strings.TrimRight(sub[3], "=")) {
			return m
		}
		return sub[1] + sub[2] + Redacted
	})
	return keyValuePattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := keyValuePattern.FindStringSubmatch(m)
		if sub[2] == Redacted {
			return m
		}
		return sub[1] + Redacted
	})
}

var (
	// schemePattern matches an HTTP auth scheme and its credential (RFC 6750
	// b64token, RFC 7617 base64), separated by spaces or an encoded space.
	schemePattern = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+|%20|\+)([A-Za-z0-9\-._~+/]+=*)`)
	// plainWord is a lower-case word, not a credential ("bearer token").
	plainWord = regexp.MustCompile(`^[a-z]+$`)
	// keyValuePattern matches key=value, key: value and "key":"value" for
	// keys that name a credential.
	keyValuePattern = regexp.MustCompile(`(?i)(\b(?:access_token|refresh_token|id_token|client_secret|password)["']?\s*[:=]\s*["']?)([^"'&\s,;}]+)`)
)

// secretsPattern builds one alternation of every form of every secret that
// occurs in s, longest first so that a longer form wins over a shorter one
// at the same place; nil when none occurs (the common case, which then
// costs no regexp compilation).
func secretsPattern(s string, secrets []Value) *regexp.Regexp {
	lower := strings.ToLower(s)
	seen := map[string]bool{}
	var forms []string
	add := func(f string) {
		if f == "" || seen[f] {
			return
		}
		seen[f] = true
		if strings.Contains(s, f) || (strings.Contains(f, "%") && strings.Contains(lower, strings.ToLower(f))) {
			forms = append(forms, f)
		}
	}
	for _, v := range secrets {
		raw := v.Reveal()
		if raw == "" {
			continue
		}
		add(raw)
		add(url.QueryEscape(raw))
		add(url.PathEscape(raw))
		if j, err := json.Marshal(raw); err == nil {
			add(string(j[1 : len(j)-1]))
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			add(enc.EncodeToString([]byte(raw)))
		}
	}
	if len(forms) == 0 {
		return nil
	}
	slices.SortFunc(forms, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	alts := make([]string, len(forms))
	for i, f := range forms {
		alts[i] = regexp.QuoteMeta(f)
		if strings.Contains(f, "%") {
			// Percent-encoding may use either hex case.
			alts[i] = "(?i:" + alts[i] + ")"
		}
	}
	return regexp.MustCompile(strings.Join(alts, "|"))
}
