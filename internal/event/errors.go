package event

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Reason codes of decode errors. They are stable: the pipeline writes them
// into dead-letter headers and dashboards group by them.
const (
	ReasonEmpty         = "empty"          // no bytes, or only white space
	ReasonTooLarge      = "too_large"      // more than Config.MaxBytes, or a batch past Config.MaxItems
	ReasonInvalidUTF8   = "invalid_utf8"   // the value is not valid UTF-8
	ReasonInvalidJSON   = "invalid_json"   // syntax error, truncated value, trailing data
	ReasonTooDeep       = "too_deep"       // nesting deeper than Config.MaxDepth
	ReasonNotObject     = "not_object"     // null, number, string or array where an object is needed
	ReasonUnknownFormat = "unknown_format" // no format recognised, or a record the pinned format does not read
	ReasonNoUser        = "no_user"        // a sign-in or an alert with neither an email nor a vendor user id
	// ReasonBadField is an identity field of a type that cannot name a
	// user (not a string or an integer), a batch array that is not an
	// array, a field longer than its cap (MaxIdentityLen, MaxIPLen,
	// MaxGeoLen), or an identity field the sender could make resolve two
	// ways (a repeated key, or a literal dotted key next to the nested
	// path). Other fields are read liberally (see the package doc). The
	// message names the field.
	ReasonBadField = "bad_field"
	// ReasonAmbiguousIdentity is an email (user_email, or a user_name that
	// folds to one) that Unicode NFKC normalization and case folding change
	// beyond ASCII lower-casing, so it could be a look-alike of another
	// user's address (identity.Ambiguous).
	ReasonAmbiguousIdentity = "ambiguous_identity"
	ReasonEmptyBatch        = "empty_batch" // a batch envelope with no items
	ReasonPartial           = "partial"     // some items of a batch failed (Error.Items lists them)
	ReasonInternal          = "internal"    // not a decode error of this package
)

// Error is a decode failure. Reason is one of the Reason* codes; Format is
// the format being decoded ("" when it was not known yet).
type Error struct {
	Reason string
	Format Format
	Err    error
	// Items lists the failed items of a batch, in index order, when Reason
	// is ReasonPartial or when every item failed.
	Items []ItemError
}

// ItemError is the failure of one item of a batch message.
type ItemError struct {
	// Index is the item's position in the batch array.
	Index int
	Err   *Error
	// Raw is a copy of the item's own JSON text, exactly as it appeared in
	// the message, so that the item can be dead-lettered alone. It does
	// not share memory with the message Decode was given. It is nil only
	// if the parser could not locate the item, which does not happen for
	// the batch envelopes of the supported formats.
	Raw []byte
}

// maxListedItems bounds how many failed items Error() spells out.
const maxListedItems = 5

// Error returns a message of the form "decode <format>: <what is wrong>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("decode")
	if e.Format != "" {
		b.WriteByte(' ')
		b.WriteString(string(e.Format))
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString(e.Reason)
	}
	for i, it := range e.Items {
		if i == maxListedItems {
			b.WriteString("; ...")
			break
		}
		b.WriteString("; item ")
		b.WriteString(strconv.Itoa(it.Index))
		b.WriteString(": ")
		b.WriteString(it.Err.Reason)
		if it.Err.Err != nil {
			b.WriteString(": ")
			b.WriteString(it.Err.Err.Error())
		}
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// FailedIndexes returns the indexes of the failed batch items.
func (e *Error) FailedIndexes() []int {
	idx := make([]int, len(e.Items))
	for i, it := range e.Items {
		idx[i] = it.Index
	}
	return idx
}

// Reason returns the stable reason code of a decode error, "" for nil and
// ReasonInternal for errors that did not come from this package.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonInternal
}

func newError(reason string, f Format, format string, args ...any) *Error {
	return &Error{Reason: reason, Format: f, Err: fmt.Errorf(format, args...)}
}

// badField reports a field that cannot be read (see ReasonBadField).
func badField(f Format, path, problem string) *Error {
	return &Error{Reason: ReasonBadField, Format: f, Err: fmt.Errorf("field %q: %s", clip(path), problem)}
}

// maxQuoted is the most bytes of a message value that an error message
// quotes, so that a huge value cannot make every record about it huge.
const maxQuoted = 64

// clip returns s, or its first maxQuoted bytes (cut on a rune boundary)
// followed by a note of its full length.
func clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	return truncateUTF8(s, maxQuoted) + "...(" + strconv.Itoa(len(s)) + " bytes)"
}

// quote is strconv.Quote of clip(s), for error messages.
func quote(s string) string { return strconv.Quote(clip(s)) }
