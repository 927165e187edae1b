// Package secret holds Value, a string that never prints itself. tripline
// keeps client secrets, tokens and SASL passwords in it so that no log line,
// error, span or JSON document can show them by accident. It imports no
// other tripline package.
package secret

import (
	"fmt"
	"log/slog"
)

// Redacted is what a non-empty Value prints as.
const Redacted = "[redacted]"

// Value is a secret string: every fmt verb, slog, encoding/json and YAML
// see Redacted (or "" when the secret is empty). Reveal returns the value.
type Value string

// Reveal returns the secret's value. Call it only where the value is sent
// to the system that needs it.
func (s Value) Reveal() string { return string(s) }

// String implements fmt.Stringer with the redacted form.
func (s Value) String() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// GoString implements fmt.GoStringer (%#v) with the redacted form.
func (s Value) GoString() string { return fmt.Sprintf("secret.Value(%q)", s.String()) }

// Format implements fmt.Formatter so that every verb, flag and width prints
// the redacted form.
func (s Value) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// LogValue implements slog.LogValuer with the redacted form.
func (s Value) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON implements json.Marshaler with the redacted form.
func (s Value) MarshalJSON() ([]byte, error) { return fmt.Appendf(nil, "%q", s.String()), nil }

// MarshalYAML implements yaml.Marshaler with the redacted form.
func (s Value) MarshalYAML() (any, error) { return s.String(), nil }
