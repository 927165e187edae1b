package remediate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"time"
)

// Timed containment: a rule with suspend_for suspends a user for a while,
// and tripline undoes its own suspension when the time is up, provided it
// is still tripline's suspension and nobody intervened.
const (
	// MinContainment and MaxContainment bound a timed suspension.
	MinContainment = time.Minute
	MaxContainment = 30 * 24 * time.Hour
	// containmentHistory is how far back a rule's earlier containments of
	// a user count for its escalation.
	containmentHistory = 30 * 24 * time.Hour
	// maxContained bounds the containments remembered per rule and user.
	maxContained = 16
)

// Containment is tripline's timed suspension of a user, in force: the
// user's record holds it from the suspension until it ends (tripline
// reactivates the user), a person keeps it (the suspension becomes
// permanent) or lifts it, or tripline sees a person reactivated the user.
type Containment struct {
	Rule  string    `json:"rule"`
	Event string    `json:"event,omitempty"`
	Email string    `json:"email,omitempty"`
	Since time.Time `json:"since"`
	Ends  time.Time `json:"ends"`
	// Count is how many times the rule contained the user within 30 days,
	// this time included (which suspend_for entry applied).
	Count int `json:"count"`
	// Extended counts the decisions that extended it.
	Extended int `json:"extended,omitempty"`
	// Ending is set once an answer started to end or lift it: EndNonce is
	// that answer's, EndingSince when it was applied. The clock asks no
	// more while it is set; the same answer applied again (redelivered,
	// re-driven after a failure) carries the reactivation out again.
	EndNonce    string    `json:"end_nonce,omitempty"`
	EndingSince time.Time `json:"ending_since,omitzero"`
	// EndFailure says why the last attempt to end it failed.
	EndFailure string `json:"end_failure,omitempty"`
}

// ContainmentID is the id of the containment of a user: the id its
// answers (end, keep, lift, extend) carry.
func ContainmentID(userID string) string {
	sum := sha256.Sum256([]byte("containment\x00" + userID))
	return "ct_" + hex.EncodeToString(sum[:10])
}

// containmentFor is how long a user's next suspension by a rule with
// suspendFor lasts, given the times the rule contained the user before
// (within 30 days of now): 0 is permanent.
func containmentFor(suspendFor []time.Duration, before []time.Time, now time.Time) (d time.Duration, count int) {
	count = 1
	for _, t := range before {
		if now.Sub(t) < containmentHistory {
			count++
		}
	}
	return suspendFor[min(count, len(suspendFor))-1], count
}

// contain starts the containment of a user tripline just suspended from
// ACTIVE (e.SuspendedBy set) by a rule with suspend_for, or makes the
// suspension permanent when the rule's entry for this time is.
func (e *UserEntry) contain(d Decision, email string, now time.Time) {
	e.Containment = nil
	if len(d.SuspendFor) == 0 {
		return
	}
	dur, count := containmentFor(d.SuspendFor, e.Contained[d.RuleID], now)
	e.noteContained(d.RuleID, now)
	if dur == 0 {
		return
	}
	e.Containment = &Containment{Rule: d.RuleID, Event: clip(d.EventID), Email: email, Since: now, Ends: now.Add(dur), Count: count}
}

// noteContained remembers a containment of the user by rule at now,
// forgetting those past the escalation's reach.
func (e *UserEntry) noteContained(rule string, now time.Time) {
	if e.Contained == nil {
		e.Contained = map[string][]time.Time{}
	}
	kept := e.Contained[rule][:0]
	for _, t := range e.Contained[rule] {
		if now.Sub(t) < containmentHistory {
			kept = append(kept, t)
		}
	}
	kept = append(kept, now)
	if over := len(kept) - maxContained; over > 0 {
		kept = kept[over:]
	}
	e.Contained[rule] = kept
}

// containmentGuard extends the timed suspension of a user who is under one
// instead of suspending again: the end becomes the later of the current end
// and now plus the rule's duration for the user (escalated as for a new
// suspension; a rule without suspend_for, or whose entry is permanent,
// makes the suspension permanent). It reads the user first: one a person
// reactivated meanwhile is no longer contained (the containment ends, the
// person's reactivation is noted, and the decision goes on, to the grace
// guard and a new suspension). No other call; the outcome is
// containment_extended. In a dry run it only says so.
func (s *Service) containmentGuard(next handler) handler {
	return func(ctx context.Context, c *call) error {
		if c.d.Action != ActionSuspend {
			return next(ctx, c)
		}
		e, _ := s.ledger.User(c.out.User.ID)
		ct := e.Containment
		if ct == nil || e.SuspendedBy == nil || !ct.EndingSince.IsZero() {
			return next(ctx, c)
		}
		if still, err := s.stillSuspended(ctx, c, &e); err != nil || !still {
			if err != nil {
				return err
			}
			return next(ctx, c)
		}
		ends, detail := extension(*ct, c.d, e.Contained[c.d.RuleID], c.now)
		c.out.Result, c.out.Detail = ResultContainmentExtended, detail
		if s.cfg.DryRun {
			c.out.Result = ResultDryRun
			return nil
		}
		if ends.IsZero() {
			e.Containment = nil
		} else {
			ct.Ends, ct.Extended = ends, ct.Extended+1
			c.out.ContainedUntil = ends
		}
		e.noteEvent(c.d.EventID)
		if err := s.ledger.PutUser(ctx, e); err != nil {
			return err
		}
		s.notifyContainment(ctx, NoticeContainmentExtended, e.UserID, *ct, c.out, nil, "")
		return nil
	}
}

// stillSuspended reads a contained user (outside a dry run): false when a
// person reactivated them, which ends the containment and is noted (a
// person was first), so the decision is taken as for any active user.
func (s *Service) stillSuspended(ctx context.Context, c *call, e *UserEntry) (bool, error) {
	if s.cfg.DryRun {
		return true, nil
	}
	var u User
	attempts, err := s.callAPI(ctx, c, "get", func(ctx context.Context) error {
		var err error
		u, err = s.api.GetUser(ctx, c.out.User.ID)
		return err
	})
	if err != nil {
		if isInterrupted(err) {
			return false, err
		}
		return false, classify(err, attempts)
	}
	if u.State == StateSuspended {
		return true, nil
	}
	e.Containment = nil
	if e.ReactivatedSeen.IsZero() {
		e.ReactivatedSeen = c.now
	}
	return false, s.ledger.PutUser(ctx, *e)
}

// extension is the end of ct after a decision d at now (zero: permanent),
// and what to say of it.
func extension(ct Containment, d Decision, before []time.Time, now time.Time) (time.Time, string) {
	if len(d.SuspendFor) == 0 {
		return time.Time{}, fmt.Sprintf("timed suspension made permanent: rule %s suspends without an end", d.RuleID)
	}
	dur, _ := containmentFor(d.SuspendFor, before, now)
	if dur == 0 {
		return time.Time{}, fmt.Sprintf("timed suspension made permanent: rule %s escalates to permanent", d.RuleID)
	}
	if end := now.Add(dur); end.After(ct.Ends) {
		return end, "timed suspension extended to " + end.UTC().Format(time.RFC3339) + " by rule " + d.RuleID
	}
	return ct.Ends, "timed suspension already ends at " + ct.Ends.UTC().Format(time.RFC3339) + ", later than rule " + d.RuleID + " would"
}

// noteEvent remembers an event that was handled, so that its redelivery
// is a duplicate.
func (e *UserEntry) noteEvent(id string) {
	if id != "" && !e.hasEvent(id) {
		e.Events = append(e.Events, clip(id))
		if over := len(e.Events) - recentEvents; over > 0 {
			e.Events = e.Events[over:]
		}
	}
}

// ContainedUser is one user under a timed suspension, as operators list
// them.
type ContainedUser struct {
	UserID string
	Containment
	// Times counts the user's containments by the rule within 30 days.
	Times int
}

// Containments lists the users under a timed suspension, soonest end
// first.
func (l *Ledger) Containments() []ContainedUser {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []ContainedUser
	for id, e := range l.users {
		if e.Containment != nil {
			out = append(out, ContainedUser{UserID: id, Containment: *e.Containment, Times: len(e.Contained[e.Containment.Rule])})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Ends.Equal(out[j].Ends) {
			return out[i].Ends.Before(out[j].Ends)
		}
		return out[i].UserID < out[j].UserID
	})
	return out
}

// Contained finds the timed suspension of a user by 1Password user id or
// by email (folded), false when there is none.
func (l *Ledger) Contained(user string) (ContainedUser, bool) {
	for _, c := range l.Containments() {
		if c.UserID == user || (c.Email != "" && foldedEqual(c.Email, user)) {
			return c, true
		}
	}
	return ContainedUser{}, false
}
