package opsim_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tripline-dev/tripline/internal/opsim"
)

// Items 1, 2, 4, 6: every resource route under both layouts, JSON answers.
func TestRoutes_Items01_02_04_06(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: smallSeed()})
	tok := e.defaultToken(t)
	for _, version := range []string{"v1beta1", "v1"} {
		base := "/" + version + "/accounts/" + e.srv.Account() + "/users"
		tests := []struct {
			name, method, path string
			wantState          string
		}{
			{"item01 list", http.MethodGet, base, ""},
			{"item01 get", http.MethodGet, base + "/MEMBER1AAAAAAAAAAAAAAAAAAA", "ACTIVE"},
			{"item02 suspend", http.MethodPost, base + "/MEMBER1AAAAAAAAAAAAAAAAAAA:suspend", "SUSPENDED"},
			{"item02 reactivate", http.MethodPost, base + "/MEMBER1AAAAAAAAAAAAAAAAAAA:reactivate", "ACTIVE"},
			{"item02 escaped colon", http.MethodPost, base + "/MEMBER1AAAAAAAAAAAAAAAAAAA%3Asuspend", "SUSPENDED"},
		}
		for _, tc := range tests {
			res := e.api(t, tc.method, tc.path, tok)
			if res.status != http.StatusOK {
				t.Fatalf("%s %s: status %d body %s", version, tc.name, res.status, res.body)
			}
			if ct := res.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s %s: Content-Type %q", version, tc.name, ct)
			}
			if tc.wantState != "" {
				if u := decodeUser(t, res); u.State != tc.wantState {
					t.Errorf("%s %s: state %s, want %s", version, tc.name, u.State, tc.wantState)
				}
			}
		}
		e.api(t, http.MethodPost, base+"/MEMBER1AAAAAAAAAAAAAAAAAAA:reactivate", tok)
	}
}

// Item 5: unknown verbs and routes are 404, wrong methods 405, both with
// a Status body.
func TestRoutingErrors_Item05(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: smallSeed()})
	tok := e.defaultToken(t)
	base := e.usersPath()
	tests := []struct {
		name, method, path string
		status, code       int
		message, allow     string
	}{
		{"unknown verb", http.MethodPost, base + "/MEMBER1AAAAAAAAAAAAAAAAAAA:delete", 404, 5, "not_found", ""},
		{"unknown route", http.MethodGet, "/v2/accounts/" + e.srv.Account() + "/users", 404, 5, "not_found", ""},
		{"root", http.MethodGet, "/", 404, 5, "not_found", ""},
		{"trailing slash", http.MethodGet, base + "/", 404, 5, "not_found", ""},
		{"too deep", http.MethodGet, base + "/MEMBER1AAAAAAAAAAAAAAAAAAA/groups", 404, 5, "not_found", ""},
		{"empty id with verb", http.MethodPost, base + "/:suspend", 404, 5, "not_found", ""},
		{"post list", http.MethodPost, base, 405, 12, "method_not_allowed", "GET"},
		{"get suspend", http.MethodGet, base + "/MEMBER1AAAAAAAAAAAAAAAAAAA:suspend", 405, 12, "method_not_allowed", "POST"},
		{"delete user", http.MethodDelete, base + "/MEMBER1AAAAAAAAAAAAAAAAAAA", 405, 12, "method_not_allowed", "GET"},
		{"get token", http.MethodGet, "/v1/oauth/token", 405, 12, "method_not_allowed", "POST"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := e.api(t, tc.method, tc.path, tok)
			wantStatusBody(t, res, tc.status, tc.code, tc.message)
			if got := res.header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow = %q, want %q", got, tc.allow)
			}
		})
	}
}

// Item 16: missing, malformed, unknown, expired or revoked bearer tokens
// are 401 code 16 on every resource endpoint.
func TestBearerAuth_Item16(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: smallSeed()})
	good := e.defaultToken(t)
	user := e.usersPath() + "/MEMBER1AAAAAAAAAAAAAAAAAAA"
	tests := []struct{ name, auth string }{
		{"missing", ""},
		{"basic scheme", "Basic " + good},
		{"no token", "Bearer "},
		{"no space", "Bearer" + good},
		{"unknown", "Bearer not-a-token"},
		{"token with suffix", "Bearer " + good + "x"},
	}
	for _, tc := range tests {
		for _, ep := range []struct{ method, path string }{
			{http.MethodGet, e.usersPath()}, {http.MethodGet, user},
			{http.MethodPost, user + ":suspend"}, {http.MethodPost, user + ":reactivate"},
		} {
			req := newRequest(t, ep.method, e.ts.URL+ep.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			res := do(t, req)
			wantStatusBody(t, res, 401, 16, "unauthenticated")
			if !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s: WWW-Authenticate = %q", tc.name, res.header.Get("WWW-Authenticate"))
			}
		}
	}
	// Lower-case scheme is accepted.
	req := newRequest(t, http.MethodGet, e.ts.URL+e.usersPath(), nil)
	req.Header.Set("Authorization", "bearer "+good)
	if res := do(t, req); res.status != 200 {
		t.Fatalf("lower-case bearer: %d", res.status)
	}
}

// Item 17: a path account other than the token's is 403 code 7, or 404
// code 5 when configured.
func TestWrongAccount_Item17(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		cfgStatus    int
		status, code int
		message      string
	}{
		{"default 403", 0, 403, 7, "permission_denied"},
		{"configured 404", 404, 404, 5, "account_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, opsim.Config{Seed: smallSeed(), WrongAccountStatus: tc.cfgStatus})
			tok := e.defaultToken(t)
			other := "/v1/accounts/OTHERACCOUNT00000000000000/users"
			for _, ep := range []struct{ method, path string }{
				{http.MethodGet, other}, {http.MethodGet, other + "/MEMBER1AAAAAAAAAAAAAAAAAAA"},
				{http.MethodPost, other + "/MEMBER1AAAAAAAAAAAAAAAAAAA:suspend"},
			} {
				wantStatusBody(t, e.api(t, ep.method, ep.path, tok), tc.status, tc.code, tc.message)
			}
			if u, _ := e.srv.User("MEMBER1AAAAAAAAAAAAAAAAAAA"); u.State != "ACTIVE" {
				t.Fatal("user suspended through another account")
			}
		})
	}
}

// Item 18: each missing permission is 403 code 7 on its endpoint only.
func TestPermissions_Item18(t *testing.T) {
	t.Parallel()
	all := []string{"get", "list", "suspend", "reactivate"}
	seed := smallSeed()
	for _, missing := range all {
		var perms []string
		for _, p := range all {
			if p != missing {
				perms = append(perms, p)
			}
		}
		seed.Clients = append(seed.Clients, opsim.ClientSeed{ID: "no-" + missing, Secret: "s", Permissions: perms})
	}
	e := newEnv(t, opsim.Config{Seed: seed})
	user := e.usersPath() + "/MEMBER1AAAAAAAAAAAAAAAAAAA"
	endpoints := map[string]struct{ method, path string }{
		"list":       {http.MethodGet, e.usersPath()},
		"get":        {http.MethodGet, user},
		"suspend":    {http.MethodPost, user + ":suspend"},
		"reactivate": {http.MethodPost, user + ":reactivate"},
	}
	for _, missing := range all {
		t.Run("item18 without "+missing, func(t *testing.T) {
			tok := e.token(t, "no-"+missing, "s")
			for name, ep := range endpoints {
				res := e.api(t, ep.method, ep.path, tok)
				if name == missing {
					wantStatusBody(t, res, 403, 7, "permission_denied")
				} else if res.status != 200 {
					t.Errorf("%s with permission: status %d body %s", name, res.status, res.body)
				}
			}
		})
	}
}

// Item 19: the User-Agent is recorded per request; strict mode rejects a
// missing or versionless agent with 400.
func TestUserAgent_Item19(t *testing.T) {
	t.Parallel()
	t.Run("recorded", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, opsim.Config{Seed: smallSeed()})
		tok := e.defaultToken(t)
		req := newRequest(t, http.MethodGet, e.ts.URL+e.usersPath()+"?filter=user.isActive()", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("User-Agent", "tripline/1.2.3")
		do(t, req)
		reqs := e.srv.Requests()
		if len(reqs) != 2 {
			t.Fatalf("log has %d entries, want 2: %+v", len(reqs), reqs)
		}
		got := reqs[1]
		if got.UserAgent != "tripline/1.2.3" || got.Method != "GET" || got.Path != e.usersPath() ||
			got.Status != 200 || got.Endpoint != "list" || !got.Time.Equal(e.clock.Now()) {
			t.Fatalf("logged %+v", got)
		}
		if reqs[0].Endpoint != "token" || reqs[0].UserAgent != testUA {
			t.Fatalf("logged token request %+v", reqs[0])
		}
	})
	t.Run("strict", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, opsim.Config{Seed: smallSeed(), StrictUserAgent: true})
		tok := e.defaultToken(t)
		for _, tc := range []struct {
			ua string
			ok bool
		}{
			{"tripline/1.0", true},
			{"ElasticKibana/9.4.0 (linux)", true},
			{"ElasticKibana", false},
			{"Go-http-client/1.1", false},
			{"/1.0", false},
		} {
			req := newRequest(t, http.MethodGet, e.ts.URL+e.usersPath(), nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("User-Agent", tc.ua)
			res := do(t, req)
			if tc.ok && res.status != 200 {
				t.Errorf("UA %q: status %d", tc.ua, res.status)
			}
			if !tc.ok {
				wantStatusBody(t, res, 400, 3, "user_agent_required")
			}
		}
		// Go sends its default agent when the header is empty.
		req := newRequest(t, http.MethodPost, e.ts.URL+"/v1/oauth/token", strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(opsim.DefaultClientID, opsim.DefaultClientSecret)
		req.Header.Set("User-Agent", "")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 400 {
			t.Fatalf("token without UA in strict mode: %d", res.StatusCode)
		}
	})
}
