// Command devbroker runs a local, in-process Kafka broker (franz-go's kfake)
// for trying `consumer run` and kcat by hand, without Java or Docker.
//
//	go run ./cmd/devbroker --listen 127.0.0.1:9092 --data-dir .cache/devbroker
//
// Topics are created on first use with --partitions partitions; --topics
// creates some up front. With --data-dir, records and committed offsets
// survive a restart. It prints the bootstrap address and runs until SIGINT
// or SIGTERM. For a real Apache Kafka use scripts/kafka-local.sh.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tripline-dev/tripline/internal/devbroker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run starts the broker described by args, prints its address to stdout and
// serves until ctx ends. It returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	b, err := devbroker.Start(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "devbroker: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "devbroker: listening; bootstrap address %s\n", b.Addr())
	fmt.Fprintf(stdout, "KAFKA_BROKERS=%s\n", b.Addr())
	<-ctx.Done()
	fmt.Fprintln(stdout, "devbroker: shutting down")
	b.Close()
	return 0
}

// parseFlags turns the command line into a devbroker.Config.
func parseFlags(args []string, stderr io.Writer) (devbroker.Config, error) {
	fs := flag.NewFlagSet("devbroker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: devbroker [flags]\n\n"+
			"Runs an in-process Kafka broker for local development (not for production).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	var cfg devbroker.Config
	var topics string
	var verbose bool
	fs.StringVar(&cfg.Listen, "listen", devbroker.DefaultListen, "`host:port` to serve on (port 0 picks a free one); clients are told this host")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "`directory` that keeps topics, records and offsets across restarts (default: memory only)")
	fs.IntVar(&cfg.Partitions, "partitions", devbroker.DefaultPartitions, "partition `count` of topics created on first use and by --topics")
	fs.StringVar(&topics, "topics", "", "comma-separated `topics` to create at start")
	fs.BoolVar(&verbose, "v", false, "log broker activity to stderr")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "devbroker: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return cfg, errors.New("unexpected arguments")
	}
	if cfg.Partitions < 1 {
		fmt.Fprintf(stderr, "devbroker: --partitions must be at least 1, got %d\n", cfg.Partitions)
		return cfg, errors.New("bad partitions")
	}
	for _, t := range strings.Split(topics, ",") {
		if t = strings.TrimSpace(t); t != "" {
			cfg.Topics = append(cfg.Topics, t)
		}
	}
	if verbose {
		cfg.Log = stderr
	}
	return cfg, nil
}
