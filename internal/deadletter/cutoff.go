package deadletter

import (
	"strconv"

	"github.com/segmentio/kafka-go"
)

// Headers of a fetched record whose compressed value inflated past
// kafka.max_bytes and was cut off while inflating
// (kafkaio.BoundDecompression): the record has no value;
// HeaderInflateTooLarge holds its declared size and
// HeaderInflateCompressed the compressed size of its batch. The ledger
// knows the first one as ledger.HeaderCutOff.
const (
	HeaderInflateTooLarge   = "tripline.inflate.too_large"
	HeaderInflateCompressed = "tripline.inflate.compressed"
)

// CutOff is the mark of a record cut off while inflating.
type CutOff struct {
	// Size is the size the value declared; Compressed the size of its
	// compressed batch.
	Size, Compressed int64
}

// Headers are the mark's headers, as kafkaio writes them.
func (c CutOff) Headers() []kafka.Header {
	return []kafka.Header{
		{Key: HeaderInflateTooLarge, Value: []byte(strconv.FormatInt(c.Size, 10))},
		{Key: HeaderInflateCompressed, Value: []byte(strconv.FormatInt(c.Compressed, 10))},
	}
}

// CutOffOf reads the mark of a fetched message: ok is false when it has a
// value, or no mark (or one that does not parse: a producer's, not
// kafkaio's).
func CutOffOf(m kafka.Message) (c CutOff, ok bool) {
	if len(m.Value) != 0 {
		return CutOff{}, false
	}
	size, compressed := "", ""
	for _, h := range m.Headers {
		switch {
		case h.Key == HeaderInflateTooLarge && size == "":
			size = string(h.Value)
		case h.Key == HeaderInflateCompressed && compressed == "":
			compressed = string(h.Value)
		}
	}
	var err error
	if c.Size, err = strconv.ParseInt(size, 10, 64); err != nil {
		return CutOff{}, false
	}
	c.Compressed, _ = strconv.ParseInt(compressed, 10, 64)
	return c, true
}
