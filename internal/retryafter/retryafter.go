// Package retryafter reads the Retry-After header of an HTTP answer, the
// wait a server asks for before the next attempt (the Users API's and the
// notification sinks' 429 and 503 answers).
package retryafter

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Max bounds the wait a server can ask for.
const Max = time.Hour

// Parse reads a Retry-After value given as delay seconds or as an HTTP date
// (relative to now). It returns 0 for an absent, invalid or past value and
// caps the result at Max.
func Parse(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(Max/time.Second) {
			return Max
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 {
		return 0
	}
	return min(d, Max)
}
