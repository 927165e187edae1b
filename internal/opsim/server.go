package opsim

import (
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Default OAuth client, registered when Seed.Clients is empty.
const (
	DefaultClientID     = "tripline-dev"
	DefaultClientSecret = "opsim-dev-secret"
)

// Config configures a Server. The zero value is usable: a generated
// account, the default client and no users.
type Config struct {
	// Seed is the account, clients and users to start with.
	Seed Seed
	// Generate adds this many synthetic users after the seed:
	// user00001@example.com ("User 00001") and so on, ACTIVE members with
	// IDs derived from the email, so they are the same on every run.
	Generate int
	// Now is the clock for token expiry and the request log; default
	// time.Now.
	Now func() time.Time
	// Rand drives fault rolls and the minting of tokens, page-token keys
	// and a generated account ID; default seeded randomly. It is only used
	// under the server's lock.
	Rand *rand.Rand
	// StrictUserAgent rejects requests whose User-Agent does not start
	// with a Name/version product token (and Go's default
	// "Go-http-client/..." agent) with 400.
	StrictUserAgent bool
	// RejectLargePageSize answers max_page_size > 1000 with 400 instead of
	// clamping it to 1000.
	RejectLargePageSize bool
	// WrongAccountStatus is the HTTP status for a path account other than
	// the token's: 403 (code 7, the default) or 404 (code 5).
	WrongAccountStatus int
	// EAMStatus, EAMCode and EAMMessage are the refusal to suspend an
	// externally managed admin or owner; defaults 403, 7,
	// "externally_managed_admin".
	EAMStatus, EAMCode int
	// EAMMessage is the message of the externally managed admin refusal.
	EAMMessage string
}

// User is the Users API's user object.
type User struct {
	// ID is the user ID.
	ID string `json:"id"`
	// Email is the user's email address.
	Email string `json:"email"`
	// DisplayName is the user's display name.
	DisplayName string `json:"display_name"`
	// State is ACTIVE or SUSPENDED.
	State string `json:"state"`
	// CreateTime is RFC 3339 in UTC with a "Z" suffix.
	CreateTime string `json:"create_time"`
	// Path is accounts/{account}/users/{id}.
	Path string `json:"path"`
}

// userRecord is a user with the fields the API does not expose.
type userRecord struct {
	User
	created  time.Time
	emailKey string
	role     string
	eam      bool
}

// Server is the simulator. It implements http.Handler and is safe for
// concurrent use.
type Server struct {
	account    string
	cfg        Config
	clients    map[string]client
	clientList []ClientSeed
	pageKey    []byte

	usersMu      sync.RWMutex
	users        []userRecord   // stable order: create_time, then id
	byID         map[string]int // id -> index in users
	byEmail      map[string]int // lower-case email -> index in users
	activeOwners int

	mu     sync.Mutex // guards tokens, faults and rand
	tokens map[string]token
	faults Faults
	rand   *rand.Rand

	log requestLog
}

// New validates cfg and returns a Server. Every seed problem (duplicate
// ids or emails, bad states, roles or permissions) is reported at once.
func New(cfg Config) (*Server, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		var seed [32]byte
		_, _ = crand.Read(seed[:])
		cfg.Rand = rand.New(rand.NewChaCha8(seed))
	}
	var errs []error
	switch cfg.WrongAccountStatus {
	case 0:
		cfg.WrongAccountStatus = http.StatusForbidden
	case http.StatusForbidden, http.StatusNotFound:
	default:
		errs = append(errs, fmt.Errorf("wrong account status %d: want 403 or 404", cfg.WrongAccountStatus))
	}
	if cfg.EAMStatus == 0 {
		cfg.EAMStatus = http.StatusForbidden
	} else if cfg.EAMStatus < 400 || cfg.EAMStatus > 599 {
		errs = append(errs, fmt.Errorf("eam status %d: want 400-599", cfg.EAMStatus))
	}
	if cfg.EAMCode == 0 {
		cfg.EAMCode = codePermissionDenied
	}
	if cfg.EAMMessage == "" {
		cfg.EAMMessage = "externally_managed_admin"
	}

	s := &Server{
		cfg:    cfg,
		rand:   cfg.Rand,
		tokens: make(map[string]token),
		faults: Faults{},
		log:    requestLog{max: maxLoggedRequests},
	}
	s.account = cfg.Seed.Account
	if s.account == "" {
		s.account = s.randomID()
	} else if !accountPattern.MatchString(s.account) {
		errs = append(errs, fmt.Errorf("seed: account %q: want 26 upper-case letters or digits", s.account))
	}
	s.pageKey = make([]byte, 16)
	binary.LittleEndian.PutUint64(s.pageKey, s.rand.Uint64())
	binary.LittleEndian.PutUint64(s.pageKey[8:], s.rand.Uint64())

	var err error
	if s.clients, s.clientList, err = buildClients(cfg.Seed.Clients); err != nil {
		errs = append(errs, fmt.Errorf("seed: %w", err))
	}
	users, err := buildUsers(cfg.Seed.Users, cfg.Generate)
	if err != nil {
		errs = append(errs, fmt.Errorf("seed: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("opsim: %w", err)
	}

	sort.SliceStable(users, func(i, j int) bool {
		a, b := users[i], users[j]
		if !a.created.Equal(b.created) {
			return a.created.Before(b.created)
		}
		return a.ID < b.ID
	})
	s.users = users
	s.byID = make(map[string]int, len(users))
	s.byEmail = make(map[string]int, len(users))
	prefix := "accounts/" + s.account + "/users/"
	for i := range s.users {
		u := &s.users[i]
		u.Path = prefix + u.ID
		s.byID[u.ID] = i
		s.byEmail[u.emailKey] = i
		if u.role == RoleOwner && u.State == StateActive {
			s.activeOwners++
		}
	}
	return s, nil
}

// randomID returns 26 random base32 characters.
func (s *Server) randomID() string {
	var b [20]byte
	binary.LittleEndian.PutUint64(b[:], s.rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], s.rand.Uint64())
	binary.LittleEndian.PutUint32(b[16:], s.rand.Uint32())
	return idEncoding.EncodeToString(b[:])[:26]
}

// Account returns the account ID.
func (s *Server) Account() string { return s.account }

// Clients returns the registered clients, with Permissions filled in.
func (s *Server) Clients() []ClientSeed {
	out := make([]ClientSeed, len(s.clientList))
	for i, c := range s.clientList {
		c.Permissions = append([]string(nil), c.Permissions...)
		out[i] = c
	}
	return out
}

// route is a matched API route.
type route struct {
	endpoint string
	account  string
	userID   string
}

// matchRoute maps a request to a route. On failure it returns the HTTP
// status (404 or 405) and, for 405, the allowed method.
func matchRoute(method, path string) (route, int, string) {
	seg := strings.Split(strings.TrimPrefix(path, "/"), "/")
	want := http.MethodPost
	var rt route
	switch {
	case len(seg) == 4 && seg[0] == "v1beta1" && seg[1] == "users" && seg[2] == "oauth2" && seg[3] == "token",
		len(seg) == 3 && seg[0] == "v1" && seg[1] == "oauth" && seg[2] == "token":
		rt.endpoint = EndpointToken
	case len(seg) == 4 && seg[0] == "v1beta1" && seg[1] == "users" && seg[2] == "oauth2" && seg[3] == "revoke",
		len(seg) == 3 && seg[0] == "v1" && seg[1] == "oauth" && seg[2] == "revoke":
		rt.endpoint = EndpointRevoke
	case (len(seg) == 4 || len(seg) == 5) && (seg[0] == "v1beta1" || seg[0] == "v1") &&
		seg[1] == "accounts" && seg[2] != "" && seg[3] == "users":
		rt.account = seg[2]
		if len(seg) == 4 {
			rt.endpoint, want = EndpointList, http.MethodGet
			break
		}
		id, verb, _ := strings.Cut(seg[4], ":")
		if id == "" {
			return route{}, http.StatusNotFound, ""
		}
		rt.userID = id
		switch verb {
		case "":
			rt.endpoint, want = EndpointGet, http.MethodGet
		case "suspend":
			rt.endpoint = EndpointSuspend
		case "reactivate":
			rt.endpoint = EndpointReactivate
		default:
			return route{}, http.StatusNotFound, ""
		}
	default:
		return route{}, http.StatusNotFound, ""
	}
	if method != want {
		return route{}, http.StatusMethodNotAllowed, want
	}
	return rt, 0, ""
}

// userAgentPattern is a leading Name/version product token.
var userAgentPattern = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_|~-]+/[A-Za-z0-9!#$%&'*+.^_|~-]+`)

// validUserAgent reports whether ua identifies a product with a version.
func validUserAgent(ua string) bool {
	return userAgentPattern.MatchString(ua) && !strings.HasPrefix(ua, "Go-http-client/")
}

// ServeHTTP serves the Users API, the token server and the /_opsim/
// controls.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_opsim" || strings.HasPrefix(r.URL.Path, "/_opsim/") {
		s.serveAdmin(w, r)
		return
	}
	start := s.cfg.Now()
	sw := &statusWriter{ResponseWriter: w}
	rt := s.serveAPI(sw, r)
	s.log.add(Request{
		Method:    r.Method,
		Path:      r.URL.Path,
		Status:    sw.code(),
		UserAgent: r.UserAgent(),
		Time:      start,
		Endpoint:  rt.endpoint,
	})
}

// statusClientClosed is logged when the client went away during injected
// latency.
const statusClientClosed = 499

// serveAPI answers one API request and returns the matched route.
func (s *Server) serveAPI(w *statusWriter, r *http.Request) route {
	rt, code, allow := matchRoute(r.Method, r.URL.Path)
	switch code {
	case http.StatusNotFound:
		writeStatus(w, code, codeNotFound, "not_found")
		return rt
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", allow)
		writeStatus(w, code, codeUnimplemented, "method_not_allowed")
		return rt
	}

	latency, fault := s.rollFault(rt.endpoint, rt.userID)
	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			w.status = statusClientClosed
			return rt
		}
	}
	if fault.status != 0 {
		writeFault(w, rt.endpoint, fault)
		return rt
	}

	if s.cfg.StrictUserAgent && !validUserAgent(r.UserAgent()) {
		const msg = "user_agent_required"
		if rt.endpoint == EndpointToken || rt.endpoint == EndpointRevoke {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", msg)
		} else {
			writeStatus(w, http.StatusBadRequest, codeInvalidArgument, msg)
		}
		return rt
	}

	switch rt.endpoint {
	case EndpointToken:
		s.serveToken(w, r)
		return rt
	case EndpointRevoke:
		s.serveRevoke(w, r)
		return rt
	}

	tok, ok := s.authenticate(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="opsim"`)
		writeStatus(w, http.StatusUnauthorized, codeUnauthenticated, "unauthenticated")
		return rt
	}
	if rt.account != tok.account {
		if s.cfg.WrongAccountStatus == http.StatusNotFound {
			writeStatus(w, http.StatusNotFound, codeNotFound, "account_not_found")
		} else {
			writeStatus(w, http.StatusForbidden, codePermissionDenied, "permission_denied")
		}
		return rt
	}
	if tok.perms&permFor(rt.endpoint) == 0 {
		writeStatus(w, http.StatusForbidden, codePermissionDenied, "permission_denied")
		return rt
	}
	switch rt.endpoint {
	case EndpointList:
		s.serveList(w, r)
	case EndpointGet:
		s.serveGet(w, rt.userID)
	case EndpointSuspend:
		s.serveSuspend(w, rt.userID)
	case EndpointReactivate:
		s.serveReactivate(w, rt.userID)
	}
	return rt
}

// permFor returns the permission a resource endpoint needs.
func permFor(endpoint string) perm {
	switch endpoint {
	case EndpointList:
		return permList
	case EndpointGet:
		return permGet
	case EndpointSuspend:
		return permSuspend
	case EndpointReactivate:
		return permReactivate
	}
	return 0
}

// statusWriter records the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the status and forwards it.
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200 and forwards the bytes.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// code returns the status written, 200 when nothing was.
func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}
