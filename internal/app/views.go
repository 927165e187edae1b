package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/kafkaio"
	"github.com/tripline-dev/tripline/internal/ledger"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// The operator's views: what `consumer approvals`, `breaker` and `state`
// print, shared with the demo, which plays the operator.

// AnswerAndReport answers a pending action (see AnswerApproval) and says
// on out what became of it.
func (m *Main) AnswerAndReport(ctx context.Context, ans remediate.Answer, wait time.Duration, out io.Writer) error {
	a, ans, err := m.AnswerApproval(ctx, ans, wait)
	switch {
	case errors.Is(err, ErrAnswerNotApplied):
		fmt.Fprintf(out, "%s: answer written; no running consumer applied it within %s. It applies when one runs, unless the action expires first (%s).\n",
			a.ID, wait, a.Expires.UTC().Format(time.RFC3339))
		return nil
	case err != nil:
		return err
	case a.Answer != ans.Nonce:
		return fmt.Errorf("%s was %s by %s via %s at %s before this answer: nothing changed", a.ID, a.State, a.DecidedBy, a.Channel, a.DecidedAt.UTC().Format(time.RFC3339))
	case a.State == remediate.ApprovalApproved && a.Result == "" && a.Failure != "":
		return fmt.Errorf("approved %s, but %s of %s (%s) was not carried out: %s; the answer waits in the retry or dead-letter topic, and is applied again once the cause is gone (consumer dlq replay --execute for a held one)",
			a.ID, a.Action, a.UserEmail, a.UserID, a.Failure)
	case a.State == remediate.ApprovalApproved && a.Result == "":
		fmt.Fprintf(out, "approved %s: %s of %s (%s) by rule %s is being carried out (not finished within %s; consumer approvals list --all shows the result)\n",
			a.ID, a.Action, a.UserEmail, a.UserID, a.RuleID, wait)
	case a.State == remediate.ApprovalApproved:
		fmt.Fprintf(out, "approved %s by %s: %s of %s (%s) by rule %s: %s\n", a.ID, a.DecidedBy, a.Action, a.UserEmail, a.UserID, a.RuleID, a.Result)
	default:
		fmt.Fprintf(out, "%s %s by %s: %s of %s (%s) by rule %s will not be carried out\n", a.State, a.ID, a.DecidedBy, a.Action, a.UserEmail, a.UserID, a.RuleID)
	}
	return nil
}

// approvalView is one action as `approvals list --json` prints it.
type approvalView struct {
	ID        string    `json:"id"`
	RuleID    string    `json:"rule_id"`
	User      string    `json:"user"`
	OPUserID  string    `json:"op_user_id"`
	Action    string    `json:"action"`
	State     string    `json:"state"`
	Reason    string    `json:"reason,omitempty"`
	EventID   string    `json:"event_id,omitempty"`
	TraceID   string    `json:"trace_id,omitempty"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
	DecidedBy string    `json:"decided_by,omitempty"`
	Channel   string    `json:"channel,omitempty"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
	Result    string    `json:"result,omitempty"`
}

// PrintApprovals prints the pending actions (includeDecided: every one),
// as a table or as JSON lines.
func PrintApprovals(w io.Writer, all []remediate.Approval, includeDecided, asJSON bool) error {
	var shown []remediate.Approval
	for _, a := range all {
		if includeDecided || a.State == remediate.ApprovalPending {
			shown = append(shown, a)
		}
	}
	if asJSON {
		enc := json.NewEncoder(w)
		for _, a := range shown {
			v := approvalView{ID: a.ID, RuleID: a.RuleID, User: a.UserEmail, OPUserID: a.UserID, Action: string(a.Action), State: string(a.State),
				Reason: a.Reason, EventID: a.EventID, TraceID: a.TraceID, Created: a.Created, Expires: a.Expires,
				DecidedBy: a.DecidedBy, Channel: a.Channel, DecidedAt: a.DecidedAt, Result: string(a.Result)}
			if err := enc.Encode(v); err != nil {
				return err
			}
		}
		return nil
	}
	if len(shown) == 0 {
		fmt.Fprintln(w, "no pending actions")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRULE\tUSER\tOP USER ID\tACTION\tREQUESTED\tEXPIRES\tSTATE")
	for _, a := range shown {
		state := string(a.State)
		if a.State != remediate.ApprovalPending {
			state = fmt.Sprintf("%s by %s via %s", a.State, a.DecidedBy, a.Channel)
			switch {
			case a.Result != "":
				state += ": " + string(a.Result)
			case a.Failure != "":
				state += ": not carried out yet (" + a.Failure + ")"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.RuleID, a.UserEmail, a.UserID, a.Action,
			a.Created.UTC().Format(time.RFC3339), a.Expires.UTC().Format(time.RFC3339), state)
	}
	return tw.Flush()
}

// PrintBreakers prints every scope's status, as a table or as JSON lines.
func PrintBreakers(w io.Writer, cfg config.Config, led *remediate.Ledger, asJSON bool, now time.Time) error {
	count, window, _ := cfg.BreakerGlobal()
	statuses := led.BreakerStatuses(remediate.Limit{Count: count, Window: window}, now)
	if asJSON {
		enc := json.NewEncoder(w)
		for _, st := range statuses {
			if err := enc.Encode(st); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCOPE\tSTATE\tSINCE\tSUSPENSIONS\tWHY")
	for _, st := range statuses {
		state, since, why := "armed", "-", "never tripped"
		if !st.Since.IsZero() {
			since = st.Since.UTC().Format(time.RFC3339)
		}
		switch {
		case st.Open:
			state, why = "OPEN", fmt.Sprintf("%s (tripped by %s); re-arm: consumer breaker reset --scope %s --by NAME --reason TEXT", st.Reason, st.Instance, st.Scope)
		case st.By != "":
			why = fmt.Sprintf("re-armed by %s: %s", st.By, st.Reason)
		}
		counted := "-"
		if st.Window != "" {
			counted = fmt.Sprintf("%d/%d in %s", st.Count, st.Cap, st.Window)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", st.Scope, state, since, counted, why)
	}
	return tw.Flush()
}

// ResetBreaker re-arms one open scope and says on w what to do next.
func ResetBreaker(ctx context.Context, led *remediate.Ledger, scope, by, reason string, w io.Writer) error {
	if err := led.Reset(ctx, scope, by, reason, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(w, "re-armed breaker %s (by %s: %s)\n"+
		"The decisions it held are in the dead-letter topic with class breaker_open; after review,\n"+
		"consumer dlq replay --execute acts on them, within the cap again.\n", scope, by, reason)
	return nil
}

// ErrNoSigningKey: signing the state topic needs a signing key.
var ErrNoSigningKey = errors.New("a signing key is needed (TRIPLINE_DLQ_SIGNING_KEY or _FILE)")

// ResignState signs the records of the state topic under the current key
// (see remediate.Resign), or with dryRun says what it would sign, and
// reports on out.
func ResignState(ctx context.Context, cfg config.Config, dryRun bool, out io.Writer) error {
	keys, err := cfg.Kafka.SigningKeys()
	if err != nil {
		return err
	}
	if !keys.Signs() {
		return ErrNoSigningKey
	}
	k := cfg.Kafka
	k.ClientID = clientID(k.ClientID, "state")
	conn, err := kafkaio.NewConnection(kafkaConfig(k))
	if err != nil {
		return err
	}
	defer conn.Close()
	table, recs, err := readState(ctx, k, conn)
	if err != nil {
		return err
	}
	outcomes, err := remediate.Resign(ctx, table, keys, recs, time.Now, dryRun)
	printResign(out, outcomes, dryRun, keys.Fingerprint())
	return err
}

// readState reads the state topic in full, unchecked: the latest record of
// each key, sorted by key, and the table to write through.
func readState(ctx context.Context, k config.Kafka, conn *kafkaio.Connection) (*ledger.Table, []remediate.StoredRecord, error) {
	latest := map[string]remediate.StoredRecord{}
	table, err := ledger.New(ledger.Config{Brokers: conn.Brokers, Transport: conn.Transport, Topic: k.StateTopic},
		func(key string, value []byte, signature string) {
			latest[key] = remediate.StoredRecord{Key: key, Value: value, Signature: signature}
		})
	if err != nil {
		return nil, nil, fmt.Errorf("state topic: %w", err)
	}
	loadCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := table.Load(loadCtx); err != nil {
		return nil, nil, fmt.Errorf("state topic %s: %w", k.StateTopic, err)
	}
	recs := make([]remediate.StoredRecord, 0, len(latest))
	for _, r := range latest {
		recs = append(recs, r)
	}
	slices.SortFunc(recs, func(a, b remediate.StoredRecord) int { return strings.Compare(a.Key, b.Key) })
	return table, recs, nil
}

// printResign prints the refused records one per line, then the counts.
func printResign(w io.Writer, outcomes []remediate.ResignOutcome, dryRun bool, fingerprint string) {
	counts := map[string]int{}
	for _, o := range outcomes {
		counts[o.Action]++
		if o.Action == "refused" {
			fmt.Fprintf(w, "refused %s: %s\n", o.Key, o.Detail)
		}
	}
	verb := "signed"
	if dryRun {
		verb = "would sign"
	}
	fmt.Fprintf(w, "%s %d records under key %s; %d already signed under it; %d refused (listed above, never signed); %d tombstones skipped\n",
		verb, counts["signed"], fingerprint, counts["kept"], counts["refused"], counts["skipped"])
}
