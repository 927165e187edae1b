// Command kafkacheck waits until a Kafka broker answers a metadata request.
//
// scripts/kafka-local.sh runs it after the broker's port opens, because an
// open port does not yet mean the broker serves clients:
//
//	go run ./cmd/kafkacheck -brokers 127.0.0.1:19092 -timeout 60s
//
// It exits 0 once the metadata request succeeds, listing at least
// -min-brokers brokers (default 1; a cluster's whole size when waiting for
// every node), and 1 when the timeout passes first, printing the last error.
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
	"time"

	"github.com/segmentio/kafka-go"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args, polls the broker and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kafkacheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("brokers", "127.0.0.1:19092", "comma-separated bootstrap `addresses`")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after this `duration`")
	interval := fs.Duration("interval", 500*time.Millisecond, "wait this `duration` between attempts")
	minBrokers := fs.Int("min-brokers", 1, "wait until the metadata lists at least this `many` brokers")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	addrs := strings.Split(*brokers, ",")
	md, err := waitMetadata(ctx, addrs, *interval, max(*minBrokers, 1))
	if err != nil {
		fmt.Fprintf(stderr, "kafkacheck: %s: no metadata after %s: %v\n", *brokers, *timeout, err)
		return 1
	}
	fmt.Fprintf(stdout, "kafkacheck: %s ready: %d broker(s), controller %d, cluster %s\n",
		*brokers, len(md.Brokers), md.Controller.ID, md.ClusterID)
	return 0
}

// waitMetadata asks for cluster metadata every interval until an answer
// listing at least minBrokers brokers arrives or ctx ends; it returns the
// last error in the latter case.
func waitMetadata(ctx context.Context, addrs []string, interval time.Duration, minBrokers int) (*kafka.MetadataResponse, error) {
	// A transport of our own so no connection is cached across attempts.
	transport := &kafka.Transport{DialTimeout: 2 * time.Second, MetadataTTL: time.Millisecond}
	defer transport.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(addrs...), Timeout: 5 * time.Second, Transport: transport}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var lastErr error
	for {
		md, err := client.Metadata(ctx, &kafka.MetadataRequest{})
		if err == nil && len(md.Brokers) >= minBrokers {
			return md, nil
		}
		if err == nil {
			err = fmt.Errorf("metadata lists %d broker(s), want %d", len(md.Brokers), minBrokers)
		}
		if ctx.Err() == nil || lastErr == nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return nil, lastErr
		case <-ticker.C:
		}
	}
}
