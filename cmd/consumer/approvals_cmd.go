package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/remediate"
)

const approvalsUsage = `Usage:
  consumer approvals list [--all] [--json] [--config FILE]
  consumer approvals approve ID --by NAME [--wait 60s] [--config FILE]
  consumer approvals deny ID --by NAME --reason TEXT [--wait 60s] [--config FILE]

A rule in mode: approve does not act on its own: once the guards allow its
decision (protected identities, refusals, duplicates, breakers), the
decision becomes a pending action in the state topic, and nothing is called
until a person approves it. It expires after the rule's approval_timeout
(default 30m): then it is denied (outcome approval_expired) and never
carried out. A reminder goes out at half time.

Answers travel on the approvals topic (kafka.approvals_topic, default
tripline.approvals), signed with the dead-letter signing key
(TRIPLINE_DLQ_SIGNING_KEY): the running consumer that owns the answer's
partition applies it, so the first answer wins and an approved action is
carried out once, through the guards again. These commands use the same
configuration as 'consumer run' (--config / TRIPLINE_CONFIG and the
TRIPLINE_* environment); Kafka ACLs decide who may answer (WRITE on the
approvals topic) and the signing key proves the answer is tripline's.

list     the pending actions: id, rule, user, 1Password user id, action,
         requested, expires. --all adds the decided ones; --json prints one
         JSON object per action (id, rule_id, user, op_user_id, action,
         state, reason, event_id, trace_id, created, expires, decided_by,
         channel, decided_at, result).
approve  approves one pending action and waits (--wait, default 60s) until
         a running consumer has carried it out, then prints the outcome.
deny     denies one pending action, recording who (--by) and why (--reason).

Exit status: 0 when the answer took effect (or was written and no consumer
applied it within --wait: it applies when one runs, if the action has not
expired by then); 1 when the action is unknown, already decided or expired
(nothing changes), or the topics cannot be read or written; 2 on usage
errors.
`

// approvalsFlags are the flags of `consumer approvals`.
type approvalsFlags struct {
	path, by, reason string
	all, asJSON      bool
	wait             time.Duration
}

// cmdApprovals runs `consumer approvals list|approve|deny`.
func cmdApprovals(ctx context.Context, args []string, s streams) int {
	sub, rest, code, ok := subcommand(args, s, "approvals", approvalsUsage, "list", "approve", "deny")
	if !ok {
		return code
	}
	var f approvalsFlags
	fs := flag.NewFlagSet("approvals "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.path, "config", os.Getenv("TRIPLINE_CONFIG"), "")
	fs.StringVar(&f.by, "by", "", "")
	fs.StringVar(&f.reason, "reason", "", "")
	fs.BoolVar(&f.all, "all", false, "")
	fs.BoolVar(&f.asJSON, "json", false, "")
	fs.DurationVar(&f.wait, "wait", time.Minute, "")
	// The id comes first or last: approve ID --by NAME, or approve --by NAME ID.
	var id string
	if len(rest) > 0 && len(rest[0]) > 0 && rest[0][0] != '-' {
		id, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(s.out, approvalsUsage)
			return 0
		}
		fmt.Fprintf(s.err, "consumer approvals %s: %v\n\n%s", sub, err, approvalsUsage)
		return 2
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(s.err, "consumer approvals %s: unexpected arguments %q\n", sub, fs.Args())
		return 2
	}
	switch {
	case sub == "list" && id != "":
		fmt.Fprintf(s.err, "consumer approvals list: unexpected argument %q\n", id)
		return 2
	case sub != "list" && (id == "" || f.by == ""):
		fmt.Fprintf(s.err, "consumer approvals %s: the pending action's ID and --by are required\n\n%s", sub, approvalsUsage)
		return 2
	case sub == "deny" && f.reason == "":
		fmt.Fprintf(s.err, "consumer approvals deny: --reason is required\n\n%s", approvalsUsage)
		return 2
	}
	cfg, err := config.Load(f.path, os.LookupEnv)
	if err != nil {
		fmt.Fprintf(s.err, "consumer approvals %s: configuration problems:\n%v\n", sub, indent(err))
		return 2
	}
	m, err := openLedger(ctx, cfg, s.err)
	if err != nil {
		fmt.Fprintf(s.err, "consumer approvals %s: %v\n", sub, err)
		return 1
	}
	defer m.Close()
	if sub == "list" {
		if err := printApprovals(s.out, m.ledger.Approvals(), f.all, f.asJSON); err != nil {
			fmt.Fprintf(s.err, "consumer approvals list: %v\n", err)
			return 1
		}
		return 0
	}
	kind := remediate.AnswerApprove
	if sub == "deny" {
		kind = remediate.AnswerDeny
	}
	if err := answerApproval(ctx, m, remediate.Answer{ApprovalID: id, Kind: kind, By: f.by, Channel: "cli", Reason: f.reason}, f.wait, s.out); err != nil {
		fmt.Fprintf(s.err, "consumer approvals %s: %v\n", sub, err)
		return 1
	}
	return 0
}

// answerApproval checks that the action is pending and not expired,
// writes the answer and follows the state topic until a consumer applied
// it (at most wait), then says what became of it.
func answerApproval(ctx context.Context, m *Main, ans remediate.Answer, wait time.Duration, out io.Writer) error {
	a, ok := m.ledger.Approval(ans.ApprovalID)
	switch {
	case !ok:
		return fmt.Errorf("no pending action %s (consumer approvals list shows them)", ans.ApprovalID)
	case a.State != remediate.ApprovalPending:
		return fmt.Errorf("%s was already %s by %s via %s at %s: nothing changed", a.ID, a.State, a.DecidedBy, a.Channel, a.DecidedAt.UTC().Format(time.RFC3339))
	case !time.Now().Before(a.Expires):
		return fmt.Errorf("%s expired at %s: it is denied and is never carried out; nothing changed", a.ID, a.Expires.UTC().Format(time.RFC3339))
	}
	ans = a.Bind(ans)
	k := m.cfg.Kafka
	if !m.approvals() {
		return errors.New("approvals are off: they need kafka.approvals_topic and the signing key (TRIPLINE_DLQ_SIGNING_KEY)")
	}
	m.answers = m.conn.NewTopicWriter(k.ApprovalsTopic, k.MaxBytes)
	tailCtx, stopTail := context.WithCancel(ctx)
	defer stopTail()
	go m.table.Run(tailCtx) // follow the state topic: the consumer records the outcome there
	ans, err := m.writeAnswer(ctx, ans)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		a, _ = m.ledger.Approval(ans.ApprovalID)
		settled := a.State != remediate.ApprovalPending && (a.State != remediate.ApprovalApproved || a.Answer != ans.Nonce || a.Result != "" || a.Failure != "")
		if settled {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	switch {
	case a.State == remediate.ApprovalPending:
		fmt.Fprintf(out, "%s: answer written to %s; no running consumer applied it within %s. It applies when one runs, unless the action expires first (%s).\n",
			a.ID, k.ApprovalsTopic, wait, a.Expires.UTC().Format(time.RFC3339))
		return nil
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

func printApprovals(w io.Writer, all []remediate.Approval, includeDecided, asJSON bool) error {
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
