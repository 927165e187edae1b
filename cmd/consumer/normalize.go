package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tripline-dev/tripline/internal/event"
)

const normalizeUsage = `Usage: consumer normalize [--format F] [--raw] [FILE...]

Print the normalized sign-in record of each JSON event, one JSON object per
line. Each FILE holds one JSON document; with no FILE (or "-"), standard
input is read and may hold one document, JSON lines or concatenated
documents. A batch document (Entra records, CloudTrail Records, Okta event
hook, 1Password or Google pages) prints one record per item.

Flags:
  --format F   pin the format instead of detecting it
  --raw        add the decoded source document under "raw"
  --help       show this help

Formats: auto (default), ocsf, ecs, elastic-alert, okta, entra, 1password,
gws, cloudtrail, guardduty, generic (default generic mapping: flat keys,
Splunk result.*, Panther alertContext.*).

On bad input the command prints "consumer normalize: FILE[:LINE]: REASON:
message" on standard error, still prints the good records, and exits 1.
Reason codes: empty, too_large, invalid_utf8, invalid_json, too_deep,
not_object, unknown_format, no_user, bad_field, empty_batch, partial.

Examples:
  consumer normalize testdata/events/okta-session-start-risky.json
  consumer normalize --format entra --raw records.json
  kcat -C -t signins -e | consumer normalize
  consumer normalize < events.jsonl | jq 'select(.risk == "high")'
`

// cmdNormalize implements `consumer normalize`.
func cmdNormalize(ctx context.Context, args []string, s streams) int {
	fs := flag.NewFlagSet("normalize", flag.ContinueOnError)
	formatName := fs.String("format", "", "")
	raw := fs.Bool("raw", false, "")
	if code, ok := parseFlags(fs, args, s, "normalize", normalizeUsage, false); !ok {
		return code
	}
	format, err := event.ParseFormat(*formatName)
	if err != nil {
		fmt.Fprintf(s.err, "consumer normalize: %v\n", err)
		return 2
	}
	dec, err := event.NewDecoder(event.Config{})
	if err != nil {
		fmt.Fprintf(s.err, "consumer normalize: %v\n", err)
		return 1
	}
	n := normalizer{dec: dec, format: format, raw: *raw, s: s, enc: json.NewEncoder(s.out)}
	n.enc.SetEscapeHTML(false)
	files := fs.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}
	for _, f := range files {
		if ctx.Err() != nil {
			break
		}
		n.file(ctx, f)
	}
	if n.failed || ctx.Err() != nil {
		return 1
	}
	return 0
}

type normalizer struct {
	dec    *event.Decoder
	format event.Format
	raw    bool
	s      streams
	enc    *json.Encoder
	failed bool
}

func (n *normalizer) file(ctx context.Context, name string) {
	if name == "-" {
		data, err := io.ReadAll(n.s.in)
		if err != nil {
			n.report("stdin", 0, "read", err)
			return
		}
		n.dec.DecodeStream(ctx, data, n.format, func(line int, evs []event.Event, err error) bool {
			return n.emit("stdin", line, evs, err)
		})
		return
	}
	data, err := os.ReadFile(name)
	if err != nil {
		n.report(name, 0, "read", err)
		return
	}
	evs, err := n.dec.Decode(data, n.format)
	n.emit(name, 0, evs, err)
}

// emit prints the events and reports the error, if any. It always
// returns true: a bad document does not stop the stream.
func (n *normalizer) emit(name string, line int, evs []event.Event, err error) bool {
	for i := range evs {
		if !n.raw {
			evs[i].Raw = nil
		}
		if werr := n.enc.Encode(evs[i]); werr != nil {
			n.report(name, line, "write", werr)
			return true
		}
	}
	if err != nil {
		n.report(name, line, event.Reason(err), err)
	}
	return true
}

func (n *normalizer) report(name string, line int, reason string, err error) {
	n.failed = true
	where := name
	if line > 0 {
		where = fmt.Sprintf("%s:%d", name, line)
	}
	msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "decode: "), "decode ")
	fmt.Fprintf(n.s.err, "consumer normalize: %s: %s: %s\n", where, reason, msg)
}
