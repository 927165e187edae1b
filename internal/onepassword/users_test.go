package onepassword_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tripline-dev/tripline/internal/onepassword"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/version"
)

func TestListAllPagination(t *testing.T) {
	t.Parallel()
	// 1,200 suspended seed users plus 1,300 generated active ones.
	var seeds []opsim.UserSeed
	for i := range 1200 {
		seeds = append(seeds, opsim.UserSeed{Email: fmt.Sprintf("gone%04d@example.com", i), State: opsim.StateSuspended})
	}
	env := newSimEnv(t, opsim.Config{Seed: opsim.Seed{Users: seeds}, Generate: 1300}, nil)

	tests := []struct {
		filter    string
		wantUsers int
		wantPages int
		wantState string
	}{
		{filter: "", wantUsers: 2500, wantPages: 3},
		{filter: onepassword.FilterActive, wantUsers: 1300, wantPages: 2, wantState: remediate.StateActive},
		{filter: onepassword.FilterSuspended, wantUsers: 1200, wantPages: 2, wantState: remediate.StateSuspended},
	}
	for _, tt := range tests {
		before := count(env.sim, opsim.EndpointList, http.StatusOK)
		ids := map[string]bool{}
		var sizes []int
		pages, err := env.client.ListAll(t.Context(), tt.filter, 1000, func(users []remediate.User) error {
			sizes = append(sizes, len(users))
			for _, u := range users {
				if ids[u.ID] {
					t.Errorf("filter %q: user %s listed twice", tt.filter, u.ID)
				}
				ids[u.ID] = true
				if tt.wantState != "" && u.State != tt.wantState {
					t.Errorf("filter %q: user %s in state %s", tt.filter, u.ID, u.State)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("ListAll(%q): %v", tt.filter, err)
		}
		if pages != tt.wantPages || len(ids) != tt.wantUsers {
			t.Errorf("ListAll(%q) = %d pages %v, %d users; want %d pages, %d users", tt.filter, pages, sizes, len(ids), tt.wantPages, tt.wantUsers)
		}
		if got := count(env.sim, opsim.EndpointList, http.StatusOK) - before; got != tt.wantPages {
			t.Errorf("ListAll(%q): simulator saw %d list requests, want %d", tt.filter, got, tt.wantPages)
		}
	}

	// fn's error stops the listing and comes back as is.
	stop := errors.New("stop")
	pages, err := env.client.ListAll(t.Context(), "", 1000, func([]remediate.User) error { return stop })
	if !errors.Is(err, stop) || pages != 1 {
		t.Errorf("ListAll with failing fn = %d, %v; want 1, stop", pages, err)
	}
}

func TestUserDecoding(t *testing.T) {
	t.Parallel()
	env := newSimEnv(t, opsim.Config{Seed: opsim.Seed{Users: []opsim.UserSeed{
		{ID: "IR7VJHJ36JHINBFAD7V2T5MP3E", Email: "Wendy_Appleseed@agilebits.com", DisplayName: "Wendy Appleseed",
			CreateTime: time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)},
	}}}, nil)
	got, err := env.client.GetUser(t.Context(), "IR7VJHJ36JHINBFAD7V2T5MP3E")
	if err != nil {
		t.Fatal(err)
	}
	want := remediate.User{
		ID: "IR7VJHJ36JHINBFAD7V2T5MP3E", Email: "Wendy_Appleseed@agilebits.com", DisplayName: "Wendy Appleseed",
		State: remediate.StateActive,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetUser (-want +got):\n%s", diff)
	}
}

func TestSuspendReactivate(t *testing.T) {
	t.Parallel()
	for _, apiVersion := range []string{onepassword.APIVersionV1Beta1, onepassword.APIVersionV1} {
		t.Run(apiVersion, func(t *testing.T) {
			t.Parallel()
			env := newSimEnv(t, opsim.Config{Generate: 3}, func(c *onepassword.Config) { c.APIVersion = apiVersion })
			target, _ := env.sim.UserByEmail("user00002@example.com")
			ctx := t.Context()

			for range 2 { // idempotent
				u, err := env.client.SuspendUser(ctx, target.ID)
				if err != nil || u.State != remediate.StateSuspended || u.ID != target.ID {
					t.Fatalf("SuspendUser = %+v, %v", u, err)
				}
			}
			if s, _ := env.sim.User(target.ID); s.State != opsim.StateSuspended {
				t.Fatalf("simulator state after suspend = %s", s.State)
			}
			page, err := env.client.ListUsers(ctx, onepassword.ListOptions{Filter: onepassword.FilterSuspended})
			if err != nil || len(page.Users) != 1 || page.Users[0].ID != target.ID || page.NextPageToken != "" {
				t.Fatalf("ListUsers(suspended) = %+v, %v", page, err)
			}
			for range 2 {
				u, err := env.client.ReactivateUser(ctx, target.ID)
				if err != nil || u.State == remediate.StateSuspended || u.State != remediate.StateActive {
					t.Fatalf("ReactivateUser = %+v, %v", u, err)
				}
			}
			if _, err := env.client.Revoke(ctx); err != nil {
				t.Fatalf("Revoke: %v", err)
			}

			wantPrefix := "/" + apiVersion + "/accounts/" + env.sim.Account() + "/users"
			tokenPath, revokePath := "/v1beta1/users/oauth2/token", "/v1beta1/users/oauth2/revoke"
			if apiVersion == onepassword.APIVersionV1 {
				tokenPath, revokePath = "/v1/oauth/token", "/v1/oauth/revoke"
			}
			var paths []string
			for _, r := range env.sim.Requests() {
				paths = append(paths, r.Method+" "+r.Path)
				if r.Status != http.StatusOK {
					t.Errorf("%s %s answered %d", r.Method, r.Path, r.Status)
				}
				switch r.Endpoint {
				case opsim.EndpointToken:
					if r.Path != tokenPath {
						t.Errorf("token path %s, want %s", r.Path, tokenPath)
					}
				case opsim.EndpointRevoke:
					if r.Path != revokePath {
						t.Errorf("revoke path %s, want %s", r.Path, revokePath)
					}
				default:
					if !strings.HasPrefix(r.Path, wantPrefix) {
						t.Errorf("resource path %s lacks prefix %s", r.Path, wantPrefix)
					}
				}
			}
			want := []string{
				"POST " + tokenPath,
				"POST " + wantPrefix + "/" + target.ID + ":suspend",
				"POST " + wantPrefix + "/" + target.ID + ":suspend",
				"GET " + wantPrefix,
				"POST " + wantPrefix + "/" + target.ID + ":reactivate",
				"POST " + wantPrefix + "/" + target.ID + ":reactivate",
				"POST " + revokePath,
			}
			if diff := cmp.Diff(want, paths); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUserIDEscaping(t *testing.T) {
	t.Parallel()
	var gotPath atomic.Value
	ts, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		gotPath.Store(r.URL.EscapedPath())
		writeStatus(w, 404, `{"code":5,"message":"user_not_found"}`)
	})
	c := clientFor(t, ts, testAccount, newFakeClock(), nil)
	for _, id := range []string{"", ".", "..", "a/b", "a:suspend", "../../x", strings.Repeat("A", 201)} {
		if _, err := c.SuspendUser(t.Context(), id); err == nil || errors.Is(err, remediate.ErrUserNotFound) || isRetryable(err) {
			t.Errorf("SuspendUser(%q) = %v, want a permanent invalid id error", id, err)
		}
	}
	if gotPath.Load() != nil {
		t.Fatalf("an invalid id reached the server: %v", gotPath.Load())
	}
	_, err := c.SuspendUser(t.Context(), "a b?c#d%")
	if !errors.Is(err, remediate.ErrUserNotFound) {
		t.Fatalf("SuspendUser: %v", err)
	}
	if want := "/v1beta1/accounts/" + testAccount + "/users/a%20b%3Fc%23d%25:suspend"; gotPath.Load() != want {
		t.Errorf("path = %v, want %s", gotPath.Load(), want)
	}
}

func TestListAllEdgeCases(t *testing.T) {
	t.Parallel()
	user := `{"id":"U%d","email":"u%d@example.com","state":"ACTIVE"}`
	tests := []struct {
		name      string
		pages     []string // answer n is served for the nth request
		wantPages int
		wantUsers int
		wantErr   string
	}{
		{name: "empty object", pages: []string{`{}`}, wantPages: 1},
		{name: "empty results", pages: []string{`{"results":[]}`}, wantPages: 1},
		{name: "empty token stops", pages: []string{`{"results":[` + fmt.Sprintf(user, 1, 1) + `],"next_page_token":""}`}, wantPages: 1, wantUsers: 1},
		{name: "empty page then last", pages: []string{`{"next_page_token":"A"}`, `{"results":[` + fmt.Sprintf(user, 2, 2) + `]}`}, wantPages: 2, wantUsers: 1},
		{name: "repeated token", pages: []string{`{"results":[` + fmt.Sprintf(user, 1, 1) + `],"next_page_token":"A"}`,
			`{"results":[` + fmt.Sprintf(user, 2, 2) + `],"next_page_token":"B"}`, `{"next_page_token":"A"}`},
			wantPages: 3, wantUsers: 2, wantErr: "repeated a page token"},
		{name: "same token forever", pages: []string{`{"next_page_token":"A"}`, `{"next_page_token":"A"}`, `{"next_page_token":"A"}`},
			wantPages: 2, wantErr: "repeated a page token"},
		{name: "not json", pages: []string{`<html>`}, wantPages: 0, wantErr: "decode users page"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int32
			ts, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				if i >= len(tt.pages) {
					t.Errorf("request %d beyond the script (query %s)", i, r.URL.RawQuery)
					writeStatus(w, 500, "")
					return
				}
				if i > 0 && r.URL.Query().Get("page_token") == "" {
					t.Errorf("request %d without page_token", i)
				}
				writeStatus(w, 200, tt.pages[i])
			})
			c := clientFor(t, ts, testAccount, newFakeClock(), nil)
			users := 0
			pages, err := c.ListAll(t.Context(), "", 1000, func(u []remediate.User) error { users += len(u); return nil })
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("ListAll error = %v, want %q", err, tt.wantErr)
			}
			if pages != tt.wantPages || users != tt.wantUsers {
				t.Errorf("ListAll = %d pages, %d users; want %d, %d", pages, users, tt.wantPages, tt.wantUsers)
			}
		})
	}
}

func TestPageSizeClamped(t *testing.T) {
	t.Parallel()
	var query atomic.Value
	ts, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		query.Store(r.URL.RawQuery)
		writeStatus(w, 200, `{}`)
	})
	c := clientFor(t, ts, testAccount, newFakeClock(), nil)
	if _, err := c.ListUsers(t.Context(), onepassword.ListOptions{Filter: onepassword.FilterSuspended, PageSize: 5000, PageToken: "CAIQAg"}); err != nil {
		t.Fatal(err)
	}
	if want := "filter=user.isSuspended%28%29&max_page_size=1000&page_token=CAIQAg"; query.Load() != want {
		t.Errorf("query = %v, want %s", query.Load(), want)
	}
}

func TestOversizedBody(t *testing.T) {
	t.Parallel()
	ts, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		body := strings.NewReader(`{"results":[` + strings.Repeat(`{"id":"X"},`, 500_000) + `{}]}`)
		body.WriteTo(w)
	})
	c := clientFor(t, ts, testAccount, newFakeClock(), nil)
	_, err := c.ListUsers(t.Context(), onepassword.ListOptions{})
	if err == nil || !strings.Contains(err.Error(), "exceeds") || isRetryable(err) {
		t.Fatalf("ListUsers of a 5 MB body = %v, want a permanent size error", err)
	}
}

func TestHeadersOnEveryRequest(t *testing.T) {
	t.Parallel()
	t.Run("simulator sees the default user agent", func(t *testing.T) {
		t.Parallel()
		env := newSimEnv(t, opsim.Config{Generate: 2, StrictUserAgent: true}, nil)
		if _, err := env.client.ListAll(t.Context(), "", 1, func([]remediate.User) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := env.client.Revoke(t.Context()); err != nil {
			t.Fatal(err)
		}
		reqs := env.sim.Requests()
		if len(reqs) != 4 { // token, two pages, revoke
			t.Fatalf("%d requests, want 4", len(reqs))
		}
		for _, r := range reqs {
			if r.UserAgent != version.UserAgent() || !strings.HasPrefix(r.UserAgent, "tripline/") {
				t.Errorf("%s %s: User-Agent %q, want %q", r.Method, r.Path, r.UserAgent, version.UserAgent())
			}
		}
	})
	t.Run("accept and custom agent", func(t *testing.T) {
		t.Parallel()
		var bad atomic.Int32
		check := func(r *http.Request) {
			if r.Header.Get("Accept") != "application/json" || r.Header.Get("User-Agent") != "tripline/9.9.9" {
				bad.Add(1)
			}
		}
		srv, _ := fakeAPI(t, func(w http.ResponseWriter, r *http.Request) {
			check(r)
			writeStatus(w, 200, `{"id":"U1"}`)
		})
		wrapped := http.RoundTripper(roundTripFunc(func(r *http.Request) (*http.Response, error) {
			check(r) // token requests pass here too
			return srv.Client().Transport.RoundTrip(r)
		}))
		c, err := onepassword.New(t.Context(), onepassword.Config{
			BaseURL: srv.URL, AllowInsecureLoopback: true, AccountID: testAccount,
			ClientID: "id", ClientSecret: "secret", UserAgent: "tripline/9.9.9",
		}, onepassword.WithTransport(wrapped))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetUser(t.Context(), "U1"); err != nil {
			t.Fatal(err)
		}
		if bad.Load() != 0 {
			t.Errorf("%d requests without Accept or User-Agent", bad.Load())
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
