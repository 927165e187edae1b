package pipeline

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/signing"
)

// HeaderSignature holds the signature of a record tripline wrote to a
// topic it reads back or replays (dead-letter, parked, answer records):
// "k=<key fingerprint>,v1=<hex HMAC-SHA256>" under the signing key, over
// the record's key, its value and its tripline.* headers (names and
// values, sorted by name). Only records that verify are acted on, so a
// record written by anyone but tripline (a forged suspension order) is
// refused.
const HeaderSignature = "tripline.signature"

// signDeadLetter adds the signature header to m (nothing when keys has no
// current key).
func signDeadLetter(m *kafka.Message, keys *signing.Keyring) {
	if sig := keys.Sign(deadLetterFields(*m)...); sig != "" {
		m.Headers = append(m.Headers, kafka.Header{Key: HeaderSignature, Value: []byte(sig)})
	}
}

// VerifyDeadLetter checks m's signature under keys (the current key or the
// previous one). Its errors wrap signing.ErrUnsigned (no signature),
// signing.ErrOtherKey (signed under a key the ring does not hold: the
// message says what to do if the key was rotated), signing.ErrNoKey or
// signing.ErrBadSignature (changed since it was signed).
func VerifyDeadLetter(m kafka.Message, keys *signing.Keyring) error {
	_, err := keys.Verify(HeaderValue(m, HeaderSignature), deadLetterFields(m)...)
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

// SignatureCheck is the Verifier of a DLQ replay: it admits a record only
// if it carries a valid signature under keys, or no signature at all when
// acceptUnsigned is set. A signature that does not verify is always
// refused.
func SignatureCheck(keys *signing.Keyring, acceptUnsigned bool) Verifier {
	return func(m kafka.Message) error {
		err := VerifyDeadLetter(m, keys)
		if errors.Is(err, signing.ErrUnsigned) && acceptUnsigned {
			return nil
		}
		return err
	}
}

// deadLetterFields are the fields a record's signature covers: its key, its
// value and its tripline.* headers other than the signature, sorted by
// name.
func deadLetterFields(m kafka.Message) [][]byte {
	var headers []kafka.Header
	for _, h := range m.Headers {
		if strings.HasPrefix(h.Key, "tripline.") && h.Key != HeaderSignature {
			headers = append(headers, h)
		}
	}
	sort.SliceStable(headers, func(i, j int) bool { return headers[i].Key < headers[j].Key })
	fields := make([][]byte, 0, 2+2*len(headers))
	fields = append(fields, m.Key, m.Value)
	for _, h := range headers {
		fields = append(fields, []byte(h.Key), h.Value)
	}
	return fields
}
