package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/config"
)

func runUsage(fs *flag.FlagSet, s streams) func() {
	return func() {
		w := fs.Output()
		fmt.Fprint(w, `Usage: consumer run [--config FILE]

Consumes the configured Kafka topics as a consumer group, normalizes each
message, evaluates the rules and suspends (or reactivates) 1Password users
for enforce-mode decisions. Every key of the YAML config file can be
overridden from the environment. On SIGINT/SIGTERM it stops fetching,
finishes in-flight messages within the shutdown grace, commits, revokes its
Users API token and exits; a second signal exits at once. SIGHUP reloads the
rules.

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(w, "\nEnvironment (overrides the file):\n")
		for _, v := range config.Env() {
			def := ""
			if d := v.DefaultValue(); d != "" {
				def = " (default " + d + ")"
			}
			fmt.Fprintf(w, "  %-36s %s%s\n", v.Name, v.Help, def)
		}
		fmt.Fprint(w, `  OTEL_EXPORTER_OTLP_ENDPOINT          OTLP/HTTP endpoint for traces (unset: no exporter)
  TRIPLINE_CONFIG                      config file, when --config is not given

Example:
  TRIPLINE_KAFKA_BROKERS=127.0.0.1:9092 TRIPLINE_KAFKA_TOPICS=signins \
  TRIPLINE_OP_BASE_URL=http://127.0.0.1:8787 TRIPLINE_OP_ALLOW_INSECURE_LOOPBACK=true \
  TRIPLINE_OP_ACCOUNT_ID=... TRIPLINE_OP_CLIENT_ID=tripline-dev TRIPLINE_OP_CLIENT_SECRET=... \
  consumer run
`)
	}
}

func cmdRun(ctx context.Context, args []string, s streams) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(s.err)
	path := fs.String("config", os.Getenv("TRIPLINE_CONFIG"), "YAML configuration file")
	fs.Usage = runUsage(fs, s)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(s.err, "consumer run: unexpected arguments %q\n", fs.Args())
		return 2
	}
	cfg, err := config.Load(*path, os.LookupEnv)
	if err != nil {
		fmt.Fprintf(s.err, "consumer run: configuration problems:\n%v\n", app.Indent(err))
		return 2
	}
	ctx = exitOnSecondSignal(ctx, s)
	m, err := app.NewMain(ctx, cfg, app.Options{Log: s.err})
	if err != nil {
		fmt.Fprintf(s.err, "consumer run: cannot start:\n%v\n", app.Indent(err))
		return 1
	}
	runErr := m.Run(ctx)
	closeErr := m.Close()
	if runErr != nil {
		fmt.Fprintf(s.err, "consumer run: %v\n", runErr)
		return 1
	}
	if closeErr != nil {
		fmt.Fprintf(s.err, "consumer run: close: %v\n", closeErr)
		return 1
	}
	return 0
}

// exitOnSecondSignal makes a second SIGINT/SIGTERM, after ctx was cancelled
// by the first, exit the process at once.
func exitOnSecondSignal(ctx context.Context, s streams) context.Context {
	context.AfterFunc(ctx, func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		<-sig
		fmt.Fprintln(s.err, "consumer: second signal, exiting now without committing")
		os.Exit(130)
	})
	return ctx
}
