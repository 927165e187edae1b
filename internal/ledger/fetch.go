package ledger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
)

// catchUp applies partition p's records from offset pos up to end (the
// high-water mark Load listed) and returns the next offset to fetch.
func (t *Table) catchUp(ctx context.Context, p int, pos, end int64) (int64, error) {
	f := t.newFetcher(p)
	for pos < end {
		res, from, err := f.fetch(ctx, pos)
		if err != nil {
			return pos, err
		}
		pos = from
		next, err := t.consume(p, res.Records, pos)
		if err != nil {
			return pos, fmt.Errorf("partition %d at offset %d: read records: %w", p, pos, err)
		}
		if next == pos {
			// The broker had nothing readable between pos and end (the
			// rest was compacted away, or holds only batches kafka-go
			// cannot show): there is nothing more to catch up with.
			t.log.Debug("nothing readable below the high-water mark", "partition", p, "offset", pos, "end", end)
			break
		}
		pos = next
	}
	return pos, nil
}

// tail applies partition p's new records until ctx is done, starting at the
// offset Load stopped at.
func (t *Table) tail(ctx context.Context, p int) error {
	f := t.newFetcher(p)
	pos := t.next[p]
	for {
		res, from, err := f.fetch(ctx, pos)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		pos = from
		next, err := t.consume(p, res.Records, pos)
		if err != nil {
			// A garbled response: fetch the same offset again.
			rerr := f.retry(ctx, pos, fmt.Errorf("read records: %w", err))
			if ctx.Err() != nil {
				return nil
			}
			if rerr != nil {
				return rerr
			}
			continue
		}
		if next == pos && res.HighWatermark > pos {
			// Records exist past pos but none came back: do not spin
			// on immediate empty answers.
			if wait(ctx, t.cfg.FetchMaxWait) != nil {
				return nil
			}
		}
		pos = next
		t.next[p] = pos
		t.advance(p, pos)
	}
}

// fetcher fetches one partition, retrying failures with backoff until they
// have lasted longer than the table's failure budget.
type fetcher struct {
	t       *Table
	p       int
	b       *backoff.ExponentialBackOff
	attempt int
}

// fetchRetryMaxInterval is the longest wait between two failed fetches.
// A broker failover elects the partition's new leader within seconds; a
// longer wait would leave the table behind for that much longer, and every
// Sync (the breaker's count before each suspension) waiting for it.
const fetchRetryMaxInterval = time.Second

func (t *Table) newFetcher(p int) *fetcher {
	return &fetcher{t: t, p: p, b: backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(100*time.Millisecond),
		backoff.WithMaxInterval(fetchRetryMaxInterval),
		backoff.WithMaxElapsedTime(t.maxFailure),
	)}
}

// fetch returns the records of the partition from offset pos on, waiting up
// to FetchMaxWait for some to arrive, and the offset it fetched from: the
// log start instead of pos if the records at pos were deleted. It returns
// an error when ctx is done or when fetches have failed for longer than the
// failure budget.
func (f *fetcher) fetch(ctx context.Context, pos int64) (*kafka.FetchResponse, int64, error) {
	for {
		res, err := f.t.client.Fetch(ctx, &kafka.FetchRequest{
			Topic:     f.t.cfg.Topic,
			Partition: f.p,
			Offset:    pos,
			MinBytes:  1,
			MaxBytes:  fetchMaxBytes,
			MaxWait:   f.t.cfg.FetchMaxWait,
		})
		if err == nil {
			err = res.Error
		}
		if err == nil {
			f.b.Reset()
			f.attempt = 0
			return res, pos, nil
		}
		if ctx.Err() != nil {
			return nil, pos, ctx.Err()
		}
		if errors.Is(err, kafka.OffsetOutOfRange) {
			first, ok := f.logStart(ctx)
			if ok && pos < first {
				// The records before first were deleted (retention
				// with compact,delete, or DeleteRecords): go on
				// from the log start.
				f.t.log.Warn("ledger records were deleted before they were read; skipping to the log start",
					"partition", f.p, "offset", pos, "log_start", first)
				pos = first
				continue
			}
			// Otherwise pos is past the end: the topic was truncated or
			// recreated, or a new leader is still catching up.
			err = fmt.Errorf("%w (the topic may have been truncated or recreated; restart to reload it)", err)
		}
		if rerr := f.retry(ctx, pos, err); rerr != nil {
			return nil, pos, rerr
		}
	}
}

// retry logs a failed fetch and waits before the next attempt. It returns
// an error when ctx is done or the failure budget is spent.
func (f *fetcher) retry(ctx context.Context, pos int64, err error) error {
	f.attempt++
	d := f.b.NextBackOff()
	if d == backoff.Stop {
		return fmt.Errorf("fetch partition %d at offset %d: failing for more than %s: %w", f.p, pos, f.t.maxFailure, err)
	}
	f.t.log.Warn("ledger fetch failed; retrying", "partition", f.p, "offset", pos, "attempt", f.attempt,
		"wait", d.String(), "error", err.Error())
	return wait(ctx, d)
}

// logStart returns the partition's first offset.
func (f *fetcher) logStart(ctx context.Context) (int64, bool) {
	res, err := f.t.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{
		Topics: map[string][]kafka.OffsetRequest{f.t.cfg.Topic: {kafka.FirstOffsetOf(f.p)}},
	})
	if err != nil {
		return 0, false
	}
	for _, po := range res.Topics[f.t.cfg.Topic] {
		if po.Partition == f.p && po.Error == nil {
			return po.FirstOffset, true
		}
	}
	return 0, false
}

// consume offers the records of a fetch response of partition p at offset
// pos or later to the table and returns the next offset to fetch. Transaction markers are
// stepped over. Records without a key are not ledger records: they are
// skipped.
func (t *Table) consume(p int, rr kafka.RecordReader, pos int64) (next int64, err error) {
	batches := []kafka.RecordReader{rr}
	if s, ok := rr.(*protocol.RecordStream); ok {
		batches = s.Records // keeps control batches, which the stream hides
	}
	for _, b := range batches {
		if cb, ok := b.(*protocol.ControlBatch); ok {
			for {
				cr, err := cb.ReadControlRecord()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return pos, err
				}
				pos = max(pos, cr.Offset+1)
			}
			continue
		}
		for {
			rec, err := b.ReadRecord()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return pos, err
			}
			key, value, err := readRecord(rec)
			if err != nil {
				return pos, err
			}
			signature := headerValue(rec.Headers, HeaderSignature)
			if value == nil && headerValue(rec.Headers, HeaderCutOff) != "" {
				// Not a tombstone: a value cut off while inflating.
				value = []byte{}
			}
			if rec.Offset < pos {
				continue // batches may start before the offset asked for
			}
			pos = rec.Offset + 1
			if len(key) == 0 {
				t.log.Warn("skipping a record without a key", "offset", rec.Offset)
				continue
			}
			t.state.offerRead(p, string(key), value, signature, rec.Offset)
		}
	}
	return pos, nil
}

// readRecord copies a record's key and value out of the fetch buffers; a
// nil value (a tombstone) stays nil.
func readRecord(rec *kafka.Record) (key, value []byte, err error) {
	if rec.Key != nil {
		defer rec.Key.Close()
	}
	if rec.Value != nil {
		defer rec.Value.Close()
	}
	if key, err = kafka.ReadAll(rec.Key); err != nil {
		return nil, nil, err
	}
	if value, err = kafka.ReadAll(rec.Value); err != nil {
		return nil, nil, err
	}
	return key, value, nil
}

// headerValue returns the value of the last header named name ("" when
// there is none).
func headerValue(headers []kafka.Header, name string) string {
	v := ""
	for _, h := range headers {
		if h.Key == name {
			v = string(h.Value)
		}
	}
	return v
}
