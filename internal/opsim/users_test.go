package opsim_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/opsim"
)

// page is a decoded list response plus whether next_page_token was present.
type page struct {
	Results       []opsim.User `json:"results"`
	NextPageToken string       `json:"next_page_token"`
	hasNextKey    bool
}

// list fetches one page with the given raw query.
func (e *env) list(t testing.TB, tok, rawQuery string) (page, response) {
	t.Helper()
	res := e.api(t, http.MethodGet, e.usersPath()+"?"+rawQuery, tok)
	var p page
	if res.status == http.StatusOK {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(res.body, &raw); err != nil {
			t.Fatalf("decode page: %v", err)
		}
		_, p.hasNextKey = raw["next_page_token"]
		if _, ok := raw["results"]; !ok {
			t.Fatalf("page without results: %s", res.body)
		}
		if err := json.Unmarshal(res.body, &p); err != nil {
			t.Fatalf("decode page: %v", err)
		}
	}
	return p, res
}

// interleavedSeed has n users, even ones ACTIVE, odd ones SUSPENDED.
func interleavedSeed(n int) opsim.Seed {
	s := opsim.Seed{Account: "ACCT0000000000000000000001"}
	for i := range n {
		u := opsim.UserSeed{Email: fmt.Sprintf("u%05d@example.com", i)}
		if i%2 == 1 {
			u.State = "SUSPENDED"
		}
		s.Users = append(s.Users, u)
	}
	return s
}

// Items 22 and 24: 2,500 matching users come in 3 pages of at most 1000
// for each filter, in the stable order, without duplicates, and the last
// page has no next_page_token.
func TestPagination_Items22_24(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: interleavedSeed(5000)})
	all := e.srv.Users()
	e2 := newEnv(t, opsim.Config{Generate: 2500})
	for _, tc := range []struct {
		name   string
		env    *env
		filter string
		want   func(opsim.User) bool
	}{
		{"item22 no filter", e2, "", func(opsim.User) bool { return true }},
		{"item22 empty filter", e2, "filter=&", func(opsim.User) bool { return true }},
		{"item22 active", e, "filter=" + url.QueryEscape("user.isActive()") + "&", func(u opsim.User) bool { return u.State == "ACTIVE" }},
		{"item22 suspended", e, "filter=" + url.QueryEscape("user.isSuspended()") + "&", func(u opsim.User) bool { return u.State == "SUSPENDED" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok := tc.env.defaultToken(t)
			var got []opsim.User
			var sizes []int
			next := ""
			for {
				q := tc.filter + "max_page_size=1000"
				if next != "" {
					q += "&page_token=" + url.QueryEscape(next)
				}
				p, res := tc.env.list(t, tok, q)
				if res.status != 200 {
					t.Fatalf("status %d body %s", res.status, res.body)
				}
				got = append(got, p.Results...)
				sizes = append(sizes, len(p.Results))
				if p.NextPageToken == "" {
					if p.hasNextKey {
						t.Fatal("last page carries next_page_token key")
					}
					break
				}
				if strings.ContainsAny(p.NextPageToken, "=+/") {
					t.Fatalf("page token %q is not unpadded URL-safe base64", p.NextPageToken)
				}
				next = p.NextPageToken
			}
			if !slices.Equal(sizes, []int{1000, 1000, 500}) {
				t.Fatalf("page sizes %v, want [1000 1000 500]", sizes)
			}
			src := all
			if tc.env == e2 {
				src = e2.srv.Users()
			}
			want := slices.DeleteFunc(slices.Clone(src), func(u opsim.User) bool { return !tc.want(u) })
			if !slices.Equal(got, want) {
				t.Fatalf("listing differs from Users() order (%d vs %d users)", len(got), len(want))
			}
		})
	}
}

// Item 22: garbage, foreign and other-filter page tokens are 400 code 3.
func TestPageTokenErrors_Item22(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: interleavedSeed(10)})
	tok := e.defaultToken(t)
	p, _ := e.list(t, tok, "max_page_size=2")
	pActive, _ := e.list(t, tok, "max_page_size=2&filter=user.isActive()")
	other := newEnv(t, opsim.Config{Seed: interleavedSeed(10), Rand: rand.New(rand.NewPCG(7, 7))})
	pOther, _ := other.list(t, other.defaultToken(t), "max_page_size=2")
	if p.NextPageToken == "" || pActive.NextPageToken == "" || pOther.NextPageToken == "" {
		t.Fatal("setup: expected page tokens")
	}
	tests := []struct{ name, query string }{
		{"garbage", "page_token=%25%25%25"},
		{"not base64", "page_token=hello!"},
		{"docs example", "page_token=CAIQAg"},
		{"padded", "page_token=" + url.QueryEscape(p.NextPageToken+"==")},
		{"truncated", "page_token=" + p.NextPageToken[:len(p.NextPageToken)-2]},
		{"foreign server", "page_token=" + pOther.NextPageToken},
		{"other filter: all token with active", "filter=user.isActive()&page_token=" + p.NextPageToken},
		{"other filter: active token with none", "page_token=" + pActive.NextPageToken},
		{"other filter: active token with suspended", "filter=user.isSuspended()&page_token=" + pActive.NextPageToken},
		{"long", "page_token=" + strings.Repeat("A", 3000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, res := e.list(t, tok, tc.query)
			wantStatusBody(t, res, 400, 3, "invalid page_token")
		})
	}
	// The same filter works.
	if _, res := e.list(t, tok, "filter=user.isActive()&page_token="+pActive.NextPageToken); res.status != 200 {
		t.Fatalf("same filter: %d", res.status)
	}
}

// Item 20: default 25, <= 0 means default, > 1000 is clamped (or 400 when
// configured), non-numbers are 400.
func TestPageSize_Item20(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Generate: 1100})
	strict := newEnv(t, opsim.Config{Generate: 1100, RejectLargePageSize: true})
	tok, stok := e.defaultToken(t), strict.defaultToken(t)
	tests := []struct {
		name   string
		env    *env
		tok    string
		query  string
		status int
		n      int
	}{
		{"default", e, tok, "", 200, 25},
		{"zero", e, tok, "max_page_size=0", 200, 25},
		{"negative", e, tok, "max_page_size=-5", 200, 25},
		{"seven", e, tok, "max_page_size=7", 200, 7},
		{"max", e, tok, "max_page_size=1000", 200, 1000},
		{"clamped", e, tok, "max_page_size=1001", 200, 1000},
		{"clamped huge", e, tok, "max_page_size=2000000000", 200, 1000},
		{"not a number", e, tok, "max_page_size=ten", 400, 0},
		{"overflow int32", e, tok, "max_page_size=99999999999", 400, 0},
		{"strict 1000", strict, stok, "max_page_size=1000", 200, 1000},
		{"strict 1001", strict, stok, "max_page_size=1001", 400, 0},
	}
	for _, tc := range tests {
		t.Run("item20 "+tc.name, func(t *testing.T) {
			t.Parallel()
			p, res := tc.env.list(t, tc.tok, tc.query)
			if tc.status != 200 {
				wantStatusBody(t, res, tc.status, 3, "invalid max_page_size")
				return
			}
			if res.status != 200 || len(p.Results) != tc.n {
				t.Fatalf("status %d, %d results, want %d", res.status, len(p.Results), tc.n)
			}
		})
	}
}

// Item 21: the two filters, raw and URL-encoded; anything else is 400.
func TestFilter_Item21(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: interleavedSeed(10)})
	tok := e.defaultToken(t)
	tests := []struct {
		name, query string
		n           int // -1: invalid
	}{
		{"absent", "", 10},
		{"empty", "filter=", 10},
		{"active raw", "filter=user.isActive()", 5},
		{"active encoded", "filter=user.isActive%28%29", 5},
		{"suspended raw", "filter=user.isSuspended()", 5},
		{"suspended encoded", "filter=" + url.QueryEscape("user.isSuspended()"), 5},
		{"unknown", "filter=user.isAdmin()", -1},
		{"unknown encoded", "filter=user.isAdmin%28%29", -1},
		{"case", "filter=USER.ISACTIVE()", -1},
		{"no parens", "filter=user.isActive", -1},
		{"space", "filter=+user.isActive()", -1},
		{"state expr", "filter=" + url.QueryEscape(`state="ACTIVE"`), -1},
	}
	for _, tc := range tests {
		t.Run("item21 "+tc.name, func(t *testing.T) {
			t.Parallel()
			p, res := e.list(t, tok, tc.query)
			if tc.n < 0 {
				wantStatusBody(t, res, 400, 3, "invalid filter")
				return
			}
			if res.status != 200 || len(p.Results) != tc.n {
				t.Fatalf("status %d, %d results, want %d", res.status, len(p.Results), tc.n)
			}
		})
	}
}

// Item 23: camelCase aliases work and unknown query params are ignored.
func TestCamelCaseAliases_Item23(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Generate: 30})
	tok := e.defaultToken(t)
	p1, res := e.list(t, tok, "maxPageSize=20&unknown=1&view=FULL")
	if res.status != 200 || len(p1.Results) != 20 || p1.NextPageToken == "" {
		t.Fatalf("camel page 1: status %d, %d results", res.status, len(p1.Results))
	}
	p2, res := e.list(t, tok, "maxPageSize=20&pageToken="+p1.NextPageToken)
	if res.status != 200 || len(p2.Results) != 10 || p2.NextPageToken != "" {
		t.Fatalf("camel page 2: status %d, %d results", res.status, len(p2.Results))
	}
	p3, _ := e.list(t, tok, "max_page_size=20&page_token="+p1.NextPageToken)
	if !slices.Equal(p2.Results, p3.Results) {
		t.Fatal("snake_case and camelCase tokens differ")
	}
}

// An empty account lists as {"results":[]}.
func TestEmptyList(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{})
	res := e.api(t, http.MethodGet, e.usersPath(), e.defaultToken(t))
	if res.status != 200 || strings.TrimSpace(string(res.body)) != `{"results":[]}` {
		t.Fatalf("status %d body %s", res.status, res.body)
	}
}

// Item 25: unknown users are 404 code 5 on get, suspend and reactivate.
func TestUnknownUser_Item25(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: smallSeed()})
	tok := e.defaultToken(t)
	for _, ep := range []struct{ method, suffix string }{
		{http.MethodGet, ""}, {http.MethodPost, ":suspend"}, {http.MethodPost, ":reactivate"},
	} {
		res := e.api(t, ep.method, e.usersPath()+"/NOSUCHUSERAAAAAAAAAAAAAAAA"+ep.suffix, tok)
		wantStatusBody(t, res, 404, 5, "user_not_found")
	}
}

// Items 26, 27: suspend and reactivate change state and are idempotent.
func TestSuspendReactivateIdempotent_Items26_27(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: smallSeed()})
	tok := e.defaultToken(t)
	user := e.usersPath() + "/MEMBER1AAAAAAAAAAAAAAAAAAA"
	before, _ := e.srv.User("MEMBER1AAAAAAAAAAAAAAAAAAA")
	for _, step := range []struct{ verb, want string }{
		{"suspend", "SUSPENDED"}, {"suspend", "SUSPENDED"},
		{"reactivate", "ACTIVE"}, {"reactivate", "ACTIVE"},
	} {
		u := decodeUser(t, e.api(t, http.MethodPost, user+":"+step.verb, tok))
		want := before
		want.State = step.want
		if u != want {
			t.Fatalf("%s: got %+v, want %+v", step.verb, u, want)
		}
		if got, _ := e.srv.User(before.ID); got != want {
			t.Fatalf("%s: stored %+v", step.verb, got)
		}
		if got := decodeUser(t, e.api(t, http.MethodGet, user, tok)); got != want {
			t.Fatalf("%s: get after %+v", step.verb, got)
		}
	}
}

// Item 28: suspending the last active owner is 403 no_owner_remain.
func TestLastOwner_Item28(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: smallSeed()})
	tok := e.defaultToken(t)
	owner1 := e.usersPath() + "/OWNER1AAAAAAAAAAAAAAAAAAAA"
	owner2 := e.usersPath() + "/OWNER2AAAAAAAAAAAAAAAAAAAA"
	decodeUser(t, e.api(t, http.MethodPost, owner1+":suspend", tok))
	wantStatusBody(t, e.api(t, http.MethodPost, owner2+":suspend", tok), 403, 7, "no_owner_remain")
	if u, _ := e.srv.User("OWNER2AAAAAAAAAAAAAAAAAAAA"); u.State != "ACTIVE" {
		t.Fatal("last owner suspended")
	}
	// Suspending the suspended owner again is still idempotent.
	decodeUser(t, e.api(t, http.MethodPost, owner1+":suspend", tok))
	decodeUser(t, e.api(t, http.MethodPost, owner1+":reactivate", tok))
	if u := decodeUser(t, e.api(t, http.MethodPost, owner2+":suspend", tok)); u.State != "SUSPENDED" {
		t.Fatalf("owner2 after owner1 came back: %+v", u)
	}
	wantStatusBody(t, e.api(t, http.MethodPost, owner1+":suspend", tok), 403, 7, "no_owner_remain")
}

// Item 29: externally managed admins are refused (configurable); an
// externally managed member is not.
func TestEAMRefusal_Item29(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name         string
		cfg          opsim.Config
		status, code int
		message      string
	}{
		{"default", opsim.Config{}, 403, 7, "externally_managed_admin"},
		{"configured", opsim.Config{EAMStatus: 400, EAMCode: 9, EAMMessage: "failed_precondition"}, 400, 9, "failed_precondition"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tc.cfg
			cfg.Seed = smallSeed()
			e := newEnv(t, cfg)
			tok := e.defaultToken(t)
			wantStatusBody(t, e.api(t, http.MethodPost, e.usersPath()+"/EAMADMINAAAAAAAAAAAAAAAAAA:suspend", tok), tc.status, tc.code, tc.message)
			if u := decodeUser(t, e.api(t, http.MethodPost, e.usersPath()+"/EAMMEMBERAAAAAAAAAAAAAAAAA:suspend", tok)); u.State != "SUSPENDED" {
				t.Fatalf("EAM member: %+v", u)
			}
		})
	}
}

// Item 30: request bodies on suspend and reactivate are ignored.
func TestBodyIgnored_Item30(t *testing.T) {
	t.Parallel()
	e := newEnv(t, opsim.Config{Seed: smallSeed()})
	tok := e.defaultToken(t)
	for _, body := range []string{"", "{}", `{"reason":"risky"}`, "not json", strings.Repeat("x", 1<<16)} {
		for _, verb := range []string{"suspend", "reactivate"} {
			req := newRequest(t, http.MethodPost, e.ts.URL+e.usersPath()+"/MEMBER1AAAAAAAAAAAAAAAAAAA:"+verb, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			decodeUser(t, do(t, req))
		}
	}
}

var idPattern = regexp.MustCompile(`^[A-Z0-9]{26}$`)

// Items 31, 32: the user JSON has exactly the six fields, create_time is
// RFC 3339 UTC with Z, path is accounts/{account}/users/{id}, and generated
// IDs match ^[A-Z0-9]{26}$.
func TestUserJSON_Items31_32(t *testing.T) {
	t.Parallel()
	seed := smallSeed()
	seed.Account = ""
	seed.Users = append(seed.Users, opsim.UserSeed{
		Email: "late@example.com", CreateTime: time.Date(2030, 1, 1, 1, 2, 3, 0, time.FixedZone("X", 3600)),
	})
	e := newEnv(t, opsim.Config{Seed: seed, Generate: 5})
	if !idPattern.MatchString(e.srv.Account()) {
		t.Fatalf("generated account %q", e.srv.Account())
	}
	tok := e.defaultToken(t)
	res := e.api(t, http.MethodGet, e.usersPath()+"?max_page_size=100", tok)
	var body struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(res.body, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Results) != 12 {
		t.Fatalf("%d users", len(body.Results))
	}
	for _, m := range body.Results {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"create_time", "display_name", "email", "id", "path", "state"}) {
			t.Fatalf("keys %v", keys)
		}
		id, _ := m["id"].(string)
		if m["path"] != "accounts/"+e.srv.Account()+"/users/"+id {
			t.Errorf("path %v for %s", m["path"], id)
		}
		ct, _ := m["create_time"].(string)
		if _, err := time.Parse(time.RFC3339, ct); err != nil || !strings.HasSuffix(ct, "Z") {
			t.Errorf("create_time %q", ct)
		}
		if strings.HasPrefix(id, "OWNER") || strings.HasPrefix(id, "EAM") || strings.HasPrefix(id, "MEMBER1") {
			continue
		}
		if !idPattern.MatchString(id) {
			t.Errorf("generated id %q", id)
		}
	}
	if u, ok := e.srv.UserByEmail("LATE@example.com"); !ok || u.CreateTime != "2030-01-01T00:02:03Z" {
		t.Fatalf("late user %+v %v", u, ok)
	}
	if u, ok := e.srv.UserByEmail("user00005@example.com"); !ok || u.DisplayName != "User 00005" {
		t.Fatalf("generated user %+v %v", u, ok)
	}
	// A fresh server derives the same IDs.
	e2 := newEnv(t, opsim.Config{Seed: seed, Generate: 5, Rand: rand.New(rand.NewPCG(9, 9))})
	a, _ := e.srv.UserByEmail("user00003@example.com")
	b, _ := e2.srv.UserByEmail("user00003@example.com")
	if a.ID != b.ID {
		t.Fatalf("generated IDs differ between runs: %s %s", a.ID, b.ID)
	}
}
