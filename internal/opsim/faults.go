package opsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Endpoint names, as used in Faults and Request.Endpoint.
const (
	EndpointToken      = "token"
	EndpointRevoke     = "revoke"
	EndpointList       = "list"
	EndpointGet        = "get"
	EndpointSuspend    = "suspend"
	EndpointReactivate = "reactivate"
	// EndpointAny is the Faults key that applies to every endpoint
	// without its own entry.
	EndpointAny = "*"
)

// Fault is the fault injection for one endpoint. Rates are 0..1 and are
// rolled once per request against one random number: a request fails with
// 429 with probability Rate429, else with 500 with probability Rate500,
// else with 503 with probability Rate503 (rates summing past 1 saturate in
// that order). Faults are injected after the route matched and before any
// authentication.
type Fault struct {
	// Latency is added to each request (JSON "latency_ms", milliseconds).
	Latency time.Duration
	// Rate429 is the rate of 429 {"code":8,"message":"rate_limited"}
	// answers (JSON "rate_429").
	Rate429 float64
	// RetryAfter is the Retry-After header value in seconds on 429
	// answers; 0 omits the header (JSON "retry_after").
	RetryAfter int
	// Rate500 is the rate of 500 {"code":13,"message":"internal"} answers
	// (JSON "rate_500").
	Rate500 float64
	// Rate503 is the rate of 503 {"code":14,"message":"unavailable"}
	// answers (JSON "rate_503").
	Rate503 float64
}

// faultJSON is the JSON form of Fault.
type faultJSON struct {
	LatencyMS  int64   `json:"latency_ms,omitempty"`
	Rate429    float64 `json:"rate_429,omitempty"`
	RetryAfter int     `json:"retry_after,omitempty"`
	Rate500    float64 `json:"rate_500,omitempty"`
	Rate503    float64 `json:"rate_503,omitempty"`
}

// MarshalJSON encodes f with snake_case keys and the latency in milliseconds.
func (f Fault) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultJSON{
		LatencyMS:  f.Latency.Milliseconds(),
		Rate429:    f.Rate429,
		RetryAfter: f.RetryAfter,
		Rate500:    f.Rate500,
		Rate503:    f.Rate503,
	})
}

// UnmarshalJSON decodes the form MarshalJSON writes; unknown keys are errors.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j faultJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("decode fault: %w", err)
	}
	*f = Fault{
		Latency:    time.Duration(j.LatencyMS) * time.Millisecond,
		Rate429:    j.Rate429,
		RetryAfter: j.RetryAfter,
		Rate500:    j.Rate500,
		Rate503:    j.Rate503,
	}
	return nil
}

// Validate reports every out-of-range value.
func (f Fault) Validate() error {
	var errs []error
	if f.Latency < 0 {
		errs = append(errs, fmt.Errorf("negative latency %v", f.Latency))
	}
	if f.RetryAfter < 0 {
		errs = append(errs, fmt.Errorf("negative retry_after %d", f.RetryAfter))
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"rate_429", f.Rate429}, {"rate_500", f.Rate500}, {"rate_503", f.Rate503}} {
		if !(r.v >= 0 && r.v <= 1) {
			errs = append(errs, fmt.Errorf("%s %v not in 0..1", r.name, r.v))
		}
	}
	return errors.Join(errs...)
}

// Faults maps an endpoint name to its Fault. Names are "token", "revoke",
// "list", "get", "suspend", "reactivate", and "*", which applies to every
// endpoint without its own entry. A name may be narrowed to one user,
// "suspend:<user id>" or "*:<user id>": for a request about that user
// (get, suspend, reactivate), the most precise entry applies, in the order
// "endpoint:user", "*:user", "endpoint", "*".
type Faults map[string]Fault

// Validate reports unknown endpoint names and out-of-range values.
func (fs Faults) Validate() error {
	var errs []error
	for key, f := range fs {
		name, user, narrowed := strings.Cut(key, ":")
		if narrowed && (user == "" || name == EndpointToken || name == EndpointRevoke || name == EndpointList) {
			errs = append(errs, fmt.Errorf("faults: %q: only get, suspend, reactivate and * can be narrowed to a user id", key))
			continue
		}
		switch name {
		case EndpointToken, EndpointRevoke, EndpointList, EndpointGet,
			EndpointSuspend, EndpointReactivate, EndpointAny:
		default:
			errs = append(errs, fmt.Errorf("faults: unknown endpoint %q", name))
			continue
		}
		if err := f.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("faults[%q]: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// clone returns a copy of fs that never aliases it (never nil).
func (fs Faults) clone() Faults {
	out := make(Faults, len(fs))
	for k, v := range fs {
		out[k] = v
	}
	return out
}

// SetFaults replaces the fault settings. Use Faults.Validate first when
// the values come from outside; out-of-range rates saturate.
func (s *Server) SetFaults(f Faults) {
	c := f.clone()
	s.mu.Lock()
	s.faults = c
	s.mu.Unlock()
}

// faultsCopy returns the current fault settings.
func (s *Server) faultsCopy() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.clone()
}

// injectedFault is the outcome of a fault roll.
type injectedFault struct {
	status     int // 0: no fault
	retryAfter int
}

// rollFault picks the fault settings of the endpoint (and of the user the
// request is about, if any) and rolls the dice.
func (s *Server) rollFault(endpoint, userID string) (time.Duration, injectedFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := []string{endpoint, EndpointAny}
	if userID != "" {
		keys = []string{endpoint + ":" + userID, EndpointAny + ":" + userID, endpoint, EndpointAny}
	}
	var f Fault
	var ok bool
	for _, k := range keys {
		if f, ok = s.faults[k]; ok {
			break
		}
	}
	if !ok {
		return 0, injectedFault{}
	}
	var out injectedFault
	if f.Rate429 > 0 || f.Rate500 > 0 || f.Rate503 > 0 {
		x := s.rand.Float64()
		switch {
		case x < f.Rate429:
			out = injectedFault{status: http.StatusTooManyRequests, retryAfter: f.RetryAfter}
		case x < f.Rate429+f.Rate500:
			out.status = http.StatusInternalServerError
		case x < f.Rate429+f.Rate500+f.Rate503:
			out.status = http.StatusServiceUnavailable
		}
	}
	return f.Latency, out
}

// writeFault answers an injected fault in the endpoint's error style.
func writeFault(w http.ResponseWriter, endpoint string, f injectedFault) {
	oauth := endpoint == EndpointToken || endpoint == EndpointRevoke
	switch f.status {
	case http.StatusTooManyRequests:
		if f.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
		}
		if oauth {
			writeOAuthError(w, f.status, "temporarily_unavailable", "rate_limited")
			return
		}
		writeStatus(w, f.status, codeResourceExhausted, "rate_limited")
	case http.StatusInternalServerError:
		if oauth {
			writeOAuthError(w, f.status, "server_error", "internal")
			return
		}
		writeStatus(w, f.status, codeInternal, "internal")
	default:
		if oauth {
			writeOAuthError(w, f.status, "temporarily_unavailable", "unavailable")
			return
		}
		writeStatus(w, f.status, codeUnavailable, "unavailable")
	}
}
