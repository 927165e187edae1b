package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header carrying a webhook request's signature:
//
//	X-Tripline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
//
// The timestamp is signed with the body, so a receiver that refuses old
// timestamps also refuses replayed requests. Each retry is signed anew.
const SignatureHeader = "X-Tripline-Signature"

// DefaultSignatureTolerance is the age (either way) VerifySignature
// accepts when given a tolerance of zero or less.
const DefaultSignatureTolerance = 5 * time.Minute

// Errors of VerifySignature.
var (
	// ErrInvalidSignature: the header is missing or malformed, or no v1
	// signature matches the body under the secret (forged or tampered).
	ErrInvalidSignature = errors.New("invalid webhook signature")
	// ErrStaleSignature: the signature matches but its timestamp is further
	// from now than the tolerance (a replay, or a clock out of sync).
	ErrStaleSignature = errors.New("stale webhook signature")
)

// Sign returns the SignatureHeader value for body sent at t under secret.
func Sign(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

// mac is HMAC-SHA256(secret, "<ts>.<body>").
func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifySignature checks a SignatureHeader value against the raw request
// body: one of its v1 signatures (several are allowed, for secret
// rotation) must equal HMAC-SHA256(secret, "<t>.<body>"), compared in
// constant time, and t must be within tolerance of now (either way;
// DefaultSignatureTolerance when tolerance <= 0). It returns nil,
// ErrInvalidSignature or ErrStaleSignature (wrapped with the reason).
// Verify the exact bytes received, before any JSON decoding.
func VerifySignature(header string, body []byte, secret []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return fmt.Errorf("verify webhook signature: empty secret: %w", ErrInvalidSignature)
	}
	if tolerance <= 0 {
		tolerance = DefaultSignatureTolerance
	}
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("verify webhook signature: malformed element %q: %w", truncate(part, 16), ErrInvalidSignature)
		}
		switch k {
		case "t":
			if ts != "" {
				return fmt.Errorf("verify webhook signature: two timestamps: %w", ErrInvalidSignature)
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return fmt.Errorf("verify webhook signature: v1 is not a hex HMAC-SHA256: %w", ErrInvalidSignature)
			}
			sigs = append(sigs, sig)
		}
		// Other keys (future schemes) are ignored.
	}
	if ts == "" || len(sigs) == 0 {
		return fmt.Errorf("verify webhook signature: want t=<unix seconds>,v1=<hex>: %w", ErrInvalidSignature)
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || secs <= 0 {
		return fmt.Errorf("verify webhook signature: timestamp is not unix seconds: %w", ErrInvalidSignature)
	}
	want := mac(secret, ts, body)
	match := false
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			match = true
		}
	}
	if !match {
		return fmt.Errorf("verify webhook signature: no signature matches the body: %w", ErrInvalidSignature)
	}
	// Checked after the MAC, so an attacker learns nothing about the secret
	// from which error comes back, and cannot forge a timestamp.
	if age := now.Sub(time.Unix(secs, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("verify webhook signature: timestamp %s from now, tolerance %s: %w", age.Round(time.Second), tolerance, ErrStaleSignature)
	}
	return nil
}
