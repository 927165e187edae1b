package opsim_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/opsim"
)

// The /_opsim/ controls: state, faults, revoke-all; not logged, not faulted.
func TestAdminEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: smallSeed()})
	tok := e.defaultToken(t)

	post := func(path, body string) response {
		req := newRequest(t, http.MethodPost, e.ts.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return do(t, req)
	}

	res := post("/_opsim/faults", `{"*":{"rate_500":1},"list":{"latency_ms":5,"rate_429":0.5,"retry_after":3}}`)
	if res.status != 200 {
		t.Fatalf("post faults: %d %s", res.status, res.body)
	}
	var f opsim.Faults
	if err := json.Unmarshal(res.body, &f); err != nil {
		t.Fatal(err)
	}
	want := opsim.Faults{"*": {Rate500: 1}, "list": {Latency: 5 * time.Millisecond, Rate429: 0.5, RetryAfter: 3}}
	if len(f) != 2 || f["*"] != want["*"] || f["list"] != want["list"] {
		t.Fatalf("faults answer %+v", f)
	}
	res = e.api(t, http.MethodGet, "/_opsim/faults", "")
	if res.status != 200 || !strings.Contains(string(res.body), `"latency_ms":5`) {
		t.Fatalf("get faults: %d %s", res.status, res.body)
	}
	// Admin endpoints ignore faults, API endpoints don't.
	wantStatusBody(t, e.api(t, http.MethodGet, e.usersPath()+"/MEMBER1AAAAAAAAAAAAAAAAAAA", tok), 500, 13, "internal")

	for _, bad := range []string{`{"nope":{}}`, `{"get":{"rate_500":2}}`, `{"get":{"rate500":1}}`, `not json`, `{} {}`} {
		if res := post("/_opsim/faults", bad); res.status != 400 || res.statusBody(t)["code"] != float64(3) {
			t.Errorf("faults %s: %d %s", bad, res.status, res.body)
		}
	}
	post("/_opsim/faults", `{}`)

	res = post("/_opsim/revoke-all", "")
	if res.status != 200 || strings.TrimSpace(string(res.body)) != `{"revoked":1}` {
		t.Fatalf("revoke-all: %d %s", res.status, res.body)
	}
	wantStatusBody(t, e.api(t, http.MethodGet, e.usersPath(), tok), 401, 16, "unauthenticated")

	res = e.api(t, http.MethodGet, "/_opsim/state", "")
	var st struct {
		Account string `json:"account"`
		Users   []struct {
			ID                string `json:"id"`
			Role              string `json:"role"`
			ExternallyManaged bool   `json:"externally_managed"`
			State             string `json:"state"`
		} `json:"users"`
		Requests []map[string]any `json:"requests"`
	}
	if err := json.Unmarshal(res.body, &st); err != nil {
		t.Fatal(err)
	}
	if st.Account != e.srv.Account() || len(st.Users) != 6 {
		t.Fatalf("state %+v", st)
	}
	if u := st.Users[2]; u.ID != "EAMADMINAAAAAAAAAAAAAAAAAA" || u.Role != "admin" || !u.ExternallyManaged {
		t.Fatalf("state user %+v", u)
	}
	// Logged: token, faulted get, unauthenticated list. Admin calls are not.
	if len(st.Requests) != 3 {
		t.Fatalf("requests %v", st.Requests)
	}
	for _, k := range []string{"method", "path", "status", "user_agent", "time", "endpoint"} {
		if _, ok := st.Requests[0][k]; !ok {
			t.Fatalf("request entry lacks %q: %v", k, st.Requests[0])
		}
	}
	wantStatusBody(t, e.api(t, http.MethodGet, "/_opsim/nope", ""), 404, 5, "not_found")
	wantStatusBody(t, e.api(t, http.MethodGet, "/_opsim/revoke-all", ""), 405, 12, "method_not_allowed")
}
