package onepassword

import (
	"net/http"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/retryafter"
)

func FuzzDecodeUsers(f *testing.F) {
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"results":[]}`))
	f.Add([]byte(`{"results":null,"next_page_token":""}`))
	f.Add([]byte(`{"results":[{"id":"IR7VJHJ36JHINBFAD7V2T5MP3E","email":"wendy_appleseed@agilebits.com","display_name":"Wendy Appleseed","state":"ACTIVE","create_time":"2024-01-15T10:30:00Z","path":"accounts/A/users/I","extra":{"x":[1,2]}}],"next_page_token":"CAIQAg"}`))
	f.Add([]byte(`{"results":[{"id":1}]}`))
	f.Add([]byte(`{"results":[{"create_time":"yesterday"}]}`))
	f.Add([]byte(`<html>bad gateway</html>`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodePage(body)
		if err != nil && (len(p.Users) != 0 || p.NextPageToken != "") {
			t.Fatalf("decodePage returned data with error %v", err)
		}
		u, err := decodeUser(body)
		if err == nil && u.ID == "" {
			t.Fatal("decodeUser accepted a user without id")
		}
	})
}

func FuzzDecodeError(f *testing.F) {
	f.Add(403, []byte(`{"code":7,"message":"no_owner_remain","details":[]}`), "")
	f.Add(429, []byte(`{"code":8,"message":"rate_limited"}`), "2")
	f.Add(401, []byte(`{"error":"invalid_client","error_description":"bad"}`), "")
	f.Add(502, []byte(`<html>Bad Gateway</html>`), "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(500, []byte(`{"code":"13","message":12}`), "-1")
	f.Add(400, []byte(`{"code":99999999999999999999,"message":"\u0000\n\u202e"}`), "99999999999")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter string) {
		h := http.Header{}
		h.Set("Retry-After", retryAfter)
		e := newAPIError(OpSuspendUser, status, h, body, now, nil)
		if e.Status != status {
			t.Fatalf("status %d kept as %d", status, e.Status)
		}
		if e.RetryAfter < 0 || e.RetryAfter > retryafter.Max {
			t.Fatalf("retry after %s out of range", e.RetryAfter)
		}
		if len(e.Message) > maxMessageLen {
			t.Fatalf("message of %d bytes kept", len(e.Message))
		}
		_ = e.Error()
		_ = e.Retryable()
	})
}
