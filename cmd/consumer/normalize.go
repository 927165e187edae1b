package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	fs.SetOutput(io.Discard)
	formatName := fs.String("format", "", "")
	raw := fs.Bool("raw", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(s.out, normalizeUsage)
			return 0
		}
		fmt.Fprintf(s.err, "consumer normalize: %v\n\n%s", err, normalizeUsage)
		return 2
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
		n.stream(ctx, "stdin", data)
		return
	}
	data, err := os.ReadFile(name)
	if err != nil {
		n.report(name, 0, "read", err)
		return
	}
	n.decode(name, 0, data)
}

// stream decodes every document of data (JSON lines or concatenated).
func (n *normalizer) stream(ctx context.Context, name string, data []byte) {
	line := 1
	for len(bytes.TrimSpace(data)) > 0 && ctx.Err() == nil {
		skipped := len(data) - len(bytes.TrimLeft(data, " \t\r\n"))
		line += bytes.Count(data[:skipped], []byte("\n"))
		data = data[skipped:]
		doc := data[:documentEnd(data)]
		evs, err := n.dec.Decode(doc, n.format)
		if nl := bytes.IndexByte(doc, '\n'); nl >= 0 && event.Reason(err) == event.ReasonInvalidJSON {
			// A broken JSON line must not swallow the lines after it:
			// report that line alone and resume on the next one.
			doc = doc[:nl]
			_, err = n.dec.Decode(doc, n.format)
		}
		n.emit(name, line, evs, err)
		line += bytes.Count(doc, []byte("\n"))
		data = data[len(doc):]
	}
}

// documentEnd returns the length of the JSON document at the start of b:
// up to the bracket closing the first one, or up to white space for a
// scalar. Strings are skipped; a document left open runs to the end.
func documentEnd(b []byte) int {
	if b[0] != '{' && b[0] != '[' {
		if i := bytes.IndexAny(b, " \t\r\n"); i > 0 {
			return i
		}
		return len(b)
	}
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		}
	}
	return len(b)
}

func (n *normalizer) decode(name string, line int, doc []byte) {
	evs, err := n.dec.Decode(doc, n.format)
	n.emit(name, line, evs, err)
}

// emit prints the events and reports the error, if any.
func (n *normalizer) emit(name string, line int, evs []event.Event, err error) {
	for i := range evs {
		if !n.raw {
			evs[i].Raw = nil
		}
		if werr := n.enc.Encode(evs[i]); werr != nil {
			n.report(name, line, "write", werr)
			return
		}
	}
	if err != nil {
		n.report(name, line, event.Reason(err), err)
	}
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
