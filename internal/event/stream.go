package event

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// DecodeStream decodes every JSON document of data, a stream of them: JSON
// lines, documents spread over several lines, or several to a line (as
// `consumer normalize` reads standard input). It calls yield in order with
// the line each document starts on (from 1), its events and Decode's
// error, and stops when yield returns false or ctx is done.
//
// There is no hand-written JSON splitter (there was: a bracket-counting
// byte loop). A line is first given to Decode as it is: in JSON lines, the
// usual input, it is one document, and a document cannot hold a raw
// newline. Only when Decode says the line is not one JSON text does
// encoding/json's Decoder split the input from that line on (as
// json.RawMessage, so Decode still sees the exact bytes), until a document
// ends a line. Splitting everything with the Decoder would make
// `consumer normalize` 1.6 times slower on JSON lines
// (cmd/consumer's BenchmarkNormalizeSplit, 5,000 generated lines of about 1 KiB: the
// Decoder splits them in 54 ms where the byte loop took 4.6 ms, next to
// 75 ms of event decoding; the whole command took 84 ms with the byte
// loop, 131-141 ms with the Decoder alone, and 78 ms as it is).
//
// A document the Decoder cannot read (a syntax error, nesting deeper than
// it allows) is reported alone, at its first line, with the error Decode
// gives that line, and reading resumes on the next line, so that a broken
// line does not swallow the lines after it.
func (d *Decoder) DecodeStream(ctx context.Context, data []byte, f Format, yield func(line int, evs []Event, err error) bool) {
	s := stream{dec: d, format: f, data: data, yield: yield}
	pos, line := 0, 1
	for pos < len(data) && ctx.Err() == nil {
		end := s.lineEnd(pos)
		if text := data[pos:end]; len(bytes.TrimSpace(text)) > 0 {
			evs, err := d.Decode(text, f)
			switch {
			case Reason(err) == ReasonInvalidJSON:
				var more bool
				end, line, more = s.split(ctx, pos, line)
				if !more {
					return
				}
			case !yield(line, evs, err):
				return
			}
		}
		pos, line = end+1, line+1
	}
}

// stream is one DecodeStream call.
type stream struct {
	dec    *Decoder
	format Format
	data   []byte
	yield  func(line int, evs []Event, err error) bool
}

// lineEnd returns where the line holding i ends: its newline, or len(data).
func (s *stream) lineEnd(i int) int {
	if nl := bytes.IndexByte(s.data[i:], '\n'); nl >= 0 {
		return i + nl
	}
	return len(s.data)
}

// split decodes the documents of data from pos, on line line, with
// json.Decoder, until one ends a line or cannot be read. It returns where
// that line ends, its number, and false if yield asked to stop.
func (s *stream) split(ctx context.Context, pos, line int) (int, int, bool) {
	data := s.data
	jd := json.NewDecoder(bytes.NewReader(data[pos:]))
	for ctx.Err() == nil {
		var raw json.RawMessage
		err := jd.Decode(&raw)
		if err == io.EOF {
			return len(data), line, true
		}
		// The document starts after the white space that follows pos.
		start := pos + len(data[pos:]) - len(bytes.TrimLeft(data[pos:], " \t\r\n"))
		line += bytes.Count(data[pos:start], []byte("\n"))
		if err != nil {
			end := s.lineEnd(start)
			_, derr := s.dec.Decode(data[start:end], s.format)
			if derr == nil {
				derr = fmt.Errorf("invalid json: %w", err)
			}
			return end, line, s.yield(line, nil, derr)
		}
		evs, derr := s.dec.Decode(raw, s.format)
		if !s.yield(line, evs, derr) {
			return len(data), line, false
		}
		pos = start + len(raw)
		line += bytes.Count(raw, []byte("\n"))
		if end := s.lineEnd(pos); len(bytes.TrimSpace(data[pos:end])) == 0 {
			return end, line, true
		}
	}
	return len(data), line, true
}
