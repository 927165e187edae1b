package opsim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/opsim"
)

var ccForm = url.Values{"grant_type": {"client_credentials"}}

// Items 3, 4, 10: both token endpoints answer the RFC 6749 shape with
// Cache-Control: no-store, and tokens work on both layouts.
func TestTokenEndpoints_Items03_04_10(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: smallSeed()})
	for _, tokenPath := range []string{"/v1beta1/users/oauth2/token", "/v1/oauth/token"} {
		res := e.tokenRequest(t, tokenPath, opsim.DefaultClientID, opsim.DefaultClientSecret, ccForm)
		if res.status != http.StatusOK {
			t.Fatalf("%s: status %d body %s", tokenPath, res.status, res.body)
		}
		if cc := res.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control = %q", tokenPath, cc)
		}
		var m map[string]any
		if err := json.Unmarshal(res.body, &m); err != nil {
			t.Fatal(err)
		}
		tok, _ := m["access_token"].(string)
		if tok == "" || m["token_type"] != "Bearer" || m["expires_in"] != float64(900) || m["scope"] != "openid" || len(m) != 4 {
			t.Fatalf("%s: body = %s", tokenPath, res.body)
		}
		for _, version := range []string{"v1beta1", "v1"} {
			res := e.api(t, http.MethodGet, "/"+version+"/accounts/"+e.srv.Account()+"/users", tok)
			if res.status != http.StatusOK {
				t.Errorf("token from %s on %s: status %d", tokenPath, version, res.status)
			}
		}
	}
}

// Items 7, 8, 9: client authentication, grant type and scope.
func TestTokenRequestErrors_Items07_08_09(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: smallSeed()})
	id, secret := opsim.DefaultClientID, opsim.DefaultClientSecret
	tests := []struct {
		name       string
		id, secret string
		form       url.Values
		status     int
		errCode    string
	}{
		{"item07 basic ok", id, secret, ccForm, 200, ""},
		{"item07 no credentials", "", "", ccForm, 401, "invalid_client"},
		{"item07 wrong secret", id, "nope", ccForm, 401, "invalid_client"},
		{"item07 unknown client", "someone", secret, ccForm, 401, "invalid_client"},
		{"item07 credentials only in body", "", "", url.Values{
			"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret},
		}, 401, "invalid_client"},
		{"item08 missing grant_type", id, secret, url.Values{}, 400, "invalid_request"},
		{"item08 password grant", id, secret, url.Values{"grant_type": {"password"}}, 400, "unsupported_grant_type"},
		{"item08 authorization_code grant", id, secret, url.Values{"grant_type": {"authorization_code"}}, 400, "unsupported_grant_type"},
		{"item09 scope openid", id, secret, url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}, 200, ""},
		{"item09 scope other", id, secret, url.Values{"grant_type": {"client_credentials"}, "scope": {"list_users"}}, 400, "invalid_scope"},
		{"item09 scope openid plus", id, secret, url.Values{"grant_type": {"client_credentials"}, "scope": {"openid profile"}}, 400, "invalid_scope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := e.tokenRequest(t, "/v1/oauth/token", tc.id, tc.secret, tc.form)
			if tc.status == 200 {
				if res.status != 200 {
					t.Fatalf("status %d body %s", res.status, res.body)
				}
				return
			}
			wantOAuthError(t, res, tc.status, tc.errCode)
			if tc.status == 401 && !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("WWW-Authenticate = %q", res.header.Get("WWW-Authenticate"))
			}
		})
	}
}

// Item 12: a token is rejected once 900 s have passed since issue.
func TestTokenTTL_Item12(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: smallSeed()})
	tok := e.defaultToken(t)
	e.clock.Advance(opsim.TokenTTL - time.Second)
	if res := e.api(t, http.MethodGet, e.usersPath(), tok); res.status != 200 {
		t.Fatalf("at 899s: status %d", res.status)
	}
	e.clock.Advance(time.Second)
	wantStatusBody(t, e.api(t, http.MethodGet, e.usersPath(), tok), 401, 16, "unauthenticated")
}

// Items 13, 14, 15: revoke needs Basic auth, answers 200 with an empty
// body for known and unknown tokens, and the token stops working at once.
func TestRevoke_Items13_14_15(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: smallSeed()})
	id, secret := opsim.DefaultClientID, opsim.DefaultClientSecret
	for _, revokePath := range []string{"/v1beta1/users/oauth2/revoke", "/v1/oauth/revoke"} {
		tok := e.defaultToken(t)

		// item 13
		wantOAuthError(t, e.tokenRequest(t, revokePath, "", "", url.Values{"token": {tok}}), 401, "invalid_client")
		wantOAuthError(t, e.tokenRequest(t, revokePath, id, "bad", url.Values{"token": {tok}}), 401, "invalid_client")
		if res := e.api(t, http.MethodGet, e.usersPath(), tok); res.status != 200 {
			t.Fatalf("token revoked by a bad revoke request: %d", res.status)
		}

		// items 14, 15
		for i, form := range []url.Values{{"token": {tok}}, {"token": {tok}}, {"token": {"never-issued"}}} {
			res := e.tokenRequest(t, revokePath, id, secret, form)
			if res.status != 200 || len(res.body) != 0 {
				t.Fatalf("%s revoke #%d: status %d body %q", revokePath, i, res.status, res.body)
			}
		}
		wantStatusBody(t, e.api(t, http.MethodGet, e.usersPath(), tok), 401, 16, "unauthenticated")
	}
}

// Item 11: a token carries its client's permissions; another client's
// revoke leaves it alone.
func TestTokenBinding_Item11(t *testing.T) {
	t.Parallel()
	seed := smallSeed()
	seed.Clients = []opsim.ClientSeed{
		{ID: "reader", Secret: "r", Permissions: []string{"get", "list"}},
		{ID: "writer", Secret: "w"},
	}
	e := newEnv(t, opsim.Config{Seed: seed})
	reader := e.token(t, "reader", "r")
	if res := e.api(t, http.MethodPost, e.usersPath()+"/MEMBER1AAAAAAAAAAAAAAAAAAA:suspend", reader); res.status != 403 {
		t.Fatalf("reader suspend: status %d", res.status)
	}
	res := e.tokenRequest(t, "/v1/oauth/revoke", "writer", "w", url.Values{"token": {reader}})
	if res.status != 200 {
		t.Fatalf("revoke by other client: %d", res.status)
	}
	if res := e.api(t, http.MethodGet, e.usersPath(), reader); res.status != 200 {
		t.Fatalf("token revoked by another client: %d", res.status)
	}
}

// RevokeAllTokens and POST /_opsim/revoke-all invalidate every token.
func TestRevokeAllTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: smallSeed()})
	a, b := e.defaultToken(t), e.defaultToken(t)
	e.srv.RevokeAllTokens()
	for _, tok := range []string{a, b} {
		wantStatusBody(t, e.api(t, http.MethodGet, e.usersPath(), tok), 401, 16, "unauthenticated")
	}
	c := e.defaultToken(t)
	if res := e.api(t, http.MethodGet, e.usersPath(), c); res.status != 200 {
		t.Fatalf("new token after revoke-all: %d", res.status)
	}
}

// TestTokenFormEncodedCredentials: a secret with characters that RFC 6749
// form-encodes inside the Basic header (as golang.org/x/oauth2 does) works.
func TestTokenFormEncodedCredentials(t *testing.T) {
	t.Parallel()
	secret := "p+ss w%rd&=/"
	srv, err := opsim.New(opsim.Config{Seed: opsim.Seed{Clients: []opsim.ClientSeed{{ID: "id with space+plus", Secret: secret}}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/v1beta1/users/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape("id with space+plus"), url.QueryEscape(secret))
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}
}
