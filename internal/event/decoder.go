package event

import (
	"errors"
	"fmt"
	"slices"
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
	// MaxItems is the most items a batch message may hold, the most
	// events one message may give, and the most keys of any object
	// (default 10,000; see DefaultMaxItems). A message past it is refused
	// whole as too_large, so that a megabyte of two-byte items cannot
	// become hundreds of thousands of events or dead letters.
	MaxItems int
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
	maxItems int
	generic  compiledMapping
}

// NewDecoder applies the defaults of cfg and validates it.
func NewDecoder(cfg Config) (*Decoder, error) {
	if cfg.MaxBytes < 0 || cfg.MaxDepth < 0 || cfg.MaxItems < 0 {
		return nil, errors.New("new decoder: MaxBytes, MaxDepth and MaxItems must not be negative")
	}
	if cfg.MaxItems == 0 {
		cfg.MaxItems = DefaultMaxItems
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
	return &Decoder{maxBytes: cfg.MaxBytes, maxDepth: cfg.MaxDepth, maxItems: cfg.MaxItems, generic: g}, nil
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
	doc, err := parseDocument(value, d.maxDepth, d.maxItems)
	if err != nil {
		// The parser stops at the first problem; checkLimits ranks invalid
		// UTF-8 before too deep before invalid JSON, wherever they are.
		if lerr := checkLimits(value, d.maxBytes, d.maxDepth, format); lerr != nil {
			return nil, lerr
		}
		if errors.Is(err, errTooDeep) {
			return nil, newError(ReasonTooDeep, format, "nesting deeper than %d levels", d.maxDepth)
		}
		if errors.Is(err, errTooManyItems) {
			return nil, newError(ReasonTooLarge, format, "an array nested at most %d deep (where batches are) has more than %d items", spanDepth, d.maxItems)
		}
		if errors.Is(err, errTooManyKeys) {
			return nil, newError(ReasonTooLarge, format, "an object has more than %d keys", d.maxItems)
		}
		return nil, &Error{Reason: ReasonInvalidJSON, Format: format, Err: fmt.Errorf("invalid json: %w", err)}
	}
	return d.decodeDocument(doc, format)
}

// decodeDocument normalizes a parsed message.
func (d *Decoder) decodeDocument(doc *document, format Format) ([]Event, error) {
	m, ok := doc.value.(map[string]any)
	if !ok {
		return nil, newError(ReasonNotObject, format, "want a JSON object, got %s", typeName(doc.value))
	}
	if format == FormatAuto {
		if format = sniff(m); format == FormatAuto {
			return nil, newError(ReasonUnknownFormat, "", "no supported format recognised (top-level keys: %s)", keyList(m))
		}
	}
	return d.decodeAs(doc, m, format)
}

func (d *Decoder) decodeAs(doc *document, m map[string]any, f Format) ([]Event, error) {
	switch f {
	case FormatOCSF:
		return single(ocsfEvent(doc, m))
	case FormatECS:
		return single(ecsEvent(doc, m))
	case FormatElasticAlert:
		return single(elasticAlertEvent(doc, m))
	case FormatOkta:
		return decodeOkta(doc, m)
	case FormatEntra:
		return decodeEntra(doc, m)
	case FormatOnePassword:
		return decodeOnePassword(doc, m)
	case FormatGWS:
		return decodeGWS(doc, m)
	case FormatCloudTrail:
		return decodeCloudTrail(doc, m)
	case FormatGuardDuty:
		return single(guardDutyEvent(doc, m))
	case FormatGeneric:
		return single(d.generic.event(doc, m))
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
type itemFunc func(dst []Event, doc *document, m map[string]any) ([]Event, *Error)

func one(fn func(*document, map[string]any) (Event, *Error)) itemFunc {
	return func(dst []Event, doc *document, m map[string]any) ([]Event, *Error) {
		e, err := fn(doc, m)
		if err != nil {
			return dst, err
		}
		return appendEvents(dst, e), nil
	}
}

func many(fn func(*document, map[string]any) ([]Event, *Error)) itemFunc {
	return func(dst []Event, doc *document, m map[string]any) ([]Event, *Error) {
		evs, err := fn(doc, m)
		if err != nil {
			return dst, err
		}
		return appendEvents(dst, evs...), nil
	}
}

// appendEvents is append that doubles the capacity when it grows. append
// grows large slices by a quarter, which for a batch of many small events
// allocates five times the final size of the slice in all; doubling
// allocates about twice.
func appendEvents(dst []Event, evs ...Event) []Event {
	if n := len(dst) + len(evs); n > cap(dst) {
		grown := make([]Event, len(dst), max(2*cap(dst), n, 8))
		copy(grown, dst)
		dst = grown
	}
	return append(dst, evs...)
}

// decodeBatch normalizes every item. Failed items are collected, each with
// a copy of its own bytes: if some items succeed the error has
// ReasonPartial; if all fail it has their common reason, or ReasonPartial
// when the reasons differ. The work is linear in the number of items.
func decodeBatch(doc *document, f Format, path string, items []any, fn itemFunc) ([]Event, error) {
	if len(items) == 0 {
		return nil, newError(ReasonEmptyBatch, f, "batch %s has no items", quote(path))
	}
	// The parser allows at most MaxItems items in an array nested where
	// batches are, so this is bounded even when they all fail.
	events := make([]Event, 0, len(items))
	var failed []ItemError
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			failed = append(failed, ItemError{Index: i, Err: &Error{Reason: ReasonNotObject, Format: f, Err: notObject(it)}})
			continue
		}
		var err *Error
		before := len(events)
		if events, err = fn(events, doc, m); err != nil {
			failed = append(failed, ItemError{Index: i, Err: err})
		}
		if len(events) > before {
			raw := doc.itemRaw(items, i)
			for j := before; j < len(events); j++ {
				events[j].Item, events[j].ItemRaw = i+1, raw
			}
		}
		if doc.tooMany(len(events)) {
			return nil, newError(ReasonTooLarge, f, "batch %s gives more than the %d events allowed", quote(path), doc.maxItems)
		}
	}
	if len(failed) == 0 {
		return events, nil
	}
	for k := range failed {
		failed[k].Raw = doc.itemRaw(items, failed[k].Index)
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
		Err:    fmt.Errorf("%d of %d items of %s failed", len(failed), n, quote(path)),
		Items:  failed,
	}
}

// maxListedKeys is how many top-level keys an unknown_format error names.
const maxListedKeys = 8

// keyList names the first few top-level keys in sorted order, for error
// messages. It keeps the smallest keys seen so far in a short sorted list,
// so a 50,000-key object costs one pass and no allocation per key.
func keyList(m map[string]any) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, maxListedKeys+1)
	for k := range m {
		if len(keys) == maxListedKeys && k >= keys[maxListedKeys-1] {
			continue
		}
		i, _ := slices.BinarySearch(keys, k)
		keys = slices.Insert(keys, i, k)
		if len(keys) > maxListedKeys {
			keys = keys[:maxListedKeys]
		}
	}
	quoted := make([]string, len(keys), len(keys)+1)
	for i, k := range keys {
		quoted[i] = quote(k)
	}
	if len(m) > maxListedKeys {
		quoted = append(quoted, "...")
	}
	return strings.Join(quoted, ", ")
}

// notObject returns the error of a batch item v that is not an object.
// The errors are shared, so a huge array of junk costs no allocation per
// item for its message (the batch error gives each item's index).
func notObject(v any) error {
	switch v.(type) {
	case nil:
		return errNotObjectNull
	case string:
		return errNotObjectString
	case float64:
		return errNotObjectNumber
	case bool:
		return errNotObjectBool
	case []any:
		return errNotObjectArray
	}
	return errNotObjectOther
}

var (
	errNotObjectNull   = errors.New("want an object, got null")
	errNotObjectString = errors.New("want an object, got a string")
	errNotObjectNumber = errors.New("want an object, got a number")
	errNotObjectBool   = errors.New("want an object, got a boolean")
	errNotObjectArray  = errors.New("want an object, got an array")
	errNotObjectOther  = errors.New("want an object, got an unknown type")
)
