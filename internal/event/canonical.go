package event

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// hashID returns "<source>:sha256-<32 hex>" of the canonical JSON of raw
// (keys sorted), for sources without a native id.
func hashID(source string, raw any) string {
	h := sha256.New()
	w := canonicalWriter{h: h, buf: make([]byte, 0, 4<<10)}
	w.value(raw)
	w.flush()
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return source + ":sha256-" + hex.EncodeToString(sum[:16])
}

// canonicalWriter writes a decoded value as encoding/json.Marshal does,
// byte for byte (keys sorted, HTML characters and U+2028/U+2029 escaped,
// numbers formatted as ES6 does), to a hash, through a small buffer. It
// is several times faster than Marshal, which reflects on every value,
// and hashing a 1 MiB document must stay cheap. TestCanonicalMatchesMarshal
// and FuzzParserMatchesEncodingJSON check that the bytes are the same, so
// that event ids do not change.
type canonicalWriter struct {
	h       hash.Hash
	buf     []byte
	members []member // a stack of the members of the open objects
}

func (w *canonicalWriter) flush() {
	w.h.Write(w.buf)
	w.buf = w.buf[:0]
}

func (w *canonicalWriter) room() {
	if len(w.buf) >= cap(w.buf)-64 {
		w.flush()
	}
}

func (w *canonicalWriter) value(v any) {
	w.room()
	switch v := v.(type) {
	case nil:
		w.buf = append(w.buf, "null"...)
	case bool:
		w.buf = strconv.AppendBool(w.buf, v)
	case float64:
		w.buf = appendFloat(w.buf, v)
	case string:
		w.str(v)
	case []any:
		w.buf = append(w.buf, '[')
		for i, e := range v {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.value(e)
		}
		w.room()
		w.buf = append(w.buf, ']')
	case map[string]any:
		// Sort the members, not the keys: looking each value up again
		// in a large map is a cache miss per key.
		base := len(w.members)
		for k, x := range v {
			w.members = push(w.members, member{k, x})
		}
		ms := w.members[base:]
		sortMembers(ms, 0)
		w.buf = append(w.buf, '{')
		for i, kv := range ms {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.str(kv.key)
			w.room()
			w.buf = append(w.buf, ':')
			w.value(kv.val)
		}
		clear(ms)
		w.members = w.members[:base]
		w.room()
		w.buf = append(w.buf, '}')
	default:
		// The parser makes no other type; Marshal would fail too.
		w.buf = append(w.buf, "null"...)
	}
}

// appendFloat formats f as encoding/json does.
func appendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9.
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// str writes a JSON string as encoding/json does with HTML escaping (see
// AppendJSONString), in pieces cut at rune starts: the bytes buffered stay
// below the buffer's capacity, so it never grows.
func (w *canonicalWriter) str(s string) {
	w.room()
	w.buf = append(w.buf, '"')
	// An escape is at most 6 bytes a byte of input.
	piece := max(1, (cap(w.buf)-64)/6)
	for len(s) > 0 {
		n := min(piece, len(s))
		for n < len(s) && !utf8.RuneStart(s[n]) {
			n++
		}
		if len(w.buf)+6*n >= cap(w.buf)-16 {
			w.flush()
		}
		w.buf = appendEscaped(w.buf, s[:n], true)
		s = s[n:]
	}
	w.room()
	w.buf = append(w.buf, '"')
}

// smallSort is the size under which sortMembers compares keys instead of
// distributing them by byte.
const smallSort = 32

// sortMembers sorts ms by key, in byte order (as encoding/json does), all
// keys sharing their first depth bytes. It is an in-place MSD radix sort
// (American flag sort): its work is proportional to the bytes of the keys
// it has to look at, where a comparison sort of 100,000 keys makes about
// 1.7 million comparisons. Keys of one object are distinct.
func sortMembers(ms []member, depth int) {
	for len(ms) > smallSort {
		var count [257]int
		for i := range ms {
			count[keyByte(ms[i].key, depth)]++
		}
		if count[keyByte(ms[0].key, depth)] == len(ms) {
			// Every key has the same byte here: look one further.
			depth++
			continue
		}
		var start, next [257]int
		sum := 0
		for b := range count {
			start[b], next[b] = sum, sum
			sum += count[b]
		}
		for b := range count {
			end := start[b] + count[b]
			for next[b] < end {
				x := ms[next[b]]
				for c := keyByte(x.key, depth); c != b; c = keyByte(x.key, depth) {
					ms[next[c]], x = x, ms[next[c]]
					next[c]++
				}
				ms[next[b]] = x
				next[b]++
			}
		}
		// Bucket 0 holds the key that ends here, at most one.
		for b := 1; b < len(count); b++ {
			if count[b] > 1 {
				sortMembers(ms[start[b]:start[b]+count[b]], depth+1)
			}
		}
		return
	}
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
}

// keyByte is the bucket of key at depth: 0 when the key ends before it,
// else the byte plus one.
func keyByte(key string, depth int) int {
	if depth >= len(key) {
		return 0
	}
	return int(key[depth]) + 1
}
