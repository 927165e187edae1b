package deadletter

import (
	"errors"
	"fmt"
	"sort"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/signing"
)

// Sign adds HeaderSignature to m: "k=<key fingerprint>,v1=<hex
// HMAC-SHA256>" under the current key of keys, over m's key, its value and
// its tripline.* headers (names and values, sorted by name; see
// signing.Keyring.Sign). It adds nothing when keys has no current key.
// Sign after the last change to m: any later change breaks the signature.
func Sign(m *kafka.Message, keys *signing.Keyring) {
	if sig := keys.Sign(fields(*m)...); sig != "" {
		m.Headers = append(m.Headers, kafka.Header{Key: HeaderSignature, Value: []byte(sig)})
	}
}

// Verify checks m's signature under keys (the current key or the previous
// one), so that only records tripline wrote are acted on. Its errors wrap
// signing.ErrUnsigned (no signature), signing.ErrOtherKey (signed under a
// key the ring does not hold: the message says what to do if the key was
// rotated), signing.ErrNoKey or signing.ErrBadSignature (changed since it
// was signed, or a malformed signature).
func Verify(m kafka.Message, keys *signing.Keyring) error {
	_, err := keys.Verify(signature(m.Headers), fields(m)...)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, signing.ErrOtherKey):
		return fmt.Errorf("record %w: if the signing key was rotated, set TRIPLINE_DLQ_SIGNING_KEY_PREVIOUS to the old key (current key %s)",
			err, keys.Fingerprint())
	case errors.Is(err, signing.ErrNoKey):
		return fmt.Errorf("record %w (set TRIPLINE_DLQ_SIGNING_KEY)", err)
	}
	return fmt.Errorf("record %w", err)
}

// signature is the value of the first HeaderSignature ("" when none).
func signature(headers []kafka.Header) string {
	for _, h := range headers {
		if h.Key == HeaderSignature {
			return string(h.Value)
		}
	}
	return ""
}

// fields are what a signature covers: the record's key, its value and its
// tripline.* headers other than the signature, sorted by name (a stable
// sort: repeated names keep their order).
func fields(m kafka.Message) [][]byte {
	var headers []kafka.Header
	for _, h := range m.Headers {
		if IsOwn(h.Key) && h.Key != HeaderSignature {
			headers = append(headers, h)
		}
	}
	sort.SliceStable(headers, func(i, j int) bool { return headers[i].Key < headers[j].Key })
	out := make([][]byte, 0, 2+2*len(headers))
	out = append(out, m.Key, m.Value)
	for _, h := range headers {
		out = append(out, []byte(h.Key), h.Value)
	}
	return out
}
