package rules

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Limit caps how many suspensions a rule may cause in a sliding window. It
// is written COUNT/WINDOW in a rule (`max_actions: 10/1h`). The zero value
// means no cap. The rules package only parses it; the decision service
// enforces it.
type Limit struct {
	Count  int           // at most this many actions...
	Window time.Duration // ...within any window of this length
}

// String returns the limit as written in a rule, with the window in its
// shortest form ("10/1h", "20/10m", "3/1h30m"), or "" for no cap.
func (l Limit) String() string {
	if l == (Limit{}) {
		return ""
	}
	return strconv.Itoa(l.Count) + "/" + shortDuration(l.Window)
}

// errBadLimit is the problem reported for any malformed limit.
var errBadLimit = errors.New("not COUNT/WINDOW")

// parseLimit parses COUNT/WINDOW: COUNT an integer of at least 1, WINDOW a
// positive Go duration.
func parseLimit(s string) (Limit, error) {
	count, window, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Limit{}, errBadLimit
	}
	n, err := strconv.Atoi(strings.TrimSpace(count))
	if err != nil || n < 1 {
		return Limit{}, errBadLimit
	}
	d, err := time.ParseDuration(strings.TrimSpace(window))
	if err != nil || d <= 0 {
		return Limit{}, errBadLimit
	}
	return Limit{Count: n, Window: d}, nil
}

// shortDuration formats d like time.Duration.String without the trailing
// zero units: 1h rather than 1h0m0s, 10m rather than 10m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
