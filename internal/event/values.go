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

// Layouts tried, in order, for string times that parseISO does not read
// (locale and mail formats); RFC 3339 and the other ISO 8601 forms
// ("2006-01-02T15:04:05", "2006-01-02 15:04:05", with or without a
// fraction and a zone) are read by parseISO first.
var timeLayouts = [...]string{
	"1/2/2006 3:04:05 PM",
	"1/2/2006 15:04:05",
	time.RFC1123Z,
	time.RFC1123,
	time.RFC850,
	time.UnixDate,
	time.ANSIC,
	"2006-01-02 15:04:05 -0700 MST",
	"2006-01-02 15:04:05 MST",
}

// parseTimeString parses the string times of the supported sources, in UTC.
// Zone-less values are taken as UTC.
func parseTimeString(s string) (time.Time, bool) {
	if t, ok := parseISO(s); ok {
		return t, true
	}
	if strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' }) < 0 {
		return time.Time{}, false // an epoch number: the caller reads it
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseISO reads the ISO 8601 date-times vendors send, without the
// allocations of time.Parse's failures: YYYY-MM-DD, then 'T', 't' or a
// space, hh:mm:ss, an optional fraction ('.' or ',' and 1-9 digits, more
// are cut), and an optional zone (Z, z, UTC, ±hh:mm, ±hhmm or ±hh, maybe
// after a space). Without a zone the time is UTC.
func parseISO(s string) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	if c := s[10]; c != 'T' && c != 't' && c != ' ' {
		return time.Time{}, false
	}
	year, ok1 := digitsAt(s, 0, 4)
	month, ok2 := digitsAt(s, 5, 2)
	day, ok3 := digitsAt(s, 8, 2)
	hour, ok4 := digitsAt(s, 11, 2)
	minute, ok5 := digitsAt(s, 14, 2)
	sec, ok6 := digitsAt(s, 17, 2)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 ||
		month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest := s[19:]
	nsec := 0
	if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
		i := 1
		scale := 100_000_000
		for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
			nsec += int(rest[i]-'0') * scale
			scale /= 10
		}
		if i == 1 {
			return time.Time{}, false
		}
		rest = rest[i:]
	}
	if len(rest) > 0 && rest[0] == ' ' {
		rest = rest[1:]
	}
	offset := 0
	switch {
	case rest == "", rest == "Z", rest == "z", rest == "UTC":
	case rest[0] == '+' || rest[0] == '-':
		var hh, mm int
		var ok bool
		switch len(rest) {
		case 3: // ±hh
			hh, ok = digitsAt(rest, 1, 2)
		case 5: // ±hhmm
			hh, ok = digitsAt(rest, 1, 2)
			if ok {
				mm, ok = digitsAt(rest, 3, 2)
			}
		case 6: // ±hh:mm
			hh, ok = digitsAt(rest, 1, 2)
			if ok && rest[3] == ':' {
				mm, ok = digitsAt(rest, 4, 2)
			} else {
				ok = false
			}
		}
		if !ok || hh > 23 || mm > 59 {
			return time.Time{}, false
		}
		offset = hh*3600 + mm*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), true
}

// digitsAt reads n decimal digits of s at i.
func digitsAt(s string, i, n int) (int, bool) {
	v := 0
	for _, c := range []byte(s[i : i+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// epochUnit is the unit a source documents for a numeric timestamp.
type epochUnit int

const (
	unitGuess epochUnit = iota // by magnitude: s, ms, µs or ns
	unitMillis
	unitMicros
)

// minEpoch is the earliest time a numeric timestamp may give in the unit
// its source documents (2000-01-01): a value that would be earlier is
// read by its magnitude instead, since vendors send seconds where
// milliseconds are documented and the reverse.
var minEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// epochTime converts a numeric timestamp to UTC: in unit when that gives
// a time after minEpoch, else by magnitude (below 1e11 seconds, below
// 1e14 milliseconds, below 1e17 microseconds, else nanoseconds).
func epochTime(v float64, unit epochUnit) (time.Time, bool) {
	if v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) || v > 9.3e18 {
		return time.Time{}, false
	}
	switch unit {
	case unitMillis:
		if t := time.UnixMilli(int64(v)).UTC(); t.After(minEpoch) {
			return t, true
		}
	case unitMicros:
		if t := time.UnixMicro(int64(v)).UTC(); t.After(minEpoch) {
			return t, true
		}
	}
	switch {
	case v < 1e11:
		return time.Unix(0, int64(math.Round(v*1e3))*1e6).UTC(), true
	case v < 1e14:
		return time.UnixMilli(int64(v)).UTC(), true
	case v < 1e17:
		return time.UnixMicro(int64(v)).UTC(), true
	}
	return time.Unix(0, int64(v)).UTC(), true
}

// time reads a timestamp field: a string (RFC 3339 and the other layouts
// above, or an epoch number in a string) or an epoch number (see
// epochTime). ok is false when the field is absent or cannot be read as a
// time; an unreadable time is not an error (the event keeps it in Raw), so
// the caller tries its next field.
func (d *fields) time(path string, unit epochUnit) (time.Time, bool) {
	switch x := d.get(path).(type) {
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return time.Time{}, false
		}
		if t, ok := parseTimeString(s); ok {
			return t, true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return epochTime(f, unit)
		}
	case float64:
		return epochTime(x, unit)
	}
	return time.Time{}, false
}

// firstTime returns the first readable timestamp among paths.
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
