package notify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/tripline-dev/tripline/internal/notify"
)

// A receiver checks each request before it trusts the body.
func ExampleVerifySignature() {
	secret := []byte("whsec_tripline_test_0123456789")
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		err = notify.VerifySignature(r.Header.Get(notify.SignatureHeader), body, secret, time.Now(), 5*time.Minute)
		switch {
		case errors.Is(err, notify.ErrStaleSignature):
			http.Error(w, "stale", http.StatusUnauthorized)
		case err != nil:
			http.Error(w, "bad signature", http.StatusUnauthorized)
		default:
			w.WriteHeader(http.StatusNoContent) // decode body, act on it
		}
	})

	body := []byte(`{"type":"breaker_open","rule_id":"","op_user_id":"","result":"breaker_open","time":"2026-03-01T12:00:00Z"}`)
	for _, at := range []time.Time{time.Now(), time.Now().Add(-time.Hour)} {
		req := httptest.NewRequest(http.MethodPost, "/tripline", strings.NewReader(string(body)))
		req.Header.Set(notify.SignatureHeader, notify.Sign(secret, body, at))
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		fmt.Println(rec.Code)
	}
	// Output:
	// 204
	// 401
}

// The same check with the standard library only, for receivers that do
// not import tripline.
func Example_verifyWithCryptoHMAC() {
	secret := []byte("whsec_tripline_test_0123456789")
	body := []byte(`{"id":"n1","type":"action","time":"2023-11-14T22:13:20Z","rule_id":"r1","op_user_id":"U1","result":"suspended"}`)
	header := "t=1700000000,v1=bd9ca3fe75b2843a20ddc3af374f1a851e428af6570c323ed97105f18d7dfb51"
	now := time.Unix(1700000010, 0)

	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	fresh := err == nil && now.Sub(time.Unix(secs, 0)).Abs() <= 5*time.Minute
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	valid := false
	for _, s := range sigs {
		got, err := hex.DecodeString(s)
		valid = valid || (err == nil && hmac.Equal(got, want))
	}
	fmt.Println(valid && fresh)
	// Output: true
}
