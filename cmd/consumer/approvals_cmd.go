package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/tripline-dev/tripline/internal/app"
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
	if code, ok := parseFlags(fs, rest, s, "approvals "+sub, approvalsUsage, false); !ok {
		return code
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
	cfg, ok := loadConfig(f.path, s, "approvals "+sub)
	if !ok {
		return 2
	}
	m, err := app.OpenLedger(ctx, cfg, s.err)
	if err != nil {
		fmt.Fprintf(s.err, "consumer approvals %s: %v\n", sub, err)
		return 1
	}
	defer m.Close()
	if sub == "list" {
		if err := app.PrintApprovals(s.out, m.Ledger().Approvals(), f.all, f.asJSON); err != nil {
			fmt.Fprintf(s.err, "consumer approvals list: %v\n", err)
			return 1
		}
		return 0
	}
	kind := remediate.AnswerApprove
	if sub == "deny" {
		kind = remediate.AnswerDeny
	}
	if err := m.AnswerAndReport(ctx, remediate.Answer{ApprovalID: id, Kind: kind, By: f.by, Channel: "cli", Reason: f.reason}, f.wait, s.out); err != nil {
		fmt.Fprintf(s.err, "consumer approvals %s: %v\n", sub, err)
		return 1
	}
	return 0
}
