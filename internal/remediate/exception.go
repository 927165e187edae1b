package remediate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// MaxException is the longest an exception may last.
const MaxException = 30 * 24 * time.Hour

// exceptionKeyPrefix keys the exceptions in the ledger.
const exceptionKeyPrefix = "exception/"

// forgetExceptionsAfter is how long an exception that ended (expired or
// removed) stays in the ledger.
const forgetExceptionsAfter = 7 * 24 * time.Hour

// Exception spares a user from a rule (or every rule, "*") until it
// expires: a decision for them gets outcome excepted, audited and counted,
// and makes no call. It only ever prevents an action: it never lets one
// through that the protected list or a breaker would stop. Exceptions live
// in the ledger (key exception/<id>), shared by every instance.
type Exception struct {
	ID string `json:"id"`
	// User is a 1Password user id or an email (compared folded).
	User string `json:"user"`
	// Rule is a rule id, or "*" for every rule.
	Rule    string    `json:"rule"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	By      string    `json:"by"`
	Reason  string    `json:"reason"`
	// RemovedBy, RemovedReason and RemovedAt say who ended it early.
	RemovedBy     string    `json:"removed_by,omitempty"`
	RemovedReason string    `json:"removed_reason,omitempty"`
	RemovedAt     time.Time `json:"removed_at,omitzero"`
}

// Active reports whether the exception is in force at now.
func (x Exception) Active(now time.Time) bool {
	return x.RemovedAt.IsZero() && !now.Before(x.Created) && now.Before(x.Expires)
}

// matches reports whether the exception spares user (resolved) from rule.
func (x Exception) matches(rule string, u User) bool {
	if x.Rule != "*" && x.Rule != rule {
		return false
	}
	return x.User == u.ID || (u.Email != "" && foldedEqual(x.User, u.Email))
}

// times lists the times an exception carries; one that would last longer
// than MaxException is refused as dated ahead.
func (x *Exception) times() []namedTime {
	return []namedTime{{"creation time", x.Created}, {"removal time", x.RemovedAt},
		{"expiry (creation time + the longest exception)", x.Expires.Add(-MaxException)}}
}

// validate reports what makes an exception unusable.
func (x Exception) validate() error {
	var errs []error
	if x.ID == "" || len(x.ID) > 64 {
		errs = append(errs, errors.New("exception id missing or too long"))
	}
	if strings.TrimSpace(x.User) == "" || len(x.User) > maxAnswerField {
		errs = append(errs, errors.New("the user (an email or a 1Password user id) is required"))
	}
	if x.Rule == "" || len(x.Rule) > maxAnswerField {
		errs = append(errs, errors.New("the rule (a rule id, or * for every rule) is required"))
	}
	if d := x.Expires.Sub(x.Created); d <= 0 || d > MaxException {
		errs = append(errs, fmt.Errorf("an exception lasts more than 0 and at most %s (30 days), not %s", MaxException, d))
	}
	if strings.TrimSpace(x.By) == "" || strings.TrimSpace(x.Reason) == "" || len(x.By) > maxAnswerField || len(x.Reason) > maxAnswerField*4 {
		errs = append(errs, errors.New("who (--by) and why (--reason) are required"))
	}
	return errors.Join(errs...)
}

// NewException is an exception for user and rule, from now for d.
func NewException(user, rule string, d time.Duration, by, reason string, now time.Time) Exception {
	b := make([]byte, 8)
	rand.Read(b) // never fails
	return Exception{ID: "ex_" + hex.EncodeToString(b), User: strings.TrimSpace(user), Rule: strings.TrimSpace(rule),
		Created: now, Expires: now.Add(d), By: by, Reason: reason}
}

// AddException writes an exception, durably, once it is valid.
func (l *Ledger) AddException(ctx context.Context, x Exception) error {
	if err := x.validate(); err != nil {
		return fmt.Errorf("exception: %w", err)
	}
	return l.putException(ctx, x)
}

// RemoveException ends an exception in force now, recording who and why.
func (l *Ledger) RemoveException(ctx context.Context, id, by, reason string, now time.Time) error {
	if strings.TrimSpace(by) == "" || strings.TrimSpace(reason) == "" {
		return errors.New("remove exception: who (--by) and why (--reason) are required")
	}
	l.mu.Lock()
	x, ok := l.exceptions[id]
	l.mu.Unlock()
	if !ok || !x.Active(now) {
		return fmt.Errorf("exception %s is not in force (consumer exceptions list shows them)", id)
	}
	x.RemovedBy, x.RemovedReason, x.RemovedAt = by, reason, now
	return l.putException(ctx, x)
}

func (l *Ledger) putException(ctx context.Context, x Exception) error {
	value, err := encode(x, nil)
	if err != nil {
		return fmt.Errorf("ledger: encode exception %s: %w", x.ID, err)
	}
	return l.put(ctx, exceptionKeyPrefix+x.ID, value)
}

// Exceptions lists the exceptions the ledger holds (ended ones included),
// the latest first.
func (l *Ledger) Exceptions() []Exception {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Exception, 0, len(l.exceptions))
	for _, x := range l.exceptions {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// exceptionFor finds an exception in force at now that spares u from rule.
func (l *Ledger) exceptionFor(rule string, u User, now time.Time) (Exception, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.exceptions {
		if x.Active(now) && x.matches(rule, u) {
			return x, true
		}
	}
	return Exception{}, false
}

// ForgetExceptions deletes the exceptions that ended (expired or removed)
// more than a week before now.
func (s *Service) ForgetExceptions(ctx context.Context, now time.Time) error {
	var errs []error
	for _, x := range s.ledger.Exceptions() {
		end := x.Expires
		if !x.RemovedAt.IsZero() {
			end = x.RemovedAt
		}
		if now.Sub(end) > forgetExceptionsAfter {
			errs = append(errs, s.ledger.put(ctx, exceptionKeyPrefix+x.ID, nil))
		}
	}
	return errors.Join(errs...)
}

// exceptionGuard spares a user an exception covers: outcome excepted, no
// call. It stands after the protected list, so it never lets through what
// that list stops; the end of a timed suspension is not a rule's decision
// and is not excepted.
func (s *Service) exceptionGuard(next handler) handler {
	return func(ctx context.Context, c *call) error {
		if c.endDetail != "" {
			return next(ctx, c)
		}
		if x, ok := s.ledger.exceptionFor(c.d.RuleID, c.out.User, c.now); ok {
			c.out.Result = ResultExcepted
			c.out.Detail = fmt.Sprintf("exception %s by %s until %s: %s", x.ID, x.By, x.Expires.UTC().Format(time.RFC3339), x.Reason)
			return nil
		}
		return next(ctx, c)
	}
}
