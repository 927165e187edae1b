package rules

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/tripline-dev/tripline/internal/event"
)

// A replay reads lines in chunks; a chunk is decoded by one worker (any
// chunk on any worker: decoding has no state), then its events are
// evaluated by every worker at once, each taking the events of the users
// that hash to it, in input order. Chunks are evaluated one after the
// other, in input order, while later chunks decode. So the events of one
// user are evaluated in input order, as count() needs to see them, and
// evaluation runs on every core.
const (
	chunkLines = 128
	chunkBytes = 128 << 10
)

// reasonFutureTime is the decode reason of an event dated too far ahead,
// pipeline.ReasonFutureTime (which this package cannot import):
// TestCmdReplayClockSkewConfig in cmd/consumer fails if they drift
// apart.
const reasonFutureTime = "future_time"

// chunk is a run of input lines, copied out of the scanner's buffer.
type chunk struct {
	first int    // the line number of the first line
	data  []byte // the lines, one after the other
	ends  []int  // where each line ends in data
}

// replayLine is what one input line gave.
type replayLine struct {
	line int
	evs  []event.Event // the events to evaluate
	err  error         // the decode error, if any
	// future holds the reports of its events dated too far ahead, which
	// are not in evs, and futures how many there were.
	future  []byte
	futures int
	// res holds what each event gave, filled by evaluate.
	res []replayResult
}

// replayResult is what evaluating one event gave: its decision lines and
// rule error lines, ready to print, and the rule ids of its decisions.
type replayResult struct {
	out, errs []byte
	decisions []string
	ruleErrs  int
}

// readChunks sends the lines of in to chunks, in chunks of at most
// chunkLines lines or about chunkBytes bytes, taking their buffers from
// free when it has some. It returns how many lines it read and the read
// error, if any.
func readChunks(ctx context.Context, in io.Reader, chunks chan<- chunk, free <-chan []byte) (int, error) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), event.DefaultMaxBytes+1)
	line := 0
	newChunk := func(size int) chunk {
		select {
		case b := <-free:
			if cap(b) >= size {
				return chunk{first: line + 1, data: b[:0]}
			}
		default:
		}
		return chunk{first: line + 1, data: make([]byte, 0, max(size, chunkBytes))}
	}
	var c chunk
	send := func() bool {
		if len(c.ends) == 0 {
			return true
		}
		select {
		case chunks <- c:
			c = chunk{}
			return true
		case <-ctx.Done():
			return false
		}
	}
	for sc.Scan() {
		b := sc.Bytes()
		if len(c.ends) > 0 && len(c.data)+len(b) > cap(c.data) && !send() {
			return line, nil
		}
		if c.data == nil {
			c = newChunk(len(b))
		}
		line++
		c.data = append(c.data, b...)
		c.ends = append(c.ends, len(c.data))
		if len(c.ends) == chunkLines && !send() {
			return line, nil
		}
	}
	if !send() {
		return line, nil
	}
	return line, sc.Err()
}

// decodeChunk decodes the lines of a chunk, then hands its buffer back to
// the reader: nothing Decode returns points into the message it decodes.
// It runs on any worker.
func (r *replayer) decodeChunk(_ context.Context, c chunk) []replayLine {
	defer func() {
		select {
		case r.free <- c.data:
		default:
		}
	}()
	lines := make([]replayLine, len(c.ends))
	start := 0
	for i, end := range c.ends {
		value := c.data[start:end]
		start = end
		lines[i].line = c.first + i
		if len(trimSpace(value)) == 0 {
			continue
		}
		lines[i].evs, lines[i].err = r.decode(value)
		r.dropFuture(&lines[i])
	}
	return lines
}

// dropFuture takes out of l the events dated more than maxSkew ahead of
// the clock and reports each as the consumer dead-letters it,
// decode/future_time: evaluated, such an event could fill a count()
// window so that real events no longer count. The replay has no Kafka
// record, so only the event's time is checked.
func (r *replayer) dropFuture(l *replayLine) {
	if r.maxSkew <= 0 {
		return
	}
	limit := r.now.Add(r.maxSkew)
	n := 0
	for i := range l.evs {
		ev := &l.evs[i]
		if !ev.Time.After(limit) {
			if n != i {
				l.evs[n] = *ev
			}
			n++
			continue
		}
		l.futures++
		l.future = fmt.Appendf(l.future, "line %d: decode (%s): ", l.line, reasonFutureTime)
		if ev.EventID != "" {
			l.future = fmt.Appendf(l.future, "event %s: ", ev.EventID)
		}
		l.future = fmt.Appendf(l.future, "event time %s is more than %s (event.max_clock_skew) ahead of the clock\n", ev.Time.UTC().Format(time.RFC3339), r.maxSkew)
	}
	clear(l.evs[n:])
	l.evs = l.evs[:n]
}

// trimSpace returns b without leading and trailing spaces, tabs and
// carriage returns.
func trimSpace(b []byte) []byte {
	i, j := 0, len(b)
	for i < j && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	for j > i && (b[j-1] == ' ' || b[j-1] == '\t' || b[j-1] == '\r') {
		j--
	}
	return b[i:j]
}
