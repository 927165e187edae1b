package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tripline-dev/tripline/internal/remediate"
)

// The operator's side of timed containment: what `consumer containment`
// prints and the answers it writes (keep, lift, extend).

// AnswerContainment answers the timed suspension of user (an email or a
// 1Password user id) with ans: its Kind (remediate.AnswerKeep, AnswerLift
// or AnswerExtend, with For), By, Reason and Channel. It finds the timed
// suspension in the ledger, binds the answer to it, writes it to the
// approvals topic and follows the state topic until a running consumer
// applied it, at most wait; then it says on out what became of it.
//
// It fails, writing nothing, when the user has no timed suspension in
// force (remediate.ErrContainmentUnknown) or its end is under way; and,
// once written, when the answer did not take effect (the suspension ended
// before a keep or an extend applied, a lift that found it no longer
// tripline's to undo, a reactivation that failed). An answer no running
// consumer applied within wait is no error: it applies when one runs.
func (m *Main) AnswerContainment(ctx context.Context, user string, ans remediate.Answer, wait time.Duration, out io.Writer) error {
	was, ok := m.ledger.Contained(user)
	if !ok {
		return fmt.Errorf("%s: %w (consumer containment list shows them)", user, remediate.ErrContainmentUnknown)
	}
	if was.EndNonce != "" && (ans.Kind != remediate.AnswerKeep || was.EndFailure == "") {
		// A keep stops an end that failed and waits to be re-driven; an end
		// under way is past every answer.
		return fmt.Errorf("the timed suspension of %s is ending since %s (tripline is reactivating the user): nothing changed",
			who(was), was.EndingSince.UTC().Format(time.RFC3339))
	}
	if err := m.openAnswers(); err != nil {
		return err
	}
	defer m.followState(ctx)()
	ans, err := m.WriteAnswer(ctx, remediate.BindContainment(was.UserID, was.Containment, ans))
	if err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	var cur remediate.ContainedUser
	var present bool
	werr := m.ledger.Wait(waitCtx, func() bool {
		cur, present = m.containmentNow(was)
		return answered(ans.Kind, was, cur, present)
	})
	if werr != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if present {
		return reportPending(out, ans, was, cur, wait)
	}
	return m.reportEnded(out, ans, was)
}

// openAnswers opens the writer of the approvals topic, where answers go.
func (m *Main) openAnswers() error {
	if !m.approvals() {
		return errors.New("approvals are off: timed suspensions are answered on the approvals topic, which needs kafka.approvals_topic and the signing key (TRIPLINE_DLQ_SIGNING_KEY)")
	}
	if m.answers == nil {
		k := m.cfg.Kafka
		m.answers = m.conn.NewTopicWriter(k.ApprovalsTopic, k.MaxBytes)
	}
	return nil
}

// followState tails the state topic, where running consumers record what
// they did, until the returned function is called (it waits for the tail
// to stop).
func (m *Main) followState(ctx context.Context) (stop func()) {
	tailCtx, cancel := context.WithCancel(ctx)
	tailed := make(chan struct{})
	go func() {
		defer close(tailed)
		m.table.Run(tailCtx) // an error shows as an answer nobody applied
	}()
	return func() { cancel(); <-tailed }
}

// containmentNow is the timed suspension was as it stands (false once it
// is gone: ended, kept, or replaced by a later one).
func (m *Main) containmentNow(was remediate.ContainedUser) (remediate.ContainedUser, bool) {
	cur, ok := m.ledger.Contained(was.UserID)
	if !ok || cur.UserID != was.UserID || !cur.Since.Equal(was.Since) {
		return remediate.ContainedUser{}, false
	}
	return cur, true
}

// answered reports whether an answer of kind to the timed suspension has
// taken effect, as cur (present: still in force) shows: keep and lift end
// it (a lift whose reactivation failed stays ending, with the failure);
// extend moves its end. An end that started meanwhile (the time was up
// first) settles a keep or an extend; a lift then waits for it.
func answered(kind remediate.AnswerKind, was, cur remediate.ContainedUser, present bool) bool {
	switch {
	case !present:
		return true
	case kind == remediate.AnswerLift:
		return cur.EndFailure != ""
	case kind == remediate.AnswerExtend:
		return !cur.Ends.Equal(was.Ends) || cur.EndNonce != ""
	}
	return cur.EndNonce != "" && was.EndNonce == ""
}

// reportPending says what became of an answer to a timed suspension that
// is still in force (cur).
func reportPending(out io.Writer, ans remediate.Answer, was, cur remediate.ContainedUser, wait time.Duration) error {
	switch {
	case ans.Kind == remediate.AnswerLift && cur.EndFailure != "":
		return fmt.Errorf("%s of the timed suspension of %s applied, but the reactivation failed: %s; the answer is parked and re-driven "+
			"(then dead-lettered as retries_exhausted and notified), and the user stays suspended until it succeeds", ans.Kind, who(was), cur.EndFailure)
	case ans.Kind == remediate.AnswerExtend && cur.EndNonce == "" && !cur.Ends.Equal(was.Ends):
		fmt.Fprintf(out, "extended the timed suspension of %s by rule %s to %s, as %s asked\n", who(was), was.Rule, cur.Ends.UTC().Format(time.RFC3339), ans.By)
		return nil
	case cur.EndNonce == ans.Nonce:
		fmt.Fprintf(out, "lifting the timed suspension of %s: its reactivation is under way (not finished within %s; consumer containment list shows it)\n", who(was), wait)
		return nil
	case was.EndNonce == "" && cur.EndNonce != "" && ans.Kind != remediate.AnswerLift:
		return fmt.Errorf("the time of the timed suspension of %s was up before the %s applied: tripline is ending it (reactivating the user); nothing changed", who(was), ans.Kind)
	case was.EndNonce == "" && cur.EndNonce != "":
		fmt.Fprintf(out, "the time of the timed suspension of %s was up before the lift applied: tripline is ending it (reactivating the user)\n", who(was))
		return nil
	}
	fmt.Fprintf(out, "%s of the timed suspension of %s written; no running consumer applied it within %s. It applies when one runs, if the suspension is still in force then (it ends %s).\n",
		ans.Kind, who(was), wait, cur.Ends.UTC().Format(time.RFC3339))
	return nil
}

// reportEnded says what became of an answer to a timed suspension that is
// gone, as the user's record shows: reactivated by tripline, or still
// suspended for good.
func (m *Main) reportEnded(out io.Writer, ans remediate.Answer, was remediate.ContainedUser) error {
	e, _ := m.ledger.User(was.UserID)
	last := e.Last
	reactivated := last != nil && last.Action == string(remediate.ActionReactivate) && !last.At.Before(was.Since)
	switch {
	case reactivated && ans.Kind == remediate.AnswerLift && last.Result == string(remediate.ResultAlreadyActive):
		fmt.Fprintf(out, "lifted the timed suspension of %s: a person had reactivated them already (nothing called)\n", who(was))
	case reactivated && ans.Kind == remediate.AnswerLift:
		fmt.Fprintf(out, "lifted the timed suspension of %s, as %s asked: %s\n", who(was), ans.By, last.Result)
	case reactivated:
		return fmt.Errorf("the timed suspension of %s ended before the %s applied: the user was reactivated (%s at %s); suspend them again by hand if needed",
			who(was), ans.Kind, last.Result, last.At.UTC().Format(time.RFC3339))
	case ans.Kind == remediate.AnswerKeep:
		fmt.Fprintf(out, "kept the suspension of %s by rule %s, as %s asked: it is permanent now; tripline never undoes it, only a person reactivates the user\n", who(was), was.Rule, ans.By)
	case ans.Kind == remediate.AnswerLift:
		return fmt.Errorf("the timed suspension of %s ended without a reactivation: it is no longer tripline's last action on the user, or a person acted on them "+
			"(the audit record says which); tripline leaves the user as they are", who(was))
	default:
		return fmt.Errorf("the timed suspension of %s ended before the %s applied (made permanent, or ended without a reactivation); nothing was extended", who(was), ans.Kind)
	}
	return nil
}

// who names a contained user: email and 1Password user id.
func who(c remediate.ContainedUser) string {
	if c.Email == "" {
		return c.UserID
	}
	return fmt.Sprintf("%s (%s)", c.Email, c.UserID)
}

// containmentView is one timed suspension as `containment list --json`
// prints it.
type containmentView struct {
	User        string    `json:"user,omitempty"`
	OPUserID    string    `json:"op_user_id"`
	RuleID      string    `json:"rule_id"`
	EventID     string    `json:"event_id,omitempty"`
	Since       time.Time `json:"since"`
	Ends        time.Time `json:"ends"`
	Times       int       `json:"times"`
	Extended    int       `json:"extended,omitempty"`
	EndingSince time.Time `json:"ending_since,omitzero"`
	EndFailure  string    `json:"end_failure,omitempty"`
}

// PrintContainments prints the timed suspensions in force, as a table
// (with, at now, how long until each ends) or as JSON lines.
func PrintContainments(w io.Writer, list []remediate.ContainedUser, asJSON bool, now time.Time) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, c := range list {
			v := containmentView{User: c.Email, OPUserID: c.UserID, RuleID: c.Rule, EventID: c.Event, Since: c.Since, Ends: c.Ends,
				Times: c.Times, Extended: c.Extended, EndingSince: c.EndingSince, EndFailure: c.EndFailure}
			if err := enc.Encode(v); err != nil {
				return err
			}
		}
		return nil
	}
	if len(list) == 0 {
		fmt.Fprintln(w, "no timed suspensions in force")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tOP USER ID\tRULE\tSINCE\tENDS\tTIMES\tSTATE")
	for _, c := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", orDash(c.Email), c.UserID, c.Rule, c.Since.UTC().Format(time.RFC3339),
			c.Ends.UTC().Format(time.RFC3339), c.Times, containmentState(c, now))
	}
	return tw.Flush()
}

// containmentState says where a timed suspension stands at now.
func containmentState(c remediate.ContainedUser, now time.Time) string {
	switch {
	case c.EndFailure != "":
		return "ending since " + c.EndingSince.UTC().Format(time.RFC3339) + "; last attempt failed: " + c.EndFailure
	case c.EndNonce != "":
		return "ending since " + c.EndingSince.UTC().Format(time.RFC3339)
	case now.Before(c.Ends):
		return "ends in " + c.Ends.Sub(now).Round(time.Second).String()
	}
	return "overdue by " + now.Sub(c.Ends).Round(time.Second).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
