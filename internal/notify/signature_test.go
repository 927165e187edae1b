package notify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/notify"
)

// The fixed vector: secret, timestamp and body of one signed request.
const (
	vecSecret = testSecret
	vecTime   = 1700000000
	vecBody   = `{"id":"n1","type":"action","time":"2023-11-14T22:13:20Z","rule_id":"r1","op_user_id":"U1","result":"suspended"}`
	// vecHex was computed once, outside Go, with
	//   printf '%s' '1700000000.<vecBody>' | openssl dgst -sha256 -hmac "$vecSecret"
	vecHex = "bd9ca3fe75b2843a20ddc3af374f1a851e428af6570c323ed97105f18d7dfb51"
)

// specSignature computes the signature from the spec text alone:
// hex(HMAC-SHA256(secret, "<t>.<raw body>")).
func specSignature(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(body)))
	return hex.EncodeToString(m.Sum(nil))
}

func TestSignFixedVector(t *testing.T) {
	t.Parallel()
	got := notify.Sign([]byte(vecSecret), []byte(vecBody), time.Unix(vecTime, 0))
	if spec := "t=1700000000,v1=" + specSignature(vecSecret, "1700000000", []byte(vecBody)); got != spec {
		t.Errorf("Sign = %q, spec computation gives %q", got, spec)
	}
	if want := "t=1700000000,v1=" + vecHex; got != want {
		t.Errorf("Sign = %q, want the fixed vector %q", got, want)
	}
	if err := notify.VerifySignature("t=1700000000,v1="+vecHex, []byte(vecBody), []byte(vecSecret), time.Unix(vecTime+30, 0), time.Minute); err != nil {
		t.Errorf("VerifySignature(fixed vector) = %v", err)
	}
}

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	body := []byte(vecBody)
	at := time.Unix(vecTime, 0)
	good := "t=1700000000,v1=" + vecHex
	other := specSignature("another-secret-of-some-length", "1700000000", body)
	tests := []struct {
		name   string
		header string
		body   []byte
		secret string
		now    time.Time
		tol    time.Duration
		want   error
	}{
		{name: "valid", header: good, now: at.Add(4 * time.Minute)},
		{name: "valid with spaces", header: "t=1700000000, v1=" + vecHex, now: at},
		{name: "valid among rotated signatures", header: "t=1700000000,v1=" + other + ",v1=" + vecHex, now: at},
		{name: "valid with an unknown scheme", header: good + ",v0=abc", now: at},
		{name: "default tolerance", header: good, now: at.Add(-4 * time.Minute), tol: -1},
		{name: "forged with another secret", header: "t=1700000000,v1=" + other, now: at, want: notify.ErrInvalidSignature},
		{name: "verified with another secret", header: good, secret: "another-secret-of-some-length", now: at, want: notify.ErrInvalidSignature},
		{name: "tampered body", header: good, body: []byte(strings.Replace(vecBody, "U1", "U2", 1)), now: at, want: notify.ErrInvalidSignature},
		{name: "body with a trailing newline", header: good, body: append([]byte(vecBody), '\n'), now: at, want: notify.ErrInvalidSignature},
		{name: "tampered timestamp", header: "t=1700000100,v1=" + vecHex, now: at, want: notify.ErrInvalidSignature},
		{name: "stale", header: good, now: at.Add(6 * time.Minute), want: notify.ErrStaleSignature},
		{name: "stale beyond a short tolerance", header: good, now: at.Add(11 * time.Second), tol: 10 * time.Second, want: notify.ErrStaleSignature},
		{name: "from the future", header: good, now: at.Add(-6 * time.Minute), want: notify.ErrStaleSignature},
		{name: "empty header", header: "", now: at, want: notify.ErrInvalidSignature},
		{name: "no timestamp", header: "v1=" + vecHex, now: at, want: notify.ErrInvalidSignature},
		{name: "no signature", header: "t=1700000000", now: at, want: notify.ErrInvalidSignature},
		{name: "two timestamps", header: "t=1700000000,t=1700000001,v1=" + vecHex, now: at, want: notify.ErrInvalidSignature},
		{name: "signature not hex", header: "t=1700000000,v1=zz" + vecHex[2:], now: at, want: notify.ErrInvalidSignature},
		{name: "signature truncated", header: "t=1700000000,v1=" + vecHex[:32], now: at, want: notify.ErrInvalidSignature},
		{name: "timestamp not a number", header: "t=yesterday,v1=" + vecHex, now: at, want: notify.ErrInvalidSignature},
		{name: "element without =", header: "t=1700000000,garbage", now: at, want: notify.ErrInvalidSignature},
		{name: "empty secret", header: good, secret: "-", now: at, want: notify.ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := body
			if tt.body != nil {
				b = tt.body
			}
			secret := vecSecret
			switch tt.secret {
			case "":
			case "-":
				secret = ""
			default:
				secret = tt.secret
			}
			tol := tt.tol
			if tol == 0 {
				tol = 5 * time.Minute
			}
			err := notify.VerifySignature(tt.header, b, []byte(secret), tt.now, tol)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("VerifySignature = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifySignature = %v, want %v", err, tt.want)
			}
		})
	}
}
