package slackapproval

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tripline-dev/tripline/internal/secret"
)

// Headers of Slack's request signing, v0 scheme.
const (
	HeaderSignature = "X-Slack-Signature"
	HeaderTimestamp = "X-Slack-Request-Timestamp"
)

// MaxClockSkew is how far a request's timestamp may be from the local
// clock, in either direction, for the request to be accepted (Slack's
// documented five minutes).
const MaxClockSkew = 5 * time.Minute

// Reasons a signature check fails. They name no secret and no expected
// value.
var (
	errMissingHeaders = errors.New("missing X-Slack-Signature or X-Slack-Request-Timestamp")
	errBadTimestamp   = errors.New("X-Slack-Request-Timestamp is not a unix time")
	errStale          = errors.New("X-Slack-Request-Timestamp is more than 5 minutes from now")
	errBadSignature   = errors.New("X-Slack-Signature does not match the body")
)

// Sign returns Slack's v0 signature of body sent at timestamp (unix seconds,
// as in the X-Slack-Request-Timestamp header): "v0=" and the hex HMAC-SHA256,
// keyed with the signing secret, of "v0:" + timestamp + ":" + body. Tests and
// tools use it to build signed requests.
func Sign(signingSecret secret.Value, timestamp string, body []byte) string {
	return "v0=" + hex.EncodeToString(mac(signingSecret, timestamp, body))
}

func mac(signingSecret secret.Value, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(signingSecret.Reveal()))
	m.Write([]byte("v0:" + timestamp + ":"))
	m.Write(body)
	return m.Sum(nil)
}

// verify checks the v0 signature of body and that its timestamp is within
// MaxClockSkew of now. The signature is compared in constant time.
func verify(signingSecret secret.Value, h http.Header, body []byte, now time.Time) error {
	sig, ts := h.Get(HeaderSignature), h.Get(HeaderTimestamp)
	if sig == "" || ts == "" {
		return errMissingHeaders
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec <= 0 {
		return errBadTimestamp
	}
	if d := now.Sub(time.Unix(sec, 0)); d > MaxClockSkew || d < -MaxClockSkew {
		return errStale
	}
	got, ok := strings.CutPrefix(sig, "v0=")
	if !ok {
		return errBadSignature
	}
	gotMAC, err := hex.DecodeString(got)
	if err != nil || len(gotMAC) != sha256.Size {
		return errBadSignature
	}
	if !hmac.Equal(gotMAC, mac(signingSecret, ts, body)) {
		return errBadSignature
	}
	return nil
}
