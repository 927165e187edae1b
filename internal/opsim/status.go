package opsim

import (
	"encoding/json"
	"net/http"
)

// gRPC status codes used in error bodies.
const (
	codeInvalidArgument   = 3
	codeNotFound          = 5
	codePermissionDenied  = 7
	codeResourceExhausted = 8
	codeUnimplemented     = 12
	codeInternal          = 13
	codeUnavailable       = 14
	codeUnauthenticated   = 16
)

// status is the grpc-gateway error body.
type status struct {
	Code    int        `json:"code"`
	Message string     `json:"message"`
	Details []struct{} `json:"details"`
}

// oauthError is the RFC 6749 section 5.2 error body.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// writeJSON writes v as the JSON response body with the given HTTP status.
func writeJSON(w http.ResponseWriter, httpStatus int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		httpStatus = http.StatusInternalServerError
		b = []byte(`{"code":13,"message":"internal","details":[]}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(httpStatus)
	_, _ = w.Write(append(b, '\n'))
}

// writeStatus writes a grpc-gateway style error.
func writeStatus(w http.ResponseWriter, httpStatus, code int, message string) {
	writeJSON(w, httpStatus, status{Code: code, Message: message, Details: []struct{}{}})
}

// writeOAuthError writes an RFC 6749 style token endpoint error.
func writeOAuthError(w http.ResponseWriter, httpStatus int, errCode, description string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if httpStatus == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="opsim"`)
	}
	writeJSON(w, httpStatus, oauthError{Error: errCode, Description: description})
}
