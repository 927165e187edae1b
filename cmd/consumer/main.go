// Command consumer is tripline's main binary: it runs the Kafka consumer that
// suspends 1Password users on risky sign-ins, and the tools rule authors and
// operators use around it (normalize, rules, replay, demo, dlq, breaker, approvals,
// containment, exceptions, state).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tripline-dev/tripline/internal/version"
)

// streams are the standard streams a subcommand reads and writes, so tests
// can run subcommands in-process.
type streams struct {
	in  io.Reader
	out io.Writer
	err io.Writer
}

// command is one subcommand of the consumer binary.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, s streams) int
}

func commands() []command {
	return []command{
		{"run", "consume the configured Kafka topics and act on rule decisions", cmdRun},
		{"demo", "run the whole pipeline offline: embedded broker, Users API simulator, sample events", cmdDemo},
		{"normalize", "print the normalized sign-in record of each JSON event", cmdNormalize},
		{"rules", "lint, test or explain policy rule files, import Sigma rules (rules lint|test|explain|import-sigma)", cmdRules},
		{"replay", "evaluate events from a JSON-lines file and print the decisions, without acting", cmdReplay},
		{"dlq", "re-read dead-lettered records and re-evaluate them (dlq replay)", cmdDLQ},
		{"breaker", "show or re-arm the blast-radius breakers (breaker status, breaker reset)", cmdBreaker},
		{"approvals", "list, approve or deny the pending actions of approve rules", cmdApprovals},
		{"containment", "list, keep, lift or extend the timed suspensions of rules with suspend_for", cmdContainment},
		{"exceptions", "add, list or remove the exceptions that spare a user from a rule for a while", cmdExceptions},
		{"state", "sign the records of the state topic under the signing key (state resign)", cmdState},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, os.Args[1:], streams{os.Stdin, os.Stdout, os.Stderr})
	stop()
	os.Exit(code)
}

// dispatch runs the subcommand named by args[0] and returns the exit code.
func dispatch(ctx context.Context, args []string, s streams) int {
	if len(args) == 0 {
		usage(s.err)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(s.out)
		return 0
	case "-version", "--version", "version":
		fmt.Fprintln(s.out, "consumer", version.Version)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], s)
		}
	}
	fmt.Fprintf(s.err, "consumer: unknown command %q\n\n", args[0])
	usage(s.err)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: consumer <command> [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'consumer <command> --help' for the flags of a command.")
}
