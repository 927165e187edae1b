package opsim

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// TokenTTL is the lifetime of an access token.
const TokenTTL = 900 * time.Second

// maxFormBytes bounds token and revoke request bodies.
const maxFormBytes = 64 << 10

// token is an issued access token.
type token struct {
	clientID string
	account  string
	perms    perm
	expires  time.Time
}

// tokenResponse is the RFC 6749 section 5.1 success body.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// clientAuth checks the Basic credentials of a token or revoke request.
// As RFC 6749 section 2.3.1 says, the client id and secret are
// form-urlencoded before they are put in the header; they are decoded here.
func (s *Server) clientAuth(r *http.Request) (client, bool) {
	rawID, rawSecret, ok := r.BasicAuth()
	if !ok {
		return client{}, false
	}
	id, err1 := url.QueryUnescape(rawID)
	secret, err2 := url.QueryUnescape(rawSecret)
	if err1 != nil || err2 != nil {
		return client{}, false
	}
	c, ok := s.clients[id]
	if !ok || subtle.ConstantTimeCompare([]byte(secret), []byte(c.seed.Secret)) != 1 {
		return client{}, false
	}
	return c, true
}

// clientForm authenticates the client of a token or revoke request and
// reads its form body, answering the OAuth error itself when either fails.
func (s *Server) clientForm(w http.ResponseWriter, r *http.Request) (client, bool) {
	c, ok := s.clientAuth(r)
	if !ok {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client authentication with HTTP Basic is required")
		return client{}, false
	}
	if !parseForm(w, r) {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return client{}, false
	}
	return c, true
}

// parseForm reads a bounded form body.
func parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	return r.ParseForm() == nil
}

// serveToken answers the client_credentials token endpoint.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	c, ok := s.clientForm(w, r)
	if !ok {
		return
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "client_credentials":
	case "":
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
		return
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
		return
	}
	if scope := r.PostForm.Get("scope"); scope != "" && scope != "openid" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "scope must be openid")
		return
	}

	now := s.cfg.Now()
	s.mu.Lock()
	if len(s.tokens) >= 1024 && len(s.tokens)%1024 == 0 {
		for k, t := range s.tokens {
			if !now.Before(t.expires) {
				delete(s.tokens, k)
			}
		}
	}
	var raw [32]byte
	for i := 0; i < len(raw); i += 8 {
		binary.LittleEndian.PutUint64(raw[i:], s.rand.Uint64())
	}
	access := base64.RawURLEncoding.EncodeToString(raw[:])
	s.tokens[access] = token{
		clientID: c.seed.ID,
		account:  s.account,
		perms:    c.perms,
		expires:  now.Add(TokenTTL),
	}
	s.mu.Unlock()

	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken: access,
		TokenType:   "Bearer",
		ExpiresIn:   int(TokenTTL / time.Second),
		Scope:       "openid",
	})
}

// serveRevoke answers the revoke endpoint: 200 with an empty body whether
// or not the token existed. A token issued to another client is left alone.
func (s *Server) serveRevoke(w http.ResponseWriter, r *http.Request) {
	c, ok := s.clientForm(w, r)
	if !ok {
		return
	}
	access := r.PostForm.Get("token")
	if access == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}
	s.mu.Lock()
	if t, ok := s.tokens[access]; ok && t.clientID == c.seed.ID {
		delete(s.tokens, access)
	}
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// authenticate checks the bearer token of a resource request.
func (s *Server) authenticate(r *http.Request) (token, bool) {
	scheme, access, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return token{}, false
	}
	access = strings.TrimSpace(access)
	if access == "" {
		return token{}, false
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[access]
	if !ok {
		return token{}, false
	}
	if !now.Before(t.expires) {
		delete(s.tokens, access)
		return token{}, false
	}
	return t, true
}

// RevokeAllTokens revokes every issued access token; clients must fetch
// new ones.
func (s *Server) RevokeAllTokens() { s.revokeAll() }

// revokeAll revokes every token and returns how many there were.
func (s *Server) revokeAll() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.tokens)
	clear(s.tokens)
	return n
}
