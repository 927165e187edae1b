package onepassword

import (
	"fmt"
	"log/slog"
)

const redacted = "[redacted]"

// Secret is a credential (the OAuth client secret, an access token) that
// never prints itself: every fmt verb, slog and encoding/json see
// "[redacted]", or "" when the secret is empty. Reveal returns the value.
type Secret string

// Reveal returns the secret's value. Call it only where the value is sent
// to the API.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer with the redacted form.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer (%#v) with the redacted form.
func (s Secret) GoString() string { return fmt.Sprintf("onepassword.Secret(%q)", s.String()) }

// Format implements fmt.Formatter so that every verb, flag and width prints
// the redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// LogValue implements slog.LogValuer with the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON implements json.Marshaler with the redacted form.
func (s Secret) MarshalJSON() ([]byte, error) { return fmt.Appendf(nil, "%q", s.String()), nil }
