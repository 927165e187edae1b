package opsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// maxAdminBody bounds POST /_opsim/faults bodies.
const maxAdminBody = 1 << 20

// AdminUser is a user as GET /_opsim/state shows it: the API fields plus
// the role and the externally managed flag.
type AdminUser struct {
	User
	// Role is owner, admin or member.
	Role string `json:"role"`
	// ExternallyManaged is the seed's externally_managed flag.
	ExternallyManaged bool `json:"externally_managed"`
}

// State is the body of GET /_opsim/state.
type State struct {
	// Account is the account ID.
	Account string `json:"account"`
	// Users are every user, in list order.
	Users []AdminUser `json:"users"`
	// Requests is the request log, oldest first.
	Requests []Request `json:"requests"`
}

// state returns a snapshot for GET /_opsim/state.
func (s *Server) state() State {
	s.usersMu.RLock()
	users := make([]AdminUser, len(s.users))
	for i, u := range s.users {
		users[i] = AdminUser{User: u.User, Role: u.role, ExternallyManaged: u.eam}
	}
	s.usersMu.RUnlock()
	return State{Account: s.account, Users: users, Requests: s.Requests()}
}

// serveAdmin serves the /_opsim/ controls.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	allow := func(method string) bool {
		if r.Method == method {
			return true
		}
		w.Header().Set("Allow", method)
		writeStatus(w, http.StatusMethodNotAllowed, codeUnimplemented, "method_not_allowed")
		return false
	}
	switch r.URL.Path {
	case "/_opsim/state":
		if allow(http.MethodGet) {
			writeJSON(w, http.StatusOK, s.state())
		}
	case "/_opsim/faults":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, s.faultsCopy())
		case http.MethodPost, http.MethodPut:
			f, err := decodeFaults(http.MaxBytesReader(w, r.Body, maxAdminBody))
			if err != nil {
				writeStatus(w, http.StatusBadRequest, codeInvalidArgument, err.Error())
				return
			}
			s.SetFaults(f)
			writeJSON(w, http.StatusOK, s.faultsCopy())
		default:
			w.Header().Set("Allow", "GET, POST")
			writeStatus(w, http.StatusMethodNotAllowed, codeUnimplemented, "method_not_allowed")
		}
	case "/_opsim/revoke-all":
		if allow(http.MethodPost) {
			writeJSON(w, http.StatusOK, struct {
				Revoked int `json:"revoked"`
			}{s.revokeAll()})
		}
	default:
		writeStatus(w, http.StatusNotFound, codeNotFound, "not_found")
	}
}

// decodeFaults reads and validates a JSON Faults document.
func decodeFaults(r io.Reader) (Faults, error) {
	var f Faults
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode faults: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode faults: trailing data")
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return f, nil
}
