package onepassword_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"

	"github.com/tripline-dev/tripline/internal/onepassword"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// The credentials of the redaction tests. The secret has characters that
// URL encoding changes, so the encoded forms differ from the raw one.
const (
	echoClientID = "echo-app"
	echoSecret   = "Echo/S3cret+value=with&odd chars"
)

// echoForms are the forms of the client secret a server may echo: raw,
// URL-encoded, base64, and the Basic credential (oauth2 URL-encodes both
// halves before base64).
func echoForms() map[string]string {
	return map[string]string{
		"raw":             echoSecret,
		"prefix":          echoSecret[:8], // what a cut message would keep
		"query-escaped":   url.QueryEscape(echoSecret),
		"path-escaped":    url.PathEscape(echoSecret),
		"base64":          base64.StdEncoding.EncodeToString([]byte(echoSecret)),
		"basic":           base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(echoClientID) + ":" + url.QueryEscape(echoSecret))),
		"basic-unescaped": base64.StdEncoding.EncodeToString([]byte(echoClientID + ":" + echoSecret)),
	}
}

// leakText renders err every way it can reach an operator: Error, the fmt
// verbs, and slog's JSON and text handlers (for the error and for the
// *APIError or *NetworkError inside it).
func leakText(err error) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s|%v|%+v|%#v|%q\n", err, err, err, err, err)
	for _, h := range []slog.Handler{slog.NewJSONHandler(&b, nil), slog.NewTextHandler(&b, nil)} {
		l := slog.New(h)
		l.Error("call failed", "error", err)
		var ae *onepassword.APIError
		if errors.As(err, &ae) {
			l.Error("api error", "api_error", ae, "message", ae.Message, "detail", fmt.Sprintf("%+v %#v", *ae, ae))
		}
		var ne *onepassword.NetworkError
		if errors.As(err, &ne) {
			l.Error("network error", "network_error", ne, "cause", ne.Err, "detail", fmt.Sprintf("%+v %#v", *ne, ne.Err))
		}
		for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
			l.Error("unwrapped", "error", u)
		}
	}
	return b.String()
}

func assertNoLeak(t *testing.T, what string, err error, leaks map[string]string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: want an error", what)
	}
	text := leakText(err)
	for name, leak := range leaks {
		if strings.Contains(text, leak) {
			t.Errorf("%s: the %s form %q appears in the error output:\n%s", what, name, leak, text)
		}
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		t.Errorf("%s: the raw oauth2.RetrieveError (with the response body) is reachable", what)
	}
}

// TestTokenEndpointEchoesNeverReachErrors points the client at a token
// endpoint that echoes the client secret back, in every place and form an
// error body can hold, and checks that no error shows it.
func TestTokenEndpointEchoesNeverReachErrors(t *testing.T) {
	t.Parallel()
	forms := echoForms()
	long := strings.Repeat("x", 190) // the secret straddles the 200-byte cut
	bodies := []struct {
		name, contentType, body string
	}{
		{"json error_description", "application/json", `{"error":"invalid_client","error_description":"client secret ` + echoSecret + ` is wrong"}`},
		{"json error", "application/json", `{"error":"invalid_client ` + echoSecret + `"}`},
		{"json message", "application/json", `{"code":16,"message":"client ` + echoClientID + `:` + echoSecret + ` refused"}`},
		{"json message, query-escaped", "application/json", `{"message":"client_secret=` + forms["query-escaped"] + `"}`},
		{"json message, lower-case escapes", "application/json", `{"message":"cs ` + strings.ToLower(forms["query-escaped"]) + `"}`},
		{"json message, path-escaped", "application/json", `{"message":"cs ` + forms["path-escaped"] + `"}`},
		{"json message, base64", "application/json", `{"message":"cs ` + forms["base64"] + `"}`},
		{"json message, basic header", "application/json", `{"error":"invalid_client","message":"Authorization: Basic ` + forms["basic"] + `"}`},
		{"json message, bare basic value", "application/json", `{"message":"bad credential ` + forms["basic"] + ` and ` + forms["basic-unescaped"] + `"}`},
		{"json message, cut at 200 bytes", "application/json", `{"message":"` + long + echoSecret + `"}`},
		{"plain text", "text/plain", "bad client secret " + echoSecret},
		{"plain text, form style", "text/plain", "error=invalid_client+" + forms["query-escaped"] + "&error_description=" + forms["query-escaped"]},
		{"form, url-encoded", "application/x-www-form-urlencoded", "error=" + url.QueryEscape("invalid_client "+echoSecret)},
		{"html", "text/html", "<html><body>Basic " + forms["basic"] + "<br>" + echoSecret + "</body></html>"},
		{"invalid json quoting the body", "application/json", echoSecret + `{"error":`},
	}
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusInternalServerError} {
		for _, b := range bodies {
			t.Run(fmt.Sprintf("%d %s", status, b.name), func(t *testing.T) {
				t.Parallel()
				ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path != "/v1beta1/users/oauth2/token" {
						t.Errorf("unexpected request %s %s", r.Method, r.URL.Path)
					}
					w.Header().Set("Content-Type", b.contentType)
					w.WriteHeader(status)
					io.WriteString(w, b.body)
				}))
				t.Cleanup(ts.Close)
				c := clientFor(t, ts, testAccount, newFakeClock(), func(c *onepassword.Config) {
					c.ClientID, c.ClientSecret = echoClientID, echoSecret
				})
				err := c.Token(t.Context())
				assertNoLeak(t, "Token", err, forms)
				_, err = c.SuspendUser(t.Context(), "U1")
				assertNoLeak(t, "SuspendUser", err, forms)
				// Redaction keeps the classification.
				var ae *onepassword.APIError
				if !errors.As(err, &ae) || ae.Status != status || ae.Op != onepassword.OpFetchToken {
					t.Fatalf("error = %#v, want an APIError %d from %s", err, status, onepassword.OpFetchToken)
				}
				if got := isRetryable(err); got != (status >= 500) {
					t.Errorf("Retryable = %v for %d", got, status)
				}
				if status == http.StatusUnauthorized && !errors.Is(err, remediate.ErrUnauthenticated) {
					t.Errorf("401 does not match ErrUnauthenticated: %v", err)
				}
			})
		}
	}
}

// TestTokenEndpointErrorKeepsItsCode checks that redaction leaves a useful
// message: the OAuth error code stays, the secret goes.
func TestTokenEndpointErrorKeepsItsCode(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusUnauthorized, `{"error":"invalid_client for `+echoSecret+`"}`)
	}))
	t.Cleanup(ts.Close)
	c := clientFor(t, ts, testAccount, newFakeClock(), func(c *onepassword.Config) { c.ClientID, c.ClientSecret = echoClientID, echoSecret })
	err := c.Token(t.Context())
	if want := "fetch token: 401 unauthorized: invalid_client for [redacted]"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

// echoAPI is a Users API whose token endpoint hands out tok-1, tok-2, ...
// and whose resource endpoint is answer. It counts token requests.
func echoAPI(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, bearer string)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var issued atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1beta1/users/oauth2/token" {
			n := issued.Add(1)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":"%s","token_type":"Bearer","expires_in":900}`, echoToken(int(n)))
			return
		}
		answer(w, r, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}))
	t.Cleanup(ts.Close)
	return ts, &issued
}

func echoToken(n int) string { return fmt.Sprintf("tok-%d-0123456789abcdef", n) }

// TestResourceEchoesNeverReachErrors has the resource API echo the bearer
// token (the current one, the one before it, one the client never saw)
// in error bodies, in a body that is not JSON, and in a malformed HTTP
// answer that net/http quotes.
func TestResourceEchoesNeverReachErrors(t *testing.T) {
	t.Parallel()
	const stranger = "eyJhbGciOiJIUzI1NiJ9.c29tZW9uZS1lbHNl.c2ln"
	leaks := echoForms()
	for i := 1; i <= 3; i++ {
		leaks[fmt.Sprintf("token %d", i)] = echoToken(i)
	}
	leaks["stranger's token"] = stranger
	answers := []struct {
		name   string
		answer func(w http.ResponseWriter, r *http.Request, bearer string)
	}{
		{"500 echoing the header", func(w http.ResponseWriter, r *http.Request, bearer string) {
			writeStatus(w, 500, fmt.Sprintf(`{"code":13,"message":"bad header %s"}`, r.Header.Get("Authorization")))
		}},
		{"403 echoing the bare token", func(w http.ResponseWriter, r *http.Request, bearer string) {
			writeStatus(w, 403, fmt.Sprintf(`{"code":7,"message":"token %s lacks suspend_users"}`, bearer))
		}},
		{"429 echoing other bearer tokens", func(w http.ResponseWriter, r *http.Request, bearer string) {
			writeStatus(w, 429, `{"code":8,"message":"rate_limited: Bearer `+stranger+`, access_token=`+stranger+`"}`)
		}},
		{"500 echoing the previous token", func(w http.ResponseWriter, r *http.Request, bearer string) {
			if bearer == echoToken(1) { // refresh once: tok-1 becomes the previous token
				writeStatus(w, 401, `{"code":16,"message":"unauthenticated"}`)
				return
			}
			writeStatus(w, 500, fmt.Sprintf(`{"code":13,"message":"%s replaced %s"}`, bearer, echoToken(1)))
		}},
		{"200 with a body that is not a user", func(w http.ResponseWriter, r *http.Request, bearer string) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"id":%s}`, bearer)
		}},
		{"malformed HTTP answer", func(w http.ResponseWriter, r *http.Request, bearer string) {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			fmt.Fprintf(buf, "NOT-HTTP %s %s\r\n\r\n", bearer, echoSecret)
			buf.Flush()
		}},
	}
	for _, a := range answers {
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			ts, _ := echoAPI(t, a.answer)
			c := clientFor(t, ts, testAccount, newFakeClock(), func(c *onepassword.Config) { c.ClientID, c.ClientSecret = echoClientID, echoSecret })
			_, err := c.SuspendUser(t.Context(), "U1")
			assertNoLeak(t, "SuspendUser", err, leaks)
			_, err = c.ListUsers(t.Context(), onepassword.ListOptions{})
			assertNoLeak(t, "ListUsers", err, leaks)
		})
	}
}

// TestRevokeEchoNeverReachesErrors has the revoke endpoint echo the token
// and the Basic credential it was sent.
func TestRevokeEchoNeverReachesErrors(t *testing.T) {
	t.Parallel()
	var issued atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1beta1/users/oauth2/token":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":"%s","expires_in":900}`, echoToken(int(issued.Add(1))))
		case "/v1beta1/users/oauth2/revoke":
			r.ParseForm()
			writeStatus(w, 503, fmt.Sprintf(`{"error":"temporarily_unavailable","message":"cannot revoke %s for %s"}`, r.PostForm.Get("token"), r.Header.Get("Authorization")))
		}
	}))
	t.Cleanup(ts.Close)
	c := clientFor(t, ts, testAccount, newFakeClock(), func(c *onepassword.Config) { c.ClientID, c.ClientSecret = echoClientID, echoSecret })
	if err := c.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	had, err := c.Revoke(t.Context())
	leaks := echoForms()
	leaks["token"] = echoToken(1)
	assertNoLeak(t, "Revoke", err, leaks)
	if !had || !isRetryable(err) || !strings.HasPrefix(err.Error(), "revoke token: 503") {
		t.Errorf("Revoke = %v, %v", had, err)
	}
}

// recorder is a transport that keeps a copy of every request: the
// Authorization header and the form body.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	path, auth string
	form       url.Values
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := recorded{path: req.URL.Path, auth: req.Header.Get("Authorization")}
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		rec.form, _ = url.ParseQuery(string(body))
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, rec)
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

// TestRevokeRevokesTheFetchedToken checks that Revoke after a token fetch
// sends that very token to the revoke endpoint, and that the simulator then
// refuses it.
func TestRevokeRevokesTheFetchedToken(t *testing.T) {
	t.Parallel()
	sim, ts, clock := newSim(t, opsim.Config{Generate: 1})
	rec := &recorder{base: ts.Client().Transport}
	c, err := onepassword.New(t.Context(), onepassword.Config{
		BaseURL: ts.URL, AccountID: sim.Account(), ClientID: opsim.DefaultClientID,
		ClientSecret: opsim.DefaultClientSecret, AllowInsecureLoopback: true,
	}, onepassword.WithTransport(rec), onepassword.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := c.ListUsers(ctx, onepassword.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	had, err := c.Revoke(ctx)
	if err != nil || !had {
		t.Fatalf("Revoke = %v, %v", had, err)
	}
	if n := count(sim, opsim.EndpointRevoke, http.StatusOK); n != 1 {
		t.Fatalf("%d revoke requests answered 200, want 1", n)
	}
	rec.mu.Lock()
	reqs := rec.reqs
	rec.mu.Unlock()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want token, list, revoke", len(reqs))
	}
	bearer := strings.TrimPrefix(reqs[1].auth, "Bearer ")
	revoked := reqs[2].form.Get("token")
	if bearer == "" || revoked != bearer || !strings.HasPrefix(reqs[2].auth, "Basic ") {
		t.Fatalf("revoke sent token %q (auth %q), the list call used %q", revoked, reqs[2].auth, bearer)
	}
	// The simulator no longer accepts the token.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/v1beta1/accounts/"+sim.Account()+"/users", nil)
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the revoked token still works: %d", resp.StatusCode)
	}
	// Nothing is cached any more: a second Revoke sends nothing.
	if had, err := c.Revoke(ctx); had || err != nil {
		t.Errorf("second Revoke = %v, %v", had, err)
	}
	if n := count(sim, opsim.EndpointRevoke, 0); n != 1 {
		t.Errorf("%d revoke requests after the second Revoke, want 1", n)
	}
}
