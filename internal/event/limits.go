package event

import (
	"unicode/utf8"
)

// Default limits applied by NewDecoder when the Config leaves them zero.
const (
	DefaultMaxBytes = 1 << 20
	DefaultMaxDepth = 64
	// DefaultMaxItems is ten times the largest page the supported APIs
	// return (1Password and Google Workspace give at most 1,000 items).
	DefaultMaxItems = 10_000
)

// Caps on the fields of a normalized event, checked as each field is read.
// A message is untrusted: anyone who can write to a SIEM topic controls
// every byte of it.
//
// An identity, IP address, country or city longer than its cap refuses
// the event (bad_field, naming the field, its length and the cap): a
// shortened identity could name someone else. Reasons are only evidence,
// so they are cut instead: each to MaxReasonLen bytes, the list to
// MaxReasons values, and Event.ReasonsTruncated counts what was cut.
const (
	// MaxIdentityLen is the most bytes of an email, a user id, a user
	// name, a 1Password user id, or a native event id (the part of
	// event_id after "<source>:"). 254 is the longest email address SMTP
	// allows.
	MaxIdentityLen = 254
	// MaxIPLen is the most bytes of a source IP address (an IPv6 address
	// with a zone fits).
	MaxIPLen = 64
	// MaxGeoLen is the most bytes of a country or city.
	MaxGeoLen = 128
	// MaxReasonLen is the most bytes of one reason; a longer one is cut on
	// a UTF-8 boundary.
	MaxReasonLen = 256
	// MaxReasons is the most reasons an event keeps; later distinct ones
	// are counted in Event.ReasonsTruncated.
	MaxReasons = 64
)

// truncateUTF8 returns the longest prefix of s of at most n bytes that does
// not split a UTF-8 sequence.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// checkSize rejects a message before it is parsed: empty or blank, or
// larger than maxBytes.
func checkSize(value []byte, maxBytes int, f Format) *Error {
	if isBlank(value) {
		return newError(ReasonEmpty, f, "empty message")
	}
	if len(value) > maxBytes {
		return newError(ReasonTooLarge, f, "message of %d bytes exceeds the limit of %d", len(value), maxBytes)
	}
	return nil
}

// checkLimits rejects a message that is empty or blank, larger than
// maxBytes, not UTF-8, or nested deeper than maxDepth, in that order of
// precedence. Decode parses first (the parser validates UTF-8 and depth in
// the same pass) and calls checkLimits only when parsing fails, so that a
// message breaking several rules is reported with the same reason whichever
// problem the parser met first. The depth check is a linear byte scan
// without recursion that stops at the first level past the limit, so a
// 10,000-deep value costs a few dozen bytes of work.
func checkLimits(value []byte, maxBytes, maxDepth int, f Format) *Error {
	if err := checkSize(value, maxBytes, f); err != nil {
		return err
	}
	if !utf8.Valid(value) {
		return newError(ReasonInvalidUTF8, f, "message is not valid UTF-8")
	}
	if at := depthExceeded(value, maxDepth); at >= 0 {
		return newError(ReasonTooDeep, f, "nesting deeper than %d levels at byte %d", maxDepth, at)
	}
	return nil
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// depthExceeded returns the offset where the nesting of objects and arrays
// first exceeds maxDepth, or -1. Brackets inside strings are skipped.
func depthExceeded(b []byte, maxDepth int) int {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{', '[':
			depth++
			if depth > maxDepth {
				return i
			}
		case '}', ']':
			depth--
		case '"':
			i = skipString(b, i+1)
		}
	}
	return -1
}

// skipString returns the index of the closing quote of the string whose
// first content byte is at i (len(b) when it is unterminated).
func skipString(b []byte, i int) int {
	for ; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return len(b)
}
