package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/config"
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

// parseFlags parses the flags of `consumer NAME` (name with its
// subcommand) from args. When ok is false the command is over, code is the
// exit status: usage was asked for (0, usage on stdout), the flags are
// wrong or, with noArgs, positional arguments were given (2, on stderr).
func parseFlags(fs *flag.FlagSet, args []string, s streams, name, usage string, noArgs bool) (code int, ok bool) {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(s.out, usage)
			return 0, false
		}
		fmt.Fprintf(s.err, "consumer %s: %v\n\n%s", name, err, usage)
		return 2, false
	}
	if noArgs && fs.NArg() > 0 {
		fmt.Fprintf(s.err, "consumer %s: unexpected arguments %q\n", name, fs.Args())
		return 2, false
	}
	return 0, true
}

// loadConfig loads the configuration of `consumer NAME` from path and the
// environment, as `consumer run` does; on failure it prints the problems
// and ok is false (exit status 2).
func loadConfig(path string, s streams, name string) (cfg config.Config, ok bool) {
	cfg, err := config.Load(path, os.LookupEnv)
	if err != nil {
		fmt.Fprintf(s.err, "consumer %s: configuration problems:\n%v\n", name, app.Indent(err))
		return cfg, false
	}
	return cfg, true
}
