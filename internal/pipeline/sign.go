package pipeline

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sort"
	"strings"

	"github.com/segmentio/kafka-go"
)

// HeaderSignature holds a dead-letter record's signature: "v1=" and the hex
// HMAC-SHA256, under the DLQ signing key, of its key, its value and its
// tripline.* headers (names and values, sorted by name). A replay acts only
// on records it can verify, so a record written into the DLQ by anyone but
// tripline (a forged suspension order) is refused.
const HeaderSignature = "tripline.signature"

// Errors of VerifyDeadLetter.
var (
	ErrUnsigned     = errors.New("dead-letter record is not signed")
	ErrBadSignature = errors.New("dead-letter record's signature does not match")
)

// signDeadLetter adds the signature header to m (nothing without a key).
func signDeadLetter(m *kafka.Message, key []byte) {
	if len(key) == 0 {
		return
	}
	m.Headers = append(m.Headers, kafka.Header{Key: HeaderSignature, Value: []byte("v1=" + hex.EncodeToString(deadLetterMAC(*m, key)))})
}

// VerifyDeadLetter checks m's signature under key: ErrUnsigned when it has
// none, ErrBadSignature when it does not match (another key, or a record
// changed since it was signed).
func VerifyDeadLetter(m kafka.Message, key []byte) error {
	sig, ok := strings.CutPrefix(HeaderValue(m, HeaderSignature), "v1=")
	if !ok {
		return ErrUnsigned
	}
	got, err := hex.DecodeString(sig)
	if err != nil || len(key) == 0 || !hmac.Equal(got, deadLetterMAC(m, key)) {
		return ErrBadSignature
	}
	return nil
}

// SignatureCheck is the Verifier of a DLQ replay: it admits a record only
// if it carries a valid signature under key, or no signature at all when
// acceptUnsigned is set. A signature that does not match is always refused.
func SignatureCheck(key []byte, acceptUnsigned bool) Verifier {
	return func(m kafka.Message) error {
		err := VerifyDeadLetter(m, key)
		switch {
		case errors.Is(err, ErrUnsigned) && acceptUnsigned:
			return nil
		case errors.Is(err, ErrBadSignature) && len(key) == 0:
			return fmt.Errorf("%w (no signing key is configured to check it: set TRIPLINE_DLQ_SIGNING_KEY)", err)
		}
		return err
	}
}

// deadLetterMAC is the HMAC of m's key, value and tripline.* headers other
// than the signature, each length-prefixed so no two records collide.
func deadLetterMAC(m kafka.Message, key []byte) []byte {
	mac := hmac.New(sha256.New, key)
	field := func(h hash.Hash, b []byte) {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
		h.Write(b)
	}
	field(mac, m.Key)
	field(mac, m.Value)
	var headers []kafka.Header
	for _, h := range m.Headers {
		if strings.HasPrefix(h.Key, "tripline.") && h.Key != HeaderSignature {
			headers = append(headers, h)
		}
	}
	sort.SliceStable(headers, func(i, j int) bool { return headers[i].Key < headers[j].Key })
	for _, h := range headers {
		field(mac, []byte(h.Key))
		field(mac, h.Value)
	}
	return mac.Sum(nil)
}
