package event

import (
	"unicode/utf8"
)

// Default limits applied by NewDecoder when the Config leaves them zero.
const (
	DefaultMaxBytes = 1 << 20
	DefaultMaxDepth = 64
)

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
