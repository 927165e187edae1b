package rules

import (
	"testing"

	"github.com/tripline-dev/tripline/internal/event"
)

// shippedDecoder returns the event decoder with its defaults, as the
// consumer uses it.
func shippedDecoder(t testing.TB) DecodeFunc {
	t.Helper()
	dec, err := event.NewDecoder(event.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return func(raw []byte) ([]event.Event, error) { return dec.Decode(raw, event.FormatAuto) }
}
