// Package signing signs and verifies tripline's own records: dead-letter
// records, parked decisions, answers to pending approvals and the state
// topic's records. Anyone who can write to a topic tripline reads could
// write such a record; only one signed under tripline's key is acted on.
//
// A Keyring holds the current key, which signs and verifies, and
// optionally a previous key, which only verifies: rotating the key moves
// the old one to previous, so records signed before the rotation (parked
// decisions, pending answers, the state topic) stay valid and are signed
// again under the current key whenever tripline rewrites them.
//
// A signature is "k=<fingerprint>,v1=<hex HMAC-SHA256>". The MAC covers a
// sequence of fields, each prefixed with its length, so no two sequences
// collide. The fingerprint names the key without revealing it, so a record
// signed under neither key is refused as "signed under another key" rather
// than as tampered with. Signatures without a fingerprint (written before
// fingerprints existed) are checked against both keys.
package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// MinKeyBytes is the shortest key accepted.
const MinKeyBytes = 16

// Errors of Verify.
var (
	// ErrUnsigned: the record carries no signature.
	ErrUnsigned = errors.New("not signed")
	// ErrBadSignature: the signature does not match the record under the
	// key it names (the record was changed after it was signed, or the
	// signature was forged).
	ErrBadSignature = errors.New("signature does not match")
	// ErrOtherKey: the record names a key the ring does not hold (see
	// OtherKeyError).
	ErrOtherKey = errors.New("signed under another key")
	// ErrNoKey: the ring holds no key to check a signature with.
	ErrNoKey = errors.New("no signing key configured to check the signature")
)

// OtherKeyError is the error of a record signed under a key the ring does
// not hold: a key rotated out, or another deployment's.
type OtherKeyError struct {
	// Fingerprint names the key the record was signed under.
	Fingerprint string
}

func (e *OtherKeyError) Error() string {
	return fmt.Sprintf("signed under another key (fingerprint %s)", e.Fingerprint)
}

// Is makes errors.Is(err, ErrOtherKey) hold.
func (e *OtherKeyError) Is(target error) bool { return target == ErrOtherKey }

// Keyring signs with its current key and verifies with the current and the
// previous key. The nil *Keyring, or one without a current key, signs
// nothing and verifies nothing. A Keyring is immutable and safe for
// concurrent use.
type Keyring struct {
	current, previous []byte
	curFP, prevFP     string
}

// NewKeyring returns a ring over current (signs and verifies) and previous
// (verifies only; nil for none). Each key must be at least MinKeyBytes
// long; a previous key needs a current one and must differ from it. With
// neither key it returns a ring that signs nothing.
func NewKeyring(current, previous []byte) (*Keyring, error) {
	var errs []error
	if n := len(current); n > 0 && n < MinKeyBytes {
		errs = append(errs, fmt.Errorf("signing key has %d bytes, want at least %d", n, MinKeyBytes))
	}
	switch n := len(previous); {
	case n == 0:
	case len(current) == 0:
		errs = append(errs, errors.New("a previous signing key needs a current one: the previous key only verifies"))
	case n < MinKeyBytes:
		errs = append(errs, fmt.Errorf("previous signing key has %d bytes, want at least %d", n, MinKeyBytes))
	case hmac.Equal(current, previous):
		errs = append(errs, errors.New("previous signing key is the same as the current one"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	k := &Keyring{current: clone(current), previous: clone(previous)}
	if len(current) > 0 {
		k.curFP = Fingerprint(current)
	}
	if len(previous) > 0 {
		k.prevFP = Fingerprint(previous)
	}
	return k, nil
}

func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// Fingerprint names a key in 8 hex characters: the start of the SHA-256 of
// a fixed label and the key. It identifies the key; it does not reveal it.
func Fingerprint(key []byte) string {
	sum := sha256.Sum256(append([]byte("tripline signing key fingerprint\x00"), key...))
	return hex.EncodeToString(sum[:4])
}

// Signs reports whether the ring has a current key.
func (k *Keyring) Signs() bool { return k != nil && len(k.current) > 0 }

// HasPrevious reports whether the ring has a previous key.
func (k *Keyring) HasPrevious() bool { return k != nil && len(k.previous) > 0 }

// Fingerprint is the current key's fingerprint ("" without one).
func (k *Keyring) Fingerprint() string {
	if k == nil {
		return ""
	}
	return k.curFP
}

// PreviousFingerprint is the previous key's fingerprint ("" without one).
func (k *Keyring) PreviousFingerprint() string {
	if k == nil {
		return ""
	}
	return k.prevFP
}

// Sign returns the signature of fields under the current key, or "" when
// the ring has none.
func (k *Keyring) Sign(fields ...[]byte) string {
	if !k.Signs() {
		return ""
	}
	return "k=" + k.curFP + ",v1=" + hex.EncodeToString(mac(k.current, fields))
}

// Verify checks sig against fields. It returns nil when sig is valid
// under the current key or the previous one (previous reports which), and
// otherwise ErrUnsigned (sig is empty), an *OtherKeyError (sig names
// neither key), ErrNoKey (the ring has no key) or ErrBadSignature.
func (k *Keyring) Verify(sig string, fields ...[]byte) (previous bool, err error) {
	if sig == "" {
		return false, ErrUnsigned
	}
	fp, want, err := parse(sig)
	if err != nil {
		return false, err
	}
	if !k.Signs() {
		return false, ErrNoKey
	}
	keys := []struct {
		key  []byte
		fp   string
		prev bool
	}{{k.current, k.curFP, false}, {k.previous, k.prevFP, true}}
	named := false
	for _, c := range keys {
		if len(c.key) == 0 || (fp != "" && fp != c.fp) {
			continue
		}
		named = true
		if hmac.Equal(want, mac(c.key, fields)) {
			return c.prev, nil
		}
	}
	if !named {
		return false, &OtherKeyError{Fingerprint: fp}
	}
	return false, ErrBadSignature
}

// parse splits a signature into its fingerprint ("" when it names none)
// and its MAC.
func parse(sig string) (fp string, sum []byte, err error) {
	var hexSum string
	for part := range strings.SplitSeq(sig, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch name {
		case "k":
			fp = value
		case "v1":
			hexSum = value
		}
	}
	sum, derr := hex.DecodeString(hexSum)
	if hexSum == "" || derr != nil || len(sum) != sha256.Size || len(fp) > 16 {
		return "", nil, fmt.Errorf("%w: malformed signature", ErrBadSignature)
	}
	return fp, sum, nil
}

// mac is the HMAC-SHA256 under key of fields, each prefixed with its
// length as 8 big-endian bytes.
func mac(key []byte, fields [][]byte) []byte {
	h := hmac.New(sha256.New, key)
	var n [8]byte
	for _, f := range fields {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write(f)
	}
	return h.Sum(nil)
}

// Reason is the short reason code of a verification error, for metrics
// and dead-letter headers: unsigned, other_key, no_key or bad_signature.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrUnsigned):
		return "unsigned"
	case errors.Is(err, ErrOtherKey):
		return "other_key"
	case errors.Is(err, ErrNoKey):
		return "no_key"
	}
	return "bad_signature"
}
