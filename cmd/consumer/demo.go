package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/tripline-dev/tripline/internal/demo"
)

const demoUsage = `Usage: consumer demo [flags]

Runs tripline end to end with no configuration and no network: an embedded
Kafka broker (kfake) and the Users API simulator start in-process on
loopback ports. Security first adds an exception for one person (consumer
exceptions add); then a mixed stream of SIEM events in several formats is
produced (risky and benign, one malformed, one for a user the API refuses
to suspend, one for a stranger, one for a protected identity, one for the
person the exception spares, one delivered twice, and a burst that trips
the blast-radius breaker), the real pipeline consumes it, and a summary
says who was suspended and by which rule, who the guards and the exception
spared and why, what the breaker held, what went to the dead-letter topic
and why, and where the traces went. Then it plays the operator: re-arms
the breaker (consumer breaker reset) and replays the held decisions
(consumer dlq replay --execute); the approver: approves one pending action
and lets the other expire; and a timed suspension: the demo's own rule
(suspend_for: 2h, in a temporary copy of the rules directory, which stays
unchanged) suspends a user, the demo moves its clock past the end, and
tripline reactivates the user. Exits 0 when every message reached a final
outcome.

Flags:
`

// cmdDemo runs `consumer demo`.
func cmdDemo(ctx context.Context, args []string, s streams) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(s.err)
	c := demo.Config{Out: s.out, Err: s.err}
	fs.StringVar(&c.RulesDir, "rules", "rules", "directory of rule files")
	fs.BoolVar(&c.Verbose, "verbose", false, "print the service's JSON logs to stderr")
	fs.DurationVar(&c.Timeout, "timeout", 60*time.Second, "give up if the stream is not fully processed by then")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), demoUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := demo.Run(ctx, c); err != nil {
		fmt.Fprintf(s.err, "consumer demo: %v\n", err)
		return 1
	}
	return 0
}
