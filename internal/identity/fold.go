package identity

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Fold returns the form identities are compared in: surrounding white space
// trimmed, Unicode NFKC normalization, then full Unicode case folding
// (cases.Fold), then NFKC again. "BreakGlass@Example.com", full-width
// "ＢｒｅａｋＧｌａｓｓ@example.com" and "breakglass@example.com" all fold to
// "breakglass@example.com".
//
// Fast path: a pure-ASCII input is only trimmed and ASCII-lower-cased,
// without allocating when it is already folded. Fold is idempotent:
// Fold(Fold(s)) == Fold(s).
func Fold(s string) string {
	if isASCII(s) {
		return asciiFold(s)
	}
	t := norm.NFKC.String(strings.TrimSpace(s))
	// A Caser keeps state between calls, so each call makes its own.
	t = norm.NFKC.String(foldCherokee(cases.Fold().String(t)))
	// Normalization can expose white space at either end (U+00A8 DIAERESIS
	// decomposes to a space and a combining mark), so trim again to keep
	// Fold idempotent.
	return strings.TrimSpace(t)
}

// Ambiguous reports whether s folds differently from its plain ASCII
// lower-casing: it contains non-ASCII characters that fold or normalize onto
// other characters (the Kelvin sign K U+212A, the dotted capital I U+0130,
// full-width letters, ligatures such as "ﬀ", decomposed accents). Such an
// address could be a look-alike of a real one.
//
// Pure ASCII input is never ambiguous. An address whose non-ASCII characters
// are unchanged by NFKC and case folding (e.g. "josé@example.com" in NFC
// lower case) is not ambiguous either.
func Ambiguous(s string) bool {
	if isASCII(s) {
		return false
	}
	return Fold(s) != asciiFold(s)
}

// foldCherokee maps Cherokee small letters to the capital letters that
// Unicode case folding gives them (CaseFolding.txt: U+AB70..U+ABBF to
// U+13A0..U+13EF, U+13F8..U+13FD to U+13F0..U+13F5). cases.Fold instead
// swaps capitals and small letters, so folding twice is not the same as
// folding once (golang/go#46101). strings.Map allocates only on a change.
func foldCherokee(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 0xAB70 <= r && r <= 0xABBF:
			return r - 0xAB70 + 0x13A0
		case 0x13F8 <= r && r <= 0x13FD:
			return r - 0x13F8 + 0x13F0
		}
		return r
	}, s)
}

// isASCII reports whether s holds only ASCII bytes.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// asciiFold trims s and lower-cases its ASCII letters, leaving every other
// byte alone. It allocates only when there is an upper-case letter.
func asciiFold(s string) string {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && !isASCIIUpper(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if isASCIIUpper(b[i]) {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

func isASCIIUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
