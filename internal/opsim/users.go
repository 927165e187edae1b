package opsim

import (
	"net/http"
	"strconv"
	"strings"
)

// Page sizes of the list endpoint.
const (
	DefaultPageSize = 25
	MaxPageSize     = 1000
)

// listResponse is the ListUsers response body.
type listResponse struct {
	Results       []User `json:"results"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

// queryParam returns the first non-empty value of the snake_case name or
// its camelCase alias.
func queryParam(q map[string][]string, snake, camel string) string {
	if v := q[snake]; len(v) > 0 && v[0] != "" {
		return v[0]
	}
	if v := q[camel]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// serveList answers ListUsers.
func (s *Server) serveList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var filter listFilter
	if v := q["filter"]; len(v) > 0 {
		f, ok := parseFilter(v[0])
		if !ok {
			writeStatus(w, http.StatusBadRequest, codeInvalidArgument, "invalid filter")
			return
		}
		filter = f
	}
	size := DefaultPageSize
	if v := queryParam(q, "max_page_size", "maxPageSize"); v != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
		if err != nil {
			writeStatus(w, http.StatusBadRequest, codeInvalidArgument, "invalid max_page_size")
			return
		}
		switch {
		case n <= 0:
		case n > MaxPageSize && s.cfg.RejectLargePageSize:
			writeStatus(w, http.StatusBadRequest, codeInvalidArgument, "invalid max_page_size")
			return
		case n > MaxPageSize:
			size = MaxPageSize
		default:
			size = int(n)
		}
	}
	offset := 0
	if v := queryParam(q, "page_token", "pageToken"); v != "" {
		f, off, err := decodePageToken(s.pageKey, v)
		if err != nil || f != filter {
			writeStatus(w, http.StatusBadRequest, codeInvalidArgument, "invalid page_token")
			return
		}
		offset = off
	}

	s.usersMu.RLock()
	n := len(s.users)
	if offset > n {
		s.usersMu.RUnlock()
		writeStatus(w, http.StatusBadRequest, codeInvalidArgument, "invalid page_token")
		return
	}
	results := make([]User, 0, min(size, n-offset))
	i := offset
	for ; i < n && len(results) < size; i++ {
		if filter.matches(s.users[i].State) {
			results = append(results, s.users[i].User)
		}
	}
	next := -1
	for ; i < n; i++ {
		if filter.matches(s.users[i].State) {
			next = i
			break
		}
	}
	s.usersMu.RUnlock()

	resp := listResponse{Results: results}
	if next >= 0 {
		resp.NextPageToken = encodePageToken(s.pageKey, filter, next)
	}
	writeJSON(w, http.StatusOK, resp)
}

// serveGet answers GetUser.
func (s *Server) serveGet(w http.ResponseWriter, id string) {
	u, ok := s.User(id)
	if !ok {
		writeStatus(w, http.StatusNotFound, codeNotFound, "user_not_found")
		return
	}
	writeJSON(w, http.StatusOK, u)
}

// refusal is an error answer of a state change.
type refusal struct {
	httpStatus, code int
	message          string
}

// serveSuspend answers SuspendUser. Suspending a suspended user answers it
// unchanged; externally managed admins and owners, and the last active
// owner, are refused.
func (s *Server) serveSuspend(w http.ResponseWriter, id string) {
	s.changeUser(w, id, func(u *userRecord) *refusal {
		if u.State != StateActive {
			return nil
		}
		if u.eam && (u.role == RoleAdmin || u.role == RoleOwner) {
			return &refusal{s.cfg.EAMStatus, s.cfg.EAMCode, s.cfg.EAMMessage}
		}
		if u.role == RoleOwner {
			if s.activeOwners <= 1 {
				return &refusal{http.StatusForbidden, codePermissionDenied, "no_owner_remain"}
			}
			s.activeOwners--
		}
		u.State = StateSuspended
		return nil
	})
}

// serveReactivate answers ReactivateUser. Reactivating an active user
// answers it unchanged.
func (s *Server) serveReactivate(w http.ResponseWriter, id string) {
	s.changeUser(w, id, func(u *userRecord) *refusal {
		if u.State == StateSuspended {
			u.State = StateActive
			if u.role == RoleOwner {
				s.activeOwners++
			}
		}
		return nil
	})
}

// changeUser applies change to the user under the lock and answers with
// the user afterwards, 404 for an unknown id, or change's refusal.
func (s *Server) changeUser(w http.ResponseWriter, id string, change func(u *userRecord) *refusal) {
	s.usersMu.Lock()
	i, ok := s.byID[id]
	if !ok {
		s.usersMu.Unlock()
		writeStatus(w, http.StatusNotFound, codeNotFound, "user_not_found")
		return
	}
	if r := change(&s.users[i]); r != nil {
		s.usersMu.Unlock()
		writeStatus(w, r.httpStatus, r.code, r.message)
		return
	}
	out := s.users[i].User
	s.usersMu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// User returns the user with the given ID.
func (s *Server) User(id string) (User, bool) {
	s.usersMu.RLock()
	defer s.usersMu.RUnlock()
	i, ok := s.byID[id]
	if !ok {
		return User{}, false
	}
	return s.users[i].User, true
}

// UserByEmail returns the user with the given email, compared
// case-insensitively.
func (s *Server) UserByEmail(email string) (User, bool) {
	s.usersMu.RLock()
	defer s.usersMu.RUnlock()
	i, ok := s.byEmail[strings.ToLower(email)]
	if !ok {
		return User{}, false
	}
	return s.users[i].User, true
}

// Users returns every user in the API's list order.
func (s *Server) Users() []User {
	s.usersMu.RLock()
	defer s.usersMu.RUnlock()
	out := make([]User, len(s.users))
	for i := range s.users {
		out[i] = s.users[i].User
	}
	return out
}
