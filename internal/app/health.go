package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// serveHTTP serves /metrics, /healthz and /readyz until ctx is done.
func (m *Main) serveHTTP(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.tel.MetricsHandler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		notes, err := m.Ready(r.Context())
		if err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
		fmt.Fprintln(w, m.permissionsLine())
		for _, n := range notes {
			fmt.Fprintln(w, n)
		}
		// An open breaker does not make the instance unready: it must
		// keep consuming (and holding the decisions of that scope).
		for _, scope := range m.ledger.OpenScopes() {
			fmt.Fprintf(w, "breaker open: %s (suspensions in this scope are held in the dead-letter topic; re-arm with: consumer breaker reset --scope %s --by NAME --reason TEXT)\n", scope, scope)
		}
		// Neither makes the instance unready: refused records count for
		// nothing, and a wait ends when the holds settle or time out.
		for _, wait := range m.ledger.LongWaits(m.now()) {
			fmt.Fprintf(w, "breaker wait over a minute: %s\n", wait)
		}
		for _, r := range m.ledger.Refused() {
			fmt.Fprintf(w, "state record refused: key %s, %s at %s: %s\n", r.Key, r.Reason, r.At.UTC().Format(time.RFC3339), r.Detail)
		}
	})
	return m.serve(ctx, "http_addr", m.cfg.HTTPAddr, mux, "serving metrics and health")
}

// serve serves h on addr (named setting in errors) until ctx is done, then
// shuts the server down, giving requests in flight 5 seconds.
func (m *Main) serve(ctx context.Context, setting, addr string, h http.Handler, what string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s %s: %w", setting, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	m.log.Info(what, "addr", ln.Addr().String())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	err = srv.Serve(ln)
	<-stopped
	if !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Ready reports whether the service can do its job: rules are loaded, the
// action ledger is loaded, the Users API accepts the credentials, the user
// directory is loaded, and this instance is a member of a stable consumer
// group. A Users API that is down (a token request failing for a reason
// that may pass) is a note, not an error: decisions are retried, then
// parked and re-driven, and the instance keeps consuming. Results are
// cached for 5 seconds so probes cannot hammer the broker or the token
// endpoint.
func (m *Main) Ready(ctx context.Context) (notes []string, err error) {
	m.readyMu.Lock()
	defer m.readyMu.Unlock()
	if time.Since(m.readyAt) < 5*time.Second {
		return m.readyNotes, m.readyError
	}
	m.readyAt = time.Now()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var errs []error
	if m.rules.Current() == nil {
		errs = append(errs, errors.New("rules not loaded"))
	}
	if !m.table.Ready() {
		errs = append(errs, errors.New("action ledger not loaded"))
	}
	if err := m.op.Token(ctx); err != nil {
		if !isRetryable(err) {
			errs = append(errs, fmt.Errorf("users api token: %w", err))
		} else {
			notes = append(notes, fmt.Sprintf("users api unavailable: %v (decisions are retried, then parked and re-driven)", err))
		}
	}
	if !m.dir.Ready() {
		errs = append(errs, errors.New("user directory not loaded yet"))
	}
	if err := m.conn.GroupMember(ctx, m.cfg.Kafka.GroupID, m.clientID); err != nil {
		errs = append(errs, err)
	}
	m.readyNotes, m.readyError = notes, errors.Join(errs...)
	return m.readyNotes, m.readyError
}
