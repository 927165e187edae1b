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

const containmentUsage = `Usage:
  consumer containment list [--json] [--config FILE]
  consumer containment keep USER --by NAME --reason TEXT [--wait 60s] [--config FILE]
  consumer containment lift USER --by NAME --reason TEXT [--wait 60s] [--config FILE]
  consumer containment extend USER --for DURATION --by NAME --reason TEXT [--wait 60s] [--config FILE]

A rule with suspend_for (e.g. suspend_for: 4h) suspends a user for a while:
when the time is up, tripline reactivates the user, provided the timed
suspension is still its last action on the user and nobody reactivated them
first (then it leaves the user as they are). A new decision about a user
under a timed suspension extends it instead of suspending again. USER is the
user's email or 1Password user id.

The timed suspensions live in the users' records in the state topic
(kafka.state_topic, default tripline.state). Answers to them (and the
clock's end, which every running instance writes when the time is up)
travel on the approvals topic (kafka.approvals_topic, default
tripline.approvals), signed with the signing key (TRIPLINE_DLQ_SIGNING_KEY):
the running consumer that owns the answer's partition applies them one at
a time, in order. These commands use the same configuration as 'consumer
run' (--config / TRIPLINE_CONFIG and the TRIPLINE_* environment); Kafka ACLs
decide who may answer (WRITE on the approvals topic).

list     the timed suspensions in force, soonest end first: user, 1Password
         user id, rule, since, ends, times (how many times the rule
         contained the user within 30 days) and state (ends in, overdue by,
         ending, and why the last attempt to end it failed). --json prints
         one JSON object per suspension (user, op_user_id, rule_id,
         event_id, since, ends, times, extended, ending_since, end_failure).
keep     makes the suspension permanent: tripline never undoes it, only a
         person reactivates the user. Also stops an end that failed and
         waits to be re-driven.
lift     ends it now: tripline reactivates the user through the same guards
         as at the end (still its last action, nobody reactivated the user,
         a read of the user first).
extend   moves its end by --for (a Go duration between 1m and 720h, e.g.
         90m or 24h), at most 30 days from now.

Each answer records who (--by) and why (--reason), and waits (--wait,
default 60s) until a running consumer applied it, then prints what became
of it. An end already under way cannot be answered.

Exit status: 0 when the answer took effect (or was written and no consumer
applied it within --wait: it applies when one runs, if the suspension is
still in force then); 1 when the user has no timed suspension in force, its
end is under way, the answer did not take effect (a keep or an extend that
came after the end, a lift that found the suspension no longer tripline's
to undo or whose reactivation failed), or the topics cannot be read or
written; 2 on usage errors.
`

// containmentKind is the answer of `consumer containment sub`.
func containmentKind(sub string) remediate.AnswerKind {
	switch sub {
	case "keep":
		return remediate.AnswerKeep
	case "lift":
		return remediate.AnswerLift
	}
	return remediate.AnswerExtend
}

// containmentFlags are the flags of `consumer containment`.
type containmentFlags struct {
	path, by, reason string
	asJSON           bool
	extend, wait     time.Duration
}

// cmdContainment runs `consumer containment list|keep|lift|extend`.
func cmdContainment(ctx context.Context, args []string, s streams) int {
	sub, rest, code, ok := subcommand(args, s, "containment", containmentUsage, "list", "keep", "lift", "extend")
	if !ok {
		return code
	}
	var f containmentFlags
	fs := flag.NewFlagSet("containment "+sub, flag.ContinueOnError)
	fs.StringVar(&f.path, "config", os.Getenv("TRIPLINE_CONFIG"), "")
	fs.StringVar(&f.by, "by", "", "")
	fs.StringVar(&f.reason, "reason", "", "")
	fs.BoolVar(&f.asJSON, "json", false, "")
	fs.DurationVar(&f.extend, "for", 0, "")
	fs.DurationVar(&f.wait, "wait", time.Minute, "")
	user, code, ok := positionalAndFlags(fs, rest, s, "containment "+sub, containmentUsage)
	if !ok {
		return code
	}
	if problem := containmentProblem(sub, user, f); problem != "" {
		fmt.Fprintf(s.err, "consumer containment %s: %s\n\n%s", sub, problem, containmentUsage)
		return 2
	}
	cfg, ok := loadConfig(f.path, s, "containment "+sub)
	if !ok {
		return 2
	}
	m, err := app.OpenLedger(ctx, cfg, s.err)
	if err != nil {
		fmt.Fprintf(s.err, "consumer containment %s: %v\n", sub, err)
		return 1
	}
	defer m.Close()
	if sub == "list" {
		err = app.PrintContainments(s.out, m.Ledger().Containments(), f.asJSON, time.Now())
	} else {
		ans := remediate.Answer{Kind: containmentKind(sub), By: f.by, Reason: f.reason, Channel: "cli", For: f.extend}
		err = m.AnswerContainment(ctx, user, ans, f.wait, s.out)
	}
	if err != nil {
		fmt.Fprintf(s.err, "consumer containment %s: %v\n", sub, err)
		return 1
	}
	return 0
}

// positionalAndFlags parses the flags of `consumer NAME` around one
// optional positional argument, which comes first or last (keep USER --by
// NAME, or keep --by NAME USER). When ok is false the command is over and
// code is its exit status (see parseFlags; more than one positional
// argument is a usage error).
func positionalAndFlags(fs *flag.FlagSet, args []string, s streams, name, usage string) (arg string, code int, ok bool) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		arg, args = args[0], args[1:]
	}
	if code, ok := parseFlags(fs, args, s, name, usage, false); !ok {
		return "", code, false
	}
	switch {
	case arg == "" && fs.NArg() == 1:
		arg = fs.Arg(0)
	case fs.NArg() > 0:
		fmt.Fprintf(s.err, "consumer %s: unexpected arguments %q\n", name, fs.Args())
		return "", 2, false
	}
	return arg, 0, true
}

// containmentProblem says what is wrong with the arguments of `consumer
// containment sub` ("" when nothing is).
func containmentProblem(sub, user string, f containmentFlags) string {
	if sub == "list" {
		if user != "" {
			return fmt.Sprintf("unexpected argument %q", user)
		}
		return ""
	}
	var missing []string
	if strings.TrimSpace(user) == "" {
		missing = append(missing, "USER (an email or a 1Password user id)")
	}
	if strings.TrimSpace(f.by) == "" {
		missing = append(missing, "--by")
	}
	if strings.TrimSpace(f.reason) == "" {
		missing = append(missing, "--reason")
	}
	if sub == "extend" && f.extend == 0 {
		missing = append(missing, "--for")
	}
	switch {
	case len(missing) > 0:
		return "missing " + strings.Join(missing, ", ")
	case sub != "extend" && f.extend != 0:
		return "--for is only for extend"
	case sub == "extend" && (f.extend < remediate.MinContainment || f.extend > remediate.MaxContainment):
		return fmt.Sprintf("--for %s: want between 1m and 720h (30 days)", f.extend)
	}
	return ""
}
