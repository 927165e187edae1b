package kafkaio

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/segmentio/kafka-go/compress"

	"github.com/tripline-dev/tripline/internal/deadletter"
)

// maxKeptKey is the largest key a cut-off record keeps.
const maxKeptKey = 1 << 10

var (
	inflateLimit atomic.Int64
	installOnce  sync.Once
)

// BoundDecompression makes every reader of this process inflate compressed
// record batches within max bytes: a record that would inflate past max, or
// past what is left of max for its batch, is replaced while inflating by a
// record with the same offset and timestamp, no value, and the headers
// deadletter.HeaderInflateTooLarge and deadletter.HeaderInflateCompressed (its
// declared size and its batch's compressed size), and the rest of its
// bytes are discarded as they inflate. So a few kilobytes of zstd that
// inflate to gigabytes cost at most max bytes of memory, and the pipeline
// dead-letters that record (decode/too_large) instead of the process dying
// on it. max <= 0 lifts the bound.
//
// kafka-go decompresses through a process-wide codec table; this wraps its
// entries once and keeps the bound in an atomic, so calling it again only
// changes the bound. It understands the record format of Kafka 0.11 and
// later (message format v2), the only one Kafka 4 supports.
func BoundDecompression(max int) {
	inflateLimit.Store(int64(max))
	installOnce.Do(func() {
		for i, c := range compress.Codecs {
			if c != nil {
				compress.Codecs[i] = boundedCodec{Codec: c}
			}
		}
	})
}

// boundedCodec inflates through its Codec within inflateLimit.
type boundedCodec struct{ compress.Codec }

// NewReader implements compress.Codec.
func (c boundedCodec) NewReader(r io.Reader) io.ReadCloser {
	inner := c.Codec.NewReader(r)
	max := inflateLimit.Load()
	if max <= 0 {
		return inner
	}
	compressed := int64(-1)
	if lr, ok := r.(*io.LimitedReader); ok {
		compressed = lr.N
	}
	return &boundedReader{inner: inner, in: bufio.NewReader(inner), budget: max, perRecord: max, compressed: compressed}
}

// boundedReader re-emits the records of an inflating v2 record batch, one
// by one, cutting off those that do not fit.
type boundedReader struct {
	inner      io.ReadCloser
	in         *bufio.Reader
	budget     int64 // bytes the batch may still inflate to
	perRecord  int64
	compressed int64
	out        []byte // bytes of the current record not yet read
	err        error
}

// Close implements io.Closer.
func (b *boundedReader) Close() error { return b.inner.Close() }

// Read implements io.Reader.
func (b *boundedReader) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		b.err = b.next()
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n, nil
}

// next reads the next record from the inflating stream into b.out, or a
// cut-off record in its place. It returns io.EOF at the end of the batch.
func (b *boundedReader) next() error {
	length, err := binary.ReadVarint(b.in)
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	if err != nil {
		return fmt.Errorf("inflate record length: %w", err)
	}
	if length < 0 {
		return fmt.Errorf("inflate: negative record length %d", length)
	}
	if length <= b.perRecord && length <= b.budget {
		b.budget -= length
		b.out = binary.AppendVarint(b.out[:0], length)
		start := len(b.out)
		b.out = append(b.out, make([]byte, length)...)
		if _, err := io.ReadFull(b.in, b.out[start:]); err != nil {
			return fmt.Errorf("inflate record: %w", noEOF(err))
		}
		return nil
	}
	return b.cut(length)
}

// cut reads the head of a record that does not fit (attributes, timestamp
// and offset deltas, key), discards the rest as it inflates, and emits a
// record with the same head, no value and the cut-off headers.
func (b *boundedReader) cut(length int64) error {
	r := &countingReader{r: b.in}
	attrs, err := r.ReadByte()
	if err != nil {
		return fmt.Errorf("inflate cut record: %w", noEOF(err))
	}
	tsDelta, err1 := binary.ReadVarint(r)
	offDelta, err2 := binary.ReadVarint(r)
	keyLen, err3 := binary.ReadVarint(r)
	if err := errors.Join(err1, err2, err3); err != nil {
		return fmt.Errorf("inflate cut record: %w", noEOF(err))
	}
	var key []byte
	if keyLen > 0 && keyLen <= maxKeptKey && keyLen < length {
		key = make([]byte, keyLen)
		if _, err := io.ReadFull(r, key); err != nil {
			return fmt.Errorf("inflate cut record key: %w", noEOF(err))
		}
	}
	if rest := length - r.n; rest > 0 {
		if _, err := io.CopyN(io.Discard, b.in, rest); err != nil {
			return fmt.Errorf("inflate cut record: %w", noEOF(err))
		}
	}
	body := []byte{attrs}
	body = binary.AppendVarint(body, tsDelta)
	body = binary.AppendVarint(body, offDelta)
	if key == nil {
		body = binary.AppendVarint(body, -1)
	} else {
		body = binary.AppendVarint(body, int64(len(key)))
		body = append(body, key...)
	}
	body = binary.AppendVarint(body, -1) // no value
	body = binary.AppendVarint(body, 2)  // headers
	for _, h := range (deadletter.CutOff{Size: length, Compressed: b.compressed}).Headers() {
		body = binary.AppendVarint(body, int64(len(h.Key)))
		body = append(body, h.Key...)
		body = binary.AppendVarint(body, int64(len(h.Value)))
		body = append(body, h.Value...)
	}
	b.budget = max(0, b.budget-int64(len(body)))
	b.out = append(binary.AppendVarint(b.out[:0], int64(len(body))), body...)
	return nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// noEOF turns an end of stream inside a record into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
