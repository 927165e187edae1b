package remediate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Ledger retention: the state topic keeps one record per user tripline ever
// acted on, so a user's record that nothing needs any more is tombstoned
// once its last activity is older than the retention, and dropped from
// memory.
const (
	// DefaultLedgerRetention is the retention when LedgerConfig sets none.
	DefaultLedgerRetention = 90 * 24 * time.Hour
	// DefaultRetentionEvery is how often RunRetention looks for records to
	// forget.
	DefaultRetentionEvery = time.Hour
	// retentionBatch bounds the records one pass tombstones.
	retentionBatch = 1000
	// retentionCatchUp is the wait before the next pass when one reached
	// retentionBatch.
	retentionCatchUp = time.Minute
	// staleHold is how long a hold may stay in flight before the retention
	// pass tombstones it: its instance died mid-call, and it has counted
	// as a suspension made since holdTimeout, as it does once tombstoned.
	staleHold = time.Hour
)

// lastActivity is the latest time the entry carries: its last action and
// suspension (and their holds), a person's reactivation seen, the API's
// last refusal, every cooldown, its timed suspension and the containments
// remembered for escalation. A record is forgotten only a retention after
// it, so every cooldown, grace, escalation and duplicate check that runs
// from those times keeps it for at least the retention.
func (e *UserEntry) lastActivity() time.Time {
	var last time.Time
	note := func(t time.Time) {
		if t.After(last) {
			last = t
		}
	}
	for _, st := range []*Stamp{e.Last, e.SuspendedBy} {
		if st != nil {
			note(st.At)
			note(st.Hold)
		}
	}
	note(e.ReactivatedSeen)
	if e.Refused != nil {
		note(e.Refused.At)
	}
	for _, at := range e.Cooldowns {
		note(at)
	}
	if ct := e.Containment; ct != nil {
		note(ct.Since)
		note(ct.Ends)
		note(ct.EndingSince)
	}
	for _, times := range e.Contained {
		for _, at := range times {
			note(at)
		}
	}
	return last
}

// userNeeds are the users other records of the ledger need the record of:
// those with an approval pending, and the identities an exception in
// force names (folded). A record keeps no email: an exception naming the
// user by email does not keep it, and needs it not (the exception guard
// reads only the exception).
type userNeeds struct {
	pending  map[string]bool
	excepted map[string]bool
}

// needsLocked collects the users the ledger's approvals and exceptions
// need at now; l.mu is held.
func (l *Ledger) needsLocked(now time.Time) userNeeds {
	n := userNeeds{pending: map[string]bool{}, excepted: map[string]bool{}}
	for _, a := range l.approvals {
		if a.State == ApprovalPending {
			n.pending[a.UserID] = true
		}
	}
	for _, x := range l.exceptions {
		if x.Active(now) {
			n.excepted[strings.ToLower(x.User)] = true
		}
	}
	return n
}

// keepReason says why the ledger keeps e at now, "" when nothing needs it
// and its last activity is more than the retention before now; l.mu is
// held. needs may be nil: it is then collected for e alone.
func (l *Ledger) keepReason(e *UserEntry, now time.Time, needs *userNeeds) string {
	switch {
	case e.SuspendedBy != nil && e.ReactivatedSeen.IsZero():
		return "tripline suspended the user: a reactivation needs its provenance"
	case e.Containment != nil:
		return "a timed suspension of the user is in force"
	}
	if needs == nil {
		n := l.needsLocked(now)
		needs = &n
	}
	if needs.pending[e.UserID] {
		return "an approval of an action on the user is pending"
	}
	if needs.excepted[strings.ToLower(e.UserID)] {
		return "an exception for the user is in force"
	}
	if last := e.lastActivity(); now.Sub(last) <= l.retention {
		return fmt.Sprintf("last activity %s is within the ledger retention %s", last.UTC().Format(time.RFC3339), l.retention)
	}
	return ""
}

// ForgetUsers tombstones at most limit user records that nothing needs any
// more (see keepReason) and whose last activity is more than the retention
// before now; applying each tombstone drops the record from memory. It
// returns how many it tombstoned. Every instance may run it: a record
// tombstoned twice is forgotten once, and a tombstone that arrives after a
// newer record of the user is refused (the record is needed again) and the
// record written back.
func (l *Ledger) ForgetUsers(ctx context.Context, now time.Time, limit int) (int, error) {
	l.mu.Lock()
	needs := l.needsLocked(now)
	var ids []string
	for id, e := range l.users {
		if len(ids) >= limit {
			break
		}
		if l.keepReason(e, now, &needs) == "" {
			ids = append(ids, id)
		}
	}
	l.mu.Unlock()
	for i, id := range ids {
		if err := l.put(ctx, userKeyPrefix+id, nil); err != nil {
			return i, fmt.Errorf("ledger retention: forget user %s: %w", id, err)
		}
	}
	return len(ids), nil
}

// ForgetStaleHolds tombstones at most limit holds that have been in flight
// for more than an hour at now (their instance died mid-call, or their
// release was lost): they count as suspensions made, as they have since
// their timeout. It returns how many it tombstoned.
func (l *Ledger) ForgetStaleHolds(ctx context.Context, now time.Time, limit int) (int, error) {
	l.mu.Lock()
	var users []string
	for user, s := range l.holdOf {
		if len(users) >= limit {
			break
		}
		if since, ok := l.pending[s]; ok && now.Sub(since) > staleHold {
			users = append(users, user)
		}
	}
	l.mu.Unlock()
	for i, user := range users {
		if err := l.put(ctx, holdKeyPrefix+user, nil); err != nil {
			return i, fmt.Errorf("ledger retention: remove the stale hold of user %s: %w", user, err)
		}
	}
	return len(users), nil
}

// RunRetention forgets the user records nothing needs any more (see
// ForgetUsers) and the holds left in flight (see ForgetStaleHolds), at
// most 1,000 of each per pass: one pass at the start, then one
// every `every` (0: DefaultRetentionEvery), or one a minute later when a
// pass reached its bound, until ctx is done. A pass that fails is logged
// and the next one tries again.
func (l *Ledger) RunRetention(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = DefaultRetentionEvery
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		start, now := time.Now(), l.now()
		n, err := l.ForgetUsers(ctx, now, retentionBatch)
		held, herr := l.ForgetStaleHolds(ctx, now, retentionBatch)
		switch err = errors.Join(err, herr); {
		case err != nil && ctx.Err() == nil:
			l.log.Warn("ledger retention: cannot forget old user records and stale holds; trying again at the next pass",
				"forgotten", n, "stale_holds", held, "error", err.Error())
		case n > 0 || held > 0:
			l.log.Info("ledger retention: forgot user records nothing needs any more and stale holds", "forgotten", n, "stale_holds", held,
				"retention", l.retention.String(), "took", time.Since(start).Round(time.Millisecond).String())
		}
		next := every
		if n == retentionBatch || held == retentionBatch {
			next = retentionCatchUp
		}
		timer.Reset(next)
	}
}
