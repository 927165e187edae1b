package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/remediate"
)

const exceptionsUsage = `Usage:
  consumer exceptions add --user EMAIL|ID --rule ID|'*' --for DURATION --by NAME --reason TEXT [--config FILE]
  consumer exceptions list [--all] [--json] [--config FILE]
  consumer exceptions remove ID --by NAME --reason TEXT [--config FILE]

An exception spares one user from one rule (or from every rule, '*') for a
while: a decision it covers ends as excepted, audited and counted
(tripline_decisions_total{outcome="excepted"}), and makes no call. It only
ever prevents an action: it never lets through what the protected list or
a breaker stops, and it does not stop the end of a timed suspension. It
expires on its own after --for (a Go duration, e.g. 90m or 72h; at most
720h, 30 days).

Exceptions live in the state topic (kafka.state_topic, default
tripline.state, key exception/<id>), signed with the signing key
(TRIPLINE_DLQ_SIGNING_KEY) like every state record, and shared by every
instance: running instances apply a change within a second. These commands
use the same configuration as 'consumer run' (--config / TRIPLINE_CONFIG
and the TRIPLINE_* environment); Kafka ACLs decide who may write them
(WRITE on the state topic).

add      writes an exception for --user (an email, compared case- and
         Unicode-insensitively, or a 1Password user id) and --rule (a rule
         id, not checked against the rules: a misspelt one spares nobody),
         recording who (--by) and why (--reason), and prints its id.
list     the exceptions in force: id, user, rule, created, expires, by,
         reason. --all adds those that ended (kept a week); --json prints
         one JSON object per exception (id, user, rule, created, expires,
         by, reason, removed_by, removed_reason, removed_at, state).
remove   ends an exception in force now, recording who and why.

Exit status: 0 on success; 1 when the exception is not in force (remove),
or the state topic cannot be read or written; 2 on usage errors (a missing
flag, a duration that does not parse, is not positive or is over 30 days).
`

// exceptionsFlags are the flags of `consumer exceptions`.
type exceptionsFlags struct {
	path, user, rule, by, reason string
	all, asJSON                  bool
	lasts                        time.Duration
}

// cmdExceptions runs `consumer exceptions add|list|remove`.
func cmdExceptions(ctx context.Context, args []string, s streams) int {
	sub, rest, code, ok := subcommand(args, s, "exceptions", exceptionsUsage, "add", "list", "remove")
	if !ok {
		return code
	}
	var f exceptionsFlags
	fs := flag.NewFlagSet("exceptions "+sub, flag.ContinueOnError)
	fs.StringVar(&f.path, "config", os.Getenv("TRIPLINE_CONFIG"), "")
	fs.StringVar(&f.user, "user", "", "")
	fs.StringVar(&f.rule, "rule", "", "")
	fs.StringVar(&f.by, "by", "", "")
	fs.StringVar(&f.reason, "reason", "", "")
	fs.BoolVar(&f.all, "all", false, "")
	fs.BoolVar(&f.asJSON, "json", false, "")
	fs.DurationVar(&f.lasts, "for", 0, "")
	id, code, ok := positionalAndFlags(fs, rest, s, "exceptions "+sub, exceptionsUsage)
	if !ok {
		return code
	}
	if problem := exceptionsProblem(sub, id, f); problem != "" {
		fmt.Fprintf(s.err, "consumer exceptions %s: %s\n\n%s", sub, problem, exceptionsUsage)
		return 2
	}
	cfg, ok := loadConfig(f.path, s, "exceptions "+sub)
	if !ok {
		return 2
	}
	m, err := app.OpenLedger(ctx, cfg, s.err)
	if err != nil {
		fmt.Fprintf(s.err, "consumer exceptions %s: %v\n", sub, err)
		return 1
	}
	defer m.Close()
	switch sub {
	case "list":
		err = app.PrintExceptions(s.out, m.Ledger().Exceptions(), f.all, f.asJSON, time.Now())
	case "add":
		_, err = m.AddException(ctx, f.user, f.rule, f.lasts, f.by, f.reason, s.out)
	default:
		err = m.RemoveException(ctx, id, f.by, f.reason, s.out)
	}
	if err != nil {
		fmt.Fprintf(s.err, "consumer exceptions %s: %v\n", sub, err)
		return 1
	}
	return 0
}

// exceptionsProblem says what is wrong with the arguments of `consumer
// exceptions sub` ("" when nothing is).
func exceptionsProblem(sub, id string, f exceptionsFlags) string {
	if sub != "remove" && id != "" {
		return fmt.Sprintf("unexpected argument %q", id)
	}
	if sub != "add" && (f.user != "" || f.rule != "" || f.lasts != 0) {
		return "--user, --rule and --for are only for add"
	}
	if sub == "list" {
		return ""
	}
	var missing []string
	need := func(v, name string) {
		if strings.TrimSpace(v) == "" {
			missing = append(missing, name)
		}
	}
	if sub == "add" {
		need(f.user, "--user")
		need(f.rule, "--rule")
		if f.lasts == 0 {
			missing = append(missing, "--for")
		}
	} else {
		need(id, "the exception's ID")
	}
	need(f.by, "--by")
	need(f.reason, "--reason")
	switch {
	case len(missing) > 0:
		return "missing " + strings.Join(missing, ", ")
	case sub == "add" && (f.lasts < 0 || f.lasts > remediate.MaxException):
		return fmt.Sprintf("--for %s: an exception lasts more than 0 and at most 720h (30 days)", f.lasts)
	}
	return ""
}
