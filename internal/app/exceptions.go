package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tripline-dev/tripline/internal/remediate"
)

// The operator's side of exceptions: what `consumer exceptions` writes to
// the state topic and prints.

// AddException writes an exception to the state topic: user (an email,
// kept as given and compared folded, or a 1Password user id) is spared
// from rule (a rule id, or * for every rule) from now for d, at most
// remediate.MaxException. It says on out what it wrote.
func (m *Main) AddException(ctx context.Context, user, rule string, d time.Duration, by, reason string, out io.Writer) (remediate.Exception, error) {
	x := remediate.NewException(user, rule, d, by, reason, m.now())
	if err := m.ledger.AddException(ctx, x); err != nil {
		return x, err
	}
	fmt.Fprintf(out, "added exception %s: %s is spared from %s until %s (by %s: %s)\n"+
		"Running instances apply it within a second: a decision it covers ends as excepted, audited, with no call.\n"+
		"It never lets through what the protected list or a breaker stops. Remove it early: consumer exceptions remove %s --by NAME --reason TEXT\n",
		x.ID, x.User, ruleName(x.Rule), x.Expires.UTC().Format(time.RFC3339), x.By, x.Reason, x.ID)
	return x, nil
}

// RemoveException ends the exception id now, recording who and why, and
// says so on out. It fails when the exception is not in force.
func (m *Main) RemoveException(ctx context.Context, id, by, reason string, out io.Writer) error {
	if err := m.ledger.RemoveException(ctx, id, by, reason, m.now()); err != nil {
		return err
	}
	fmt.Fprintf(out, "removed exception %s (by %s: %s); running instances act on its user again within a second\n", id, by, reason)
	return nil
}

// exceptionView is one exception as `exceptions list --json` prints it.
type exceptionView struct {
	remediate.Exception
	State string `json:"state"`
}

// PrintExceptions prints the exceptions in force at now (all: the ended
// ones too, the ledger keeps them a week), as a table or as JSON lines.
func PrintExceptions(w io.Writer, list []remediate.Exception, all, asJSON bool, now time.Time) error {
	var shown []remediate.Exception
	for _, x := range list {
		if all || x.Active(now) {
			shown = append(shown, x)
		}
	}
	if asJSON {
		enc := json.NewEncoder(w)
		for _, x := range shown {
			if err := enc.Encode(exceptionView{Exception: x, State: exceptionState(x, now)}); err != nil {
				return err
			}
		}
		return nil
	}
	if len(shown) == 0 {
		fmt.Fprintln(w, "no exceptions in force")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tRULE\tCREATED\tEXPIRES\tBY\tREASON\tSTATE")
	for _, x := range shown {
		state := exceptionState(x, now)
		if !x.RemovedAt.IsZero() {
			state = fmt.Sprintf("removed by %s at %s: %s", x.RemovedBy, x.RemovedAt.UTC().Format(time.RFC3339), x.RemovedReason)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.ID, x.User, x.Rule, x.Created.UTC().Format(time.RFC3339),
			x.Expires.UTC().Format(time.RFC3339), x.By, x.Reason, state)
	}
	return tw.Flush()
}

// exceptionState is active, expired or removed.
func exceptionState(x remediate.Exception, now time.Time) string {
	switch {
	case !x.RemovedAt.IsZero():
		return "removed"
	case x.Active(now):
		return "active"
	case now.Before(x.Created):
		return "not yet in force"
	}
	return "expired"
}

// ruleName names the rule an exception covers.
func ruleName(rule string) string {
	if rule == "*" {
		return "every rule"
	}
	return "rule " + rule
}
