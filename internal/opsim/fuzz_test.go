package opsim_test

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/opsim"
)

// FuzzRequest feeds arbitrary methods, paths, queries, bodies and headers
// straight to ServeHTTP (bypassing the HTTP parser, so any string gets
// through) and checks for a valid status and a JSON (or empty) body.
// An authorization value of "Bearer VALID" is replaced with a live token.
func FuzzRequest(f *testing.F) {
	clock := newFakeClock()
	srv, err := opsim.New(opsim.Config{Seed: smallSeed(), Generate: 30, Now: clock.Now, Rand: rand.New(rand.NewPCG(3, 4))})
	if err != nil {
		f.Fatal(err)
	}
	srv.SetFaults(opsim.Faults{"reactivate": {Rate429: 0.3, RetryAfter: 1, Rate500: 0.1}})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	e := &env{srv: srv, ts: ts, clock: clock}
	valid := e.defaultToken(f)
	basic := "Basic " + "dHJpcGxpbmUtZGV2Om9wc2ltLWRldi1zZWNyZXQ=" // tripline-dev:opsim-dev-secret
	users := "/v1beta1/accounts/" + srv.Account() + "/users"

	for _, s := range []struct{ method, path, query, body, auth, ctype string }{
		{"GET", users, "", "", "Bearer VALID", ""},
		{"GET", users, "filter=user.isActive()&max_page_size=3", "", "Bearer VALID", ""},
		{"GET", users, "filter=user.isSuspended%28%29&maxPageSize=-1&pageToken=AQAB", "", "Bearer VALID", ""},
		{"GET", users, "page_token=%ff%fe&max_page_size=9999999999999", "", "Bearer VALID", ""},
		{"GET", users + "/MEMBER1AAAAAAAAAAAAAAAAAAA", "", "", "Bearer VALID", ""},
		{"POST", users + "/MEMBER1AAAAAAAAAAAAAAAAAAA:suspend", "", "{}", "Bearer VALID", "application/json"},
		{"POST", users + "/OWNER1AAAAAAAAAAAAAAAAAAAA:suspend", "", "", "Bearer VALID", ""},
		{"POST", users + "/EAMADMINAAAAAAAAAAAAAAAAAA:reactivate", "", "\x00\xff", "Bearer VALID", ""},
		{"POST", users + "/:", "", "", "Bearer VALID", ""},
		{"POST", "/v1/accounts/X/users/Y:suspend:again", "", "", "Bearer x", ""},
		{"POST", "/v1beta1/users/oauth2/token", "", "grant_type=client_credentials&scope=openid", basic, "application/x-www-form-urlencoded"},
		{"POST", "/v1/oauth/token", "", "grant_type=%zz", basic, "application/x-www-form-urlencoded"},
		{"POST", "/v1/oauth/revoke", "", "token=abc", basic, "application/x-www-form-urlencoded"},
		{"POST", "/v1/oauth/revoke", "", "", "Basic !!!", "multipart/form-data; boundary=x"},
		{"PATCH", "/_opsim/faults", "", `{"*":{}}`, "", ""},
		{"GET", "/_opsim/state", "", "", "", ""},
		{"BREW", "//..//%2e%2e/", "a=%", "", "", ""},
		{"GET", "/v1beta1/accounts//users", "", "", "Bearer VALID", ""},
		{"", "", "", "", "", ""},
	} {
		f.Add(s.method, s.path, s.query, s.body, s.auth, s.ctype)
	}
	f.Fuzz(func(t *testing.T, method, path, query, body, auth, ctype string) {
		if auth == "Bearer VALID" {
			auth = "Bearer " + valid
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		req := (&http.Request{
			Method:     method,
			URL:        &url.URL{Path: path, RawQuery: query},
			Proto:      "HTTP/1.1",
			ProtoMajor: 1,
			ProtoMinor: 1,
			Header:     http.Header{},
			Body:       io.NopCloser(strings.NewReader(body)),
			Host:       "opsim.test",
			RequestURI: path,
		}).WithContext(ctx)
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code < 100 || rec.Code > 599 {
			t.Fatalf("status %d", rec.Code)
		}
		b := rec.Body.Bytes()
		if len(b) > 0 && !json.Valid(b) {
			t.Fatalf("status %d: body is not JSON: %q", rec.Code, b)
		}
		if rec.Code == 200 && len(b) == 0 && !strings.HasSuffix(path, "/revoke") {
			t.Fatalf("empty 200 body for %s %s", method, path)
		}
	})
}
