package opsim

import (
	"sync"
	"time"
)

// maxLoggedRequests bounds the request log; older entries are dropped.
const maxLoggedRequests = 10000

// Request is one entry of the request log. Admin (/_opsim/) requests are
// not logged.
type Request struct {
	// Method is the HTTP method.
	Method string `json:"method"`
	// Path is the URL path, without the query.
	Path string `json:"path"`
	// Status is the HTTP status answered (499 when the client went away
	// during injected latency).
	Status int `json:"status"`
	// UserAgent is the User-Agent header as sent.
	UserAgent string `json:"user_agent"`
	// Time is when the request arrived, by Config.Now.
	Time time.Time `json:"time"`
	// Endpoint is the matched endpoint name ("token", "list", ...), empty
	// for unknown routes and wrong methods.
	Endpoint string `json:"endpoint"`
}

// requestLog is a bounded ring of requests.
type requestLog struct {
	mu    sync.Mutex
	max   int
	buf   []Request
	start int // index of the oldest entry once buf is full
}

// add appends r, dropping the oldest entry when full.
func (l *requestLog) add(r Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) < l.max {
		l.buf = append(l.buf, r)
		return
	}
	l.buf[l.start] = r
	l.start = (l.start + 1) % l.max
}

// all returns the entries, oldest first.
func (l *requestLog) all() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Request, 0, len(l.buf))
	out = append(out, l.buf[l.start:]...)
	return append(out, l.buf[:l.start]...)
}

// Requests returns the request log, oldest first. It keeps the most recent
// 10,000 requests.
func (s *Server) Requests() []Request { return s.log.all() }
