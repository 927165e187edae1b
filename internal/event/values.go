package event

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// outcomeWord maps common outcome spellings (any case) to an Outcome
// constant; ok is false for words it does not know.
func outcomeWord(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "success", "succeeded", "successful", "allow", "allowed", "ok", "pass", "passed":
		return OutcomeSuccess, true
	case "failure", "failed", "fail", "error", "invalid":
		return OutcomeFailure, true
	case "blocked", "block", "deny", "denied", "rate_limit", "quarantine", "locked", "locked_out":
		return OutcomeBlocked, true
	case "challenge", "challenged", "mfa_required", "mfa":
		return OutcomeChallenge, true
	case "unknown", "":
		return OutcomeUnknown, true
	}
	return OutcomeUnknown, false
}

// riskWord maps common risk or severity spellings (any case) to a Risk
// constant; ok is false for words it does not know.
func riskWord(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none", "info", "informational", "information", "no_risk":
		return RiskNone, true
	case "low":
		return RiskLow, true
	case "medium", "moderate", "med":
		return RiskMedium, true
	case "high":
		return RiskHigh, true
	case "critical", "fatal", "severe":
		return RiskCritical, true
	case "unknown", "hidden", "unknownfuturevalue", "other", "":
		return RiskUnknown, true
	}
	return RiskUnknown, false
}

// riskFromScore buckets a 0-100 score: 0 none, 1-39 low, 40-69 medium,
// 70-89 high, 90-100 critical.
func riskFromScore(score int) string {
	switch {
	case score <= 0:
		return RiskNone
	case score < 40:
		return RiskLow
	case score < 70:
		return RiskMedium
	case score < 90:
		return RiskHigh
	}
	return RiskCritical
}

// riskRank orders risk levels; unknown ranks below none.
func riskRank(r string) int {
	switch r {
	case RiskNone:
		return 1
	case RiskLow:
		return 2
	case RiskMedium:
		return 3
	case RiskHigh:
		return 4
	case RiskCritical:
		return 5
	}
	return 0
}

func maxRisk(a, b string) string {
	if riskRank(b) > riskRank(a) {
		return b
	}
	return a
}

// email returns s trimmed, with its ASCII letters lower-cased, if it looks
// like an email address (one '@', no spaces, a dotted domain), else "".
// Other characters are kept as they are: an address that Unicode case
// folding or NFKC would change is refused by finish (ambiguous_identity),
// so it must reach finish unchanged (strings.ToLower would turn the Kelvin
// sign into a plain k).
func email(s string) string {
	s = strings.TrimSpace(s)
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') || strings.ContainsAny(s, " \t\r\n<>,;") {
		return ""
	}
	domain := s[at+1:]
	dot := strings.IndexByte(domain, '.')
	if dot <= 0 || domain[len(domain)-1] == '.' {
		return ""
	}
	return asciiLower(s)
}

// asciiLower lower-cases the ASCII letters of s, leaving other bytes alone.
// It allocates only when there is an upper-case letter.
func asciiLower(s string) string {
	i := 0
	for i < len(s) && (s[i] < 'A' || s[i] > 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if 'A' <= b[i] && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

// Layouts tried, in order, for string times without a time zone or in
// locale formats; RFC 3339 (any fraction, Z or offset) is tried first.
var timeLayouts = [...]string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"1/2/2006 3:04:05 PM",
	"1/2/2006 15:04:05",
	time.RFC1123Z,
	time.RFC1123,
}

// parseTimeString parses the string times of the supported sources, in UTC.
// Zone-less values are taken as UTC.
func parseTimeString(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), true
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// epochUnit is the unit of a numeric timestamp.
type epochUnit int

const (
	unitGuess epochUnit = iota // by magnitude: s, ms, µs or ns
	unitMillis
	unitMicros
)

// epochTime converts a numeric timestamp to UTC.
func epochTime(v float64, unit epochUnit) (time.Time, bool) {
	if v <= 0 || math.IsInf(v, 0) || v > 9.3e18 {
		return time.Time{}, false
	}
	if unit == unitGuess {
		switch {
		case v < 1e11:
			return time.Unix(0, int64(math.Round(v*1e3))*1e6).UTC(), true
		case v < 1e14:
			unit = unitMillis
		case v < 1e17:
			unit = unitMicros
		default:
			return time.Unix(0, int64(v)).UTC(), true
		}
	}
	if unit == unitMillis {
		return time.UnixMilli(int64(v)).UTC(), true
	}
	return time.UnixMicro(int64(v)).UTC(), true
}

// time reads a timestamp field: a string (RFC 3339 and the other layouts
// above, or digits) or a number in the given unit. ok is false when absent.
func (d *fields) time(path string, unit epochUnit) (time.Time, bool) {
	v := d.get(path)
	switch x := v.(type) {
	case nil:
		return time.Time{}, false
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return time.Time{}, false
		}
		if t, ok := parseTimeString(s); ok {
			return t, true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			if t, ok := epochTime(f, unit); ok {
				return t, true
			}
		}
		d.fail(path, "cannot parse time "+quote(x))
	case float64:
		if t, ok := epochTime(x, unit); ok {
			return t, true
		}
		d.fail(path, "epoch time "+strconv.FormatFloat(x, 'f', -1, 64)+" out of range")
	default:
		d.fail(path, "want a time, got "+typeName(v))
	}
	return time.Time{}, false
}

// firstTime returns the first present timestamp among paths.
func (d *fields) firstTime(unit epochUnit, paths ...string) time.Time {
	for _, p := range paths {
		if t, ok := d.time(p, unit); ok {
			return t
		}
	}
	return time.Time{}
}

// prefixID returns source:id, or "" when id is empty: finish then hashes
// the document, once the event is known to be good (hashing a document
// costs as much as parsing it).
func prefixID(source, id string) string {
	if id == "" {
		return ""
	}
	return source + ":" + id
}
