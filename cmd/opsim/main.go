// Command opsim runs the 1Password Users API simulator (package
// internal/opsim) as a local HTTP server, for development, demos and
// docker-compose integration runs.
//
// Usage:
//
//	opsim [--listen ADDR] [--seed FILE] [--generate N] [--account ID]
//	      [--client-id ID] [--client-secret S] [--faults FILE] [switches]
//
// Run opsim --help for every flag with its default and an example.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tripline-dev/tripline/internal/opsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the parsed command-line flags.
type options struct {
	listen              string
	seed                string
	generate            int
	account             string
	clientID            string
	clientSecret        string
	faults              string
	strictUserAgent     bool
	rejectLargePageSize bool
	wrongAccountStatus  int
	eamStatus           int
	eamCode             int
	eamMessage          string
}

// example returns the one-line usage example --help shows for a flag.
func example(name string) string {
	switch name {
	case "listen":
		return "--listen 0.0.0.0:8787"
	case "seed":
		return "--seed cmd/opsim/testdata/seed.json"
	case "generate":
		return "--generate 100000"
	case "account":
		return "--account ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	case "client-id":
		return "--client-id 5ab87915-2deb-429c-a1e2-8b0495900f45"
	case "client-secret":
		return `--client-secret "$OPSIM_CLIENT_SECRET"`
	case "faults":
		return `--faults faults.json   (file: {"*":{"rate_429":0.1,"retry_after":2},"suspend":{"latency_ms":200}})`
	case "strict-user-agent":
		return "--strict-user-agent"
	case "reject-large-page-size":
		return "--reject-large-page-size"
	case "wrong-account-status":
		return "--wrong-account-status 404"
	case "eam-status":
		return "--eam-status 400"
	case "eam-code":
		return "--eam-code 9"
	case "eam-message":
		return "--eam-message failed_precondition"
	}
	return "--" + name
}

// newFlagSet declares the flags into o.
func newFlagSet(o *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("opsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8787", "address to listen on (port 0 picks a free port)")
	fs.StringVar(&o.seed, "seed", "", "JSON seed file: account, clients, users (see cmd/opsim/testdata/seed.json)")
	fs.IntVar(&o.generate, "generate", 0, "add N synthetic ACTIVE members user00001@example.com ... after the seed")
	fs.StringVar(&o.account, "account", "", "account ID, 26 upper-case letters or digits (overrides the seed; generated when neither sets it)")
	fs.StringVar(&o.clientID, "client-id", "", "register an OAuth client with this ID and every permission; with no seed clients either, "+opsim.DefaultClientID+" is registered")
	fs.StringVar(&o.clientSecret, "client-secret", "", "secret of the --client-id client ("+opsim.DefaultClientSecret+" when unset)")
	fs.StringVar(&o.faults, "faults", "", "JSON fault injection file, endpoint (or endpoint:USER_ID, one user only) -> {latency_ms, rate_429, retry_after, rate_500, rate_503}")
	fs.BoolVar(&o.strictUserAgent, "strict-user-agent", false, "answer 400 to requests without a Name/version User-Agent")
	fs.BoolVar(&o.rejectLargePageSize, "reject-large-page-size", false, "answer 400 to max_page_size > 1000 instead of clamping it")
	fs.IntVar(&o.wrongAccountStatus, "wrong-account-status", 403, "HTTP status for a path account other than the token's: 403 or 404")
	fs.IntVar(&o.eamStatus, "eam-status", 403, "HTTP status refusing to suspend an externally managed admin")
	fs.IntVar(&o.eamCode, "eam-code", 7, "gRPC code in that refusal's body")
	fs.StringVar(&o.eamMessage, "eam-message", "externally_managed_admin", "message in that refusal's body")
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintln(out, "Usage: opsim [flags]")
		fmt.Fprintln(out)
		fmt.Fprintln(out, "Runs a local 1Password Users API simulator (v1beta1 and v1 layouts, OAuth token")
		fmt.Fprintln(out, "server, /_opsim/ controls). Stop it with Ctrl-C.")
		fmt.Fprintln(out)
		fmt.Fprintln(out, "Flags:")
		fs.VisitAll(func(f *flag.Flag) {
			name, _ := flag.UnquoteUsage(f)
			fmt.Fprintf(out, "  --%s\n", strings.TrimSpace(f.Name+" "+name))
			def := f.DefValue
			if def == "" {
				def = `""`
			}
			fmt.Fprintf(out, "        %s (default %s)\n", f.Usage, def)
			fmt.Fprintf(out, "        example: %s\n", example(f.Name))
		})
	}
	return fs
}

// run is the whole command; it returns the exit code: 0 after a clean
// shutdown (ctx cancelled), 2 for bad flags or input files, 1 when the
// server cannot listen or fails.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	fs := newFlagSet(&o, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "opsim: unexpected arguments %q\n", fs.Args())
		return 2
	}
	cfg, faults, err := buildConfig(o)
	if err != nil {
		fmt.Fprintf(stderr, "opsim: %v\n", err)
		return 2
	}
	srv, err := opsim.New(cfg)
	if err != nil {
		if o.seed != "" {
			fmt.Fprintf(stderr, "opsim: seed file %s: %v\n", o.seed, strings.TrimPrefix(err.Error(), "opsim: "))
		} else {
			fmt.Fprintf(stderr, "opsim: %v\n", err)
		}
		return 2
	}
	srv.SetFaults(faults)
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		fmt.Fprintf(stderr, "opsim: listen: %v\n", err)
		return 1
	}
	printBanner(stderr, "http://"+ln.Addr().String(), srv, o)

	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "opsim: serve: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		fmt.Fprintf(stderr, "opsim: shutdown: %v\n", err)
		return 1
	}
	<-errc
	fmt.Fprintln(stderr, "opsim: stopped")
	return 0
}

// buildConfig turns the flags and the files they name into an
// opsim.Config and the initial fault settings.
func buildConfig(o options) (opsim.Config, opsim.Faults, error) {
	cfg := opsim.Config{
		Generate:            o.generate,
		StrictUserAgent:     o.strictUserAgent,
		RejectLargePageSize: o.rejectLargePageSize,
		WrongAccountStatus:  o.wrongAccountStatus,
		EAMStatus:           o.eamStatus,
		EAMCode:             o.eamCode,
		EAMMessage:          o.eamMessage,
	}
	if o.seed != "" {
		seed, err := readSeed(o.seed)
		if err != nil {
			return cfg, nil, err
		}
		cfg.Seed = seed
	}
	if o.account != "" {
		cfg.Seed.Account = o.account
	}
	if o.clientID != "" || o.clientSecret != "" {
		c := opsim.ClientSeed{ID: o.clientID, Secret: o.clientSecret}
		if c.ID == "" {
			c.ID = opsim.DefaultClientID
		}
		if c.Secret == "" {
			c.Secret = opsim.DefaultClientSecret
		}
		kept := cfg.Seed.Clients[:0:0]
		for _, sc := range cfg.Seed.Clients {
			if sc.ID != c.ID {
				kept = append(kept, sc)
			}
		}
		cfg.Seed.Clients = append(kept, c)
	}
	var faults opsim.Faults
	if o.faults != "" {
		f, err := readFaults(o.faults)
		if err != nil {
			return cfg, nil, err
		}
		faults = f
	}
	return cfg, faults, nil
}

// readSeed reads a JSON seed file; unknown keys are errors.
func readSeed(path string) (opsim.Seed, error) {
	var seed opsim.Seed
	if err := decodeFile(path, &seed); err != nil {
		return seed, fmt.Errorf("seed file %s: %w", path, err)
	}
	return seed, nil
}

// readFaults reads and validates a JSON faults file.
func readFaults(path string) (opsim.Faults, error) {
	var f opsim.Faults
	if err := decodeFile(path, &f); err != nil {
		return nil, fmt.Errorf("faults file %s: %w", path, err)
	}
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("faults file %s: %w", path, err)
	}
	return f, nil
}

// decodeFile decodes one strict JSON document from a file.
func decodeFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("empty file, want a JSON object")
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := 1 + strings.Count(string(b[:se.Offset]), "\n")
			return fmt.Errorf("line %d: %w", line, err)
		}
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON document")
	}
	return nil
}

// printBanner tells the operator where the simulator listens and how to
// get a token.
func printBanner(w io.Writer, baseURL string, srv *opsim.Server, o options) {
	fmt.Fprintf(w, "opsim: listening on %s\n", baseURL)
	fmt.Fprintf(w, "opsim: account %s (%d users)\n", srv.Account(), len(srv.Users()))
	fmt.Fprintf(w, "opsim: users API  %s/v1beta1/accounts/%s/users  (also under /v1)\n", baseURL, srv.Account())
	fmt.Fprintf(w, "opsim: token URL  %s/v1beta1/users/oauth2/token  (or %s/v1/oauth/token)\n", baseURL, baseURL)
	fmt.Fprintf(w, "opsim: controls   %s/_opsim/state, /_opsim/faults, /_opsim/revoke-all\n", baseURL)
	curlSecret := "$CLIENT_SECRET"
	for _, c := range srv.Clients() {
		switch {
		case c.ID == opsim.DefaultClientID && c.Secret == opsim.DefaultClientSecret && o.clientSecret == "":
			fmt.Fprintf(w, "opsim: client id %s secret %s (defaults)\n", c.ID, c.Secret)
		default:
			fmt.Fprintf(w, "opsim: client id %s\n", c.ID)
		}
	}
	first := srv.Clients()[0]
	if first.ID == opsim.DefaultClientID && first.Secret == opsim.DefaultClientSecret && o.clientSecret == "" {
		curlSecret = first.Secret
	}
	fmt.Fprintf(w, "opsim: get a token:\n  curl -s -u '%s:%s' -d grant_type=client_credentials %s/v1beta1/users/oauth2/token\n",
		first.ID, curlSecret, baseURL)
}
