package event

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Format names a message format. The empty Format asks Decode to detect it.
type Format string

// Supported formats. Their string values are the names used in
// configuration ("topic=format") and by `consumer normalize --format`.
const (
	FormatAuto         Format = ""
	FormatOCSF         Format = "ocsf"
	FormatECS          Format = "ecs"
	FormatElasticAlert Format = "elastic-alert"
	FormatOkta         Format = "okta"
	FormatEntra        Format = "entra"
	FormatOnePassword  Format = "1password"
	FormatGWS          Format = "gws"
	FormatCloudTrail   Format = "cloudtrail"
	FormatGuardDuty    Format = "guardduty"
	FormatGeneric      Format = "generic"
)

// Formats lists the supported formats in detection order (generic last).
func Formats() []Format {
	return []Format{FormatEntra, FormatCloudTrail, FormatGuardDuty, FormatOCSF, FormatElasticAlert,
		FormatECS, FormatOkta, FormatOnePassword, FormatGWS, FormatGeneric}
}

// ParseFormat parses a format name (case-insensitive); "" and "auto" mean
// detection. The error lists the valid names.
func ParseFormat(s string) (Format, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "auto" {
		return FormatAuto, nil
	}
	if s == "onepassword" {
		return FormatOnePassword, nil
	}
	names := make([]string, 0, 11)
	for _, f := range Formats() {
		if string(f) == s {
			return f, nil
		}
		names = append(names, string(f))
	}
	return "", fmt.Errorf("parse format %q: want auto or one of %s", s, strings.Join(names, ", "))
}

// Config configures a Decoder. Zero values select the defaults.
type Config struct {
	// MaxBytes is the largest message accepted (default 1 MiB).
	MaxBytes int
	// MaxDepth is the deepest nesting of objects and arrays accepted
	// (default 64).
	MaxDepth int
	// Generic maps the fields of webhook and home-grown messages. Nil
	// selects DefaultGenericMapping. Detection only picks the generic format
	// for Splunk and Panther webhook shapes; other topics must pin
	// FormatGeneric.
	Generic *GenericMapping
}

// Decoder turns Kafka message values into normalized events. It holds no
// mutable state and is safe for concurrent use.
type Decoder struct {
	maxBytes int
	maxDepth int
	generic  compiledMapping
}

// NewDecoder applies the defaults of cfg and validates it.
func NewDecoder(cfg Config) (*Decoder, error) {
	if cfg.MaxBytes < 0 || cfg.MaxDepth < 0 {
		return nil, errors.New("new decoder: MaxBytes and MaxDepth must not be negative")
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxDepth == 0 {
		cfg.MaxDepth = DefaultMaxDepth
	}
	m := cfg.Generic
	if m == nil {
		m = DefaultGenericMapping()
	}
	g, err := compileMapping(m)
	if err != nil {
		return nil, fmt.Errorf("new decoder: %w", err)
	}
	return &Decoder{maxBytes: cfg.MaxBytes, maxDepth: cfg.MaxDepth, generic: g}, nil
}

// Decode normalizes one message value. format pins the format; FormatAuto
// detects it. A batch message gives one event per item. When some items of
// a batch fail, Decode returns the good events AND an *Error listing the
// failed items (see ReasonPartial), so no item is dropped silently. Every
// error is an *Error; Reason gives its code.
func (d *Decoder) Decode(value []byte, format Format) ([]Event, error) {
	if err := checkSize(value, d.maxBytes, format); err != nil {
		return nil, err
	}
	v, err := parseJSON(value, d.maxDepth)
	if err != nil {
		// The parser stops at the first problem; checkLimits ranks invalid
		// UTF-8 before too deep before invalid JSON, wherever they are.
		if lerr := checkLimits(value, d.maxBytes, d.maxDepth, format); lerr != nil {
			return nil, lerr
		}
		if errors.Is(err, errTooDeep) {
			return nil, newError(ReasonTooDeep, format, "nesting deeper than %d levels", d.maxDepth)
		}
		return nil, &Error{Reason: ReasonInvalidJSON, Format: format, Err: fmt.Errorf("invalid json: %w", err)}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, newError(ReasonNotObject, format, "want a JSON object, got %s", typeName(v))
	}
	if format == FormatAuto {
		if format = sniff(m); format == FormatAuto {
			return nil, newError(ReasonUnknownFormat, "", "no supported format recognised (top-level keys: %s)", keyList(m))
		}
	}
	return d.decodeAs(m, format)
}

func (d *Decoder) decodeAs(m map[string]any, f Format) ([]Event, error) {
	switch f {
	case FormatOCSF:
		return single(ocsfEvent(m))
	case FormatECS:
		return single(ecsEvent(m))
	case FormatElasticAlert:
		return single(elasticAlertEvent(m))
	case FormatOkta:
		return decodeOkta(m)
	case FormatEntra:
		return decodeEntra(m)
	case FormatOnePassword:
		return decodeOnePassword(m)
	case FormatGWS:
		return decodeGWS(m)
	case FormatCloudTrail:
		return decodeCloudTrail(m)
	case FormatGuardDuty:
		return single(guardDutyEvent(m))
	case FormatGeneric:
		return single(d.generic.event(m))
	}
	_, err := ParseFormat(string(f))
	return nil, &Error{Reason: ReasonUnknownFormat, Format: f, Err: err}
}

func single(e Event, err *Error) ([]Event, error) {
	if err != nil {
		return nil, err
	}
	return []Event{e}, nil
}

// itemFunc normalizes one item of a batch into one or more events, which
// it appends to dst. On error it returns dst unchanged.
type itemFunc func(dst []Event, m map[string]any) ([]Event, *Error)

func one(fn func(map[string]any) (Event, *Error)) itemFunc {
	return func(dst []Event, m map[string]any) ([]Event, *Error) {
		e, err := fn(m)
		if err != nil {
			return dst, err
		}
		return append(dst, e), nil
	}
}

func many(fn func(map[string]any) ([]Event, *Error)) itemFunc {
	return func(dst []Event, m map[string]any) ([]Event, *Error) {
		evs, err := fn(m)
		if err != nil {
			return dst, err
		}
		return append(dst, evs...), nil
	}
}

// decodeBatch normalizes every item. Failed items are collected: if some
// items succeed the error has ReasonPartial; if all fail it has their
// common reason, or ReasonPartial when the reasons differ.
func decodeBatch(f Format, path string, items []any, fn itemFunc) ([]Event, error) {
	if len(items) == 0 {
		return nil, newError(ReasonEmptyBatch, f, "batch %q has no items", path)
	}
	events := make([]Event, 0, len(items))
	var failed []ItemError
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			failed = append(failed, ItemError{i, &Error{Reason: ReasonNotObject, Format: f, Err: notObjectError{path, i, it}}})
			continue
		}
		var err *Error
		if events, err = fn(events, m); err != nil {
			failed = append(failed, ItemError{i, err})
		}
	}
	if len(failed) == 0 {
		return events, nil
	}
	return events, batchError(f, path, len(items), len(events), failed)
}

func batchError(f Format, path string, n, good int, failed []ItemError) *Error {
	reason := ReasonPartial
	if good == 0 {
		reason = failed[0].Err.Reason
		for _, it := range failed[1:] {
			if it.Err.Reason != reason {
				reason = ReasonPartial
				break
			}
		}
	}
	return &Error{
		Reason: reason,
		Format: f,
		Err:    fmt.Errorf("%d of %d items of %q failed", len(failed), n, path),
		Items:  failed,
	}
}

// keyList names up to eight top-level keys, for error messages.
func keyList(m map[string]any) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, strconv.Quote(k))
	}
	slices.Sort(keys)
	if len(keys) > 8 {
		keys = append(keys[:8], "...")
	}
	return strings.Join(keys, ", ")
}

// notObjectError is a batch item that is not an object. It formats its
// message only when asked, so a huge array of junk stays cheap.
type notObjectError struct {
	path  string
	index int
	value any
}

func (e notObjectError) Error() string {
	return fmt.Sprintf("%s[%d]: want an object, got %s", e.path, e.index, typeName(e.value))
}
