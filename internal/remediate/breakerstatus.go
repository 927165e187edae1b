package remediate

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// BreakerStatus is one breaker scope as an operator sees it: open or
// armed, since when, who re-armed it and why, and the suspensions counted
// in its window.
type BreakerStatus struct {
	Scope    string    `json:"scope"`
	Open     bool      `json:"open"`
	Since    time.Time `json:"since"`
	By       string    `json:"by,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Instance string    `json:"instance,omitempty"`
	// Count suspensions in the last Window (since the re-arm), against Cap.
	Count  int    `json:"count"`
	Cap    int    `json:"cap,omitempty"`
	Window string `json:"window,omitempty"`
}

// BreakerStatuses lists every scope that ever tripped, the global scope
// first even when it never did, counted at now; global is the global cap
// (its count and window come from the configuration, not from a trip).
func (l *Ledger) BreakerStatuses(global Limit, now time.Time) []BreakerStatus {
	entries := l.Breakers()
	if _, ok := l.Breaker(ScopeGlobal); !ok {
		entries = append([]BreakerEntry{{Scope: ScopeGlobal}}, entries...)
	}
	out := make([]BreakerStatus, 0, len(entries))
	for _, b := range entries {
		st := BreakerStatus{Scope: b.Scope, Open: b.Open, Since: b.At, By: b.By, Reason: b.Reason, Instance: b.Instance, Cap: b.Cap}
		w := b.Window
		if b.Scope == ScopeGlobal {
			st.Cap, w = global.Count, global.Window
		}
		if w > 0 {
			st.Window = w.String()
			st.Count = l.Suspensions(b.Scope, w, now)
		}
		out = append(out, st)
	}
	return out
}

// Errors of Reset.
var (
	ErrBreakerNotOpen = errors.New("breaker is not open; nothing to re-arm")
	ErrUnsignedRearm  = errors.New("the state topic holds signed records but no signing key is configured here: every instance would refuse " +
		"this re-arm; set TRIPLINE_DLQ_SIGNING_KEY (or _FILE) to the instances' key")
)

// Reset re-arms an open scope, as an operator does (see Rearm): it refuses
// a scope that is not open, and a re-arm that every instance would refuse
// (this ledger cannot sign, the topic holds signed records).
func (l *Ledger) Reset(ctx context.Context, scope, by, reason string, now time.Time) error {
	if b, ok := l.Breaker(scope); !ok || !b.Open {
		return fmt.Errorf("breaker %s: %w (consumer breaker status lists the scopes)", scope, ErrBreakerNotOpen)
	}
	if !l.Authenticated() && l.SignedSeen() > 0 {
		return ErrUnsignedRearm
	}
	return l.Rearm(ctx, scope, by, reason, now)
}
