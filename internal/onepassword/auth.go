package onepassword

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/tripline-dev/tripline/internal/secret"
)

// earlyExpiry is how long before its stated expiry a token is replaced, so
// that a request never leaves with a token about to lapse in flight.
const earlyExpiry = 60 * time.Second

// recentTokens is how many of the latest access tokens the redactor
// removes from error text: the current one and those it replaced, which a
// slow or confused server may still echo.
const recentTokens = 4

// tokenSource fetches client-credentials tokens and caches the current one
// until shortly before it expires, like oauth2.ReuseTokenSourceWithExpiry,
// but on the client's clock and with explicit invalidation after a 401.
type tokenSource struct {
	cc        clientcredentials.Config
	revokeURL string
	hc        *http.Client
	now       func() time.Time

	cur atomic.Pointer[cachedToken]
	// fetch is a one-slot semaphore: one token request at a time; waiters
	// give up when their ctx ends.
	fetch chan struct{}

	// credentials are the client secret and the two forms of "id:secret"
	// whose base64 is the Basic credential: never in error text.
	credentials []Secret
	mu          sync.Mutex
	recent      []Secret // the latest issued tokens, newest last

	stats tokenCounts
}

// tokenCounts counts token requests by result (see TokenStats).
type tokenCounts struct {
	issued, refused, unavailable atomic.Int64
}

// count records the result of one token request; a request cut short by
// its own ctx (shutdown, a caller gone) is not a result of the endpoint.
func (c *tokenCounts) count(ctx context.Context, err error) {
	var apiErr *APIError
	switch {
	case err == nil:
		c.issued.Add(1)
	case ctx.Err() != nil:
	case errors.As(err, &apiErr) && apiErr.Status >= 400 && apiErr.Status < 500 && apiErr.Status != http.StatusTooManyRequests:
		c.refused.Add(1)
	default:
		c.unavailable.Add(1)
	}
}

type cachedToken struct {
	value   Secret
	refresh time.Time // zero: no stated expiry, kept until invalidated
}

func (t *cachedToken) fresh(now time.Time) bool {
	return t.refresh.IsZero() || now.Before(t.refresh)
}

func newTokenSource(clientID string, clientSecret Secret, tokenURL, revokeURL string, hc *http.Client, now func() time.Time) *tokenSource {
	return &tokenSource{
		cc: clientcredentials.Config{
			ClientID:     clientID,
			ClientSecret: clientSecret.Reveal(),
			TokenURL:     tokenURL,
			Scopes:       []string{"openid"},
			AuthStyle:    oauth2.AuthStyleInHeader,
		},
		revokeURL: revokeURL,
		hc:        hc,
		now:       now,
		fetch:     make(chan struct{}, 1),
		credentials: []Secret{
			clientSecret,
			Secret(clientID + ":" + clientSecret.Reveal()),
			// oauth2's AuthStyleInHeader URL-encodes both halves first.
			Secret(url.QueryEscape(clientID) + ":" + url.QueryEscape(clientSecret.Reveal())),
		},
	}
}

// remember adds a newly issued token to those the redactor removes.
func (s *tokenSource) remember(tok Secret) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recent = append(s.recent, tok)
	if n := len(s.recent); n > recentTokens {
		s.recent = slices.Delete(s.recent, 0, n-recentTokens)
	}
}

// redactor returns the function every error built from a response goes
// through before it is stored: it removes the client secret, its Basic
// credential, the recent access tokens and extra (the token a request
// carried), and anything else that looks like a credential (secret.Redact).
// The list of secrets is gathered only when an error needs it.
func (s *tokenSource) redactor(extra ...Secret) func(string) string {
	return func(text string) string {
		s.mu.Lock()
		secrets := slices.Concat(s.credentials, s.recent, extra)
		s.mu.Unlock()
		return secret.Redact(text, secrets...)
	}
}

// token returns a fresh access token, fetching one when none is cached or
// the cached one is within earlyExpiry of expiring.
func (s *tokenSource) token(ctx context.Context) (Secret, error) {
	if t := s.cur.Load(); t != nil && t.fresh(s.now()) {
		return t.value, nil
	}
	select {
	case s.fetch <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("%s: %w", OpFetchToken, ctx.Err())
	}
	defer func() { <-s.fetch }()
	// Another caller may have fetched while this one waited.
	if t := s.cur.Load(); t != nil && t.fresh(s.now()) {
		return t.value, nil
	}
	issued := s.now()
	tok, err := s.cc.Token(context.WithValue(ctx, oauth2.HTTPClient, s.hc))
	if err != nil {
		err = s.fetchError(ctx, err)
		s.stats.count(ctx, err)
		return "", err
	}
	s.stats.count(ctx, nil)
	t := &cachedToken{value: Secret(tok.AccessToken)}
	s.remember(t.value)
	if lifetime := tokenLifetime(tok); lifetime > 0 {
		margin := earlyExpiry
		if lifetime <= 2*margin {
			margin = lifetime / 2
		}
		t.refresh = issued.Add(lifetime - margin)
	}
	s.cur.Store(t)
	return t.value, nil
}

// tokenLifetime reads expires_in from the token response. Falling back to
// Expiry (computed by oauth2 on the wall clock) only when expires_in is
// missing keeps the cache on the client's own clock.
func tokenLifetime(tok *oauth2.Token) time.Duration {
	switch v := tok.Extra("expires_in").(type) {
	case float64:
		if v > 0 {
			return time.Duration(v * float64(time.Second))
		}
	case string:
		if d, err := time.ParseDuration(strings.TrimSpace(v) + "s"); err == nil && d > 0 {
			return d
		}
	}
	if !tok.Expiry.IsZero() {
		return time.Until(tok.Expiry)
	}
	return 0
}

// fetchError classifies a token-endpoint failure: an HTTP answer becomes an
// APIError (401 invalid_client is permanent, 5xx retryable); no answer at
// all becomes a NetworkError. The oauth2.RetrieveError itself (which holds
// the raw body) never leaves: only redacted text taken from it does.
func (s *tokenSource) fetchError(ctx context.Context, err error) error {
	redact := s.redactor()
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status, header := http.StatusOK, http.Header{}
		if re.Response != nil {
			status, header = re.Response.StatusCode, re.Response.Header
		}
		e := newAPIError(OpFetchToken, status, header, re.Body, s.now(), redact)
		if e.Message == "" {
			e.Message = cleanMessage(redact(re.ErrorCode))
		}
		return e
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return transportError(ctx, OpFetchToken, ue, redact)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", OpFetchToken, ctxErr)
	}
	// A 2xx answer that is not a usable token response.
	return fmt.Errorf("%s: invalid token response: %w", OpFetchToken, redactError(err, redact))
}

// invalidate drops the cached token if it is still old, so the next call
// fetches a new one. Callers that saw a 401 with an older token do not
// throw away a token another caller just fetched.
func (s *tokenSource) invalidate(old Secret) {
	if t := s.cur.Load(); t != nil && t.value == old {
		s.cur.CompareAndSwap(t, nil)
	}
}

// revoke revokes the cached token (RFC 7009) and drops it from the cache.
// It does nothing, and reports hadToken false, when no token is cached.
func (s *tokenSource) revoke(ctx context.Context) (hadToken bool, err error) {
	t := s.cur.Load()
	if t == nil {
		return false, nil
	}
	defer s.cur.CompareAndSwap(t, nil)
	form := url.Values{"token": {t.value.Reveal()}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.revokeURL, strings.NewReader(form.Encode()))
	if err != nil {
		return true, fmt.Errorf("%s: build request: %w", OpRevokeToken, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Same encoding as oauth2's AuthStyleInHeader (RFC 6749 section 2.3.1).
	req.SetBasicAuth(url.QueryEscape(s.cc.ClientID), url.QueryEscape(s.cc.ClientSecret))
	redact := s.redactor(t.value)
	resp, err := s.hc.Do(req)
	if err != nil {
		return true, transportError(ctx, OpRevokeToken, err, redact)
	}
	body, _ := readBody(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return true, newAPIError(OpRevokeToken, resp.StatusCode, resp.Header, body, s.now(), redact)
	}
	return true, nil
}

// Token obtains an access token, or returns the cached one while it is
// fresh. Use it as a readiness check: an error wrapping remediate.ErrUnauthenticated
// means the client id or secret is wrong.
func (c *Client) Token(ctx context.Context) error {
	_, err := c.auth.token(ctx)
	return err
}

// Revoke revokes the current access token at the token server and drops it
// from the cache (even when the revoke request fails); the next call
// fetches a new token. Call it on shutdown so a token never outlives the
// process that used it. With no cached token (none was ever obtained, or
// the last one was refused) it sends nothing and reports hadToken false;
// otherwise err says whether the server confirmed the revocation, and is
// retryable like any other call's error.
func (c *Client) Revoke(ctx context.Context) (hadToken bool, err error) {
	hadToken, err = c.auth.revoke(ctx)
	if hadToken {
		c.countRevocation(ctx, err)
	}
	return hadToken, err
}
