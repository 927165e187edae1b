package main

import (
	"fmt"
	"slices"
)

// subcommand picks the subcommand of `consumer NAME SUB ...` among subs.
// When ok is false the command is over: usage was asked for (exit 0) or
// the subcommand is missing or unknown (exit 2, usage on stderr), and code
// is the exit status.
func subcommand(args []string, s streams, name, usage string, subs ...string) (sub string, rest []string, code int, ok bool) {
	if len(args) == 0 {
		fmt.Fprint(s.err, usage)
		return "", nil, 2, false
	}
	sub, rest = args[0], args[1:]
	switch {
	case slices.Contains([]string{"-h", "-help", "--help", "help"}, sub):
		fmt.Fprint(s.out, usage)
		return "", nil, 0, false
	case !slices.Contains(subs, sub):
		fmt.Fprintf(s.err, "consumer %s: unknown subcommand %q\n\n%s", name, sub, usage)
		return "", nil, 2, false
	}
	return sub, rest, 0, true
}
