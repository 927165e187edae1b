package event

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// errTooDeep is returned by parseJSON when nesting exceeds the limit.
var errTooDeep = errors.New("nesting too deep")

// errTooManyItems and errTooManyKeys are returned by parseDocument when
// an array nested at most spanDepth deep has more elements, or an object
// more keys, than its maxItems.
var (
	errTooManyItems = errors.New("too many items")
	errTooManyKeys  = errors.New("too many keys")
)

// document is one parsed message: its value, and what the parser noticed
// that the value alone does not show. It lives for one Decode call.
type document struct {
	value any
	// text is the message; Decode reads it only while it runs.
	text []byte
	// dups holds, for each object that repeats a key, the repeated keys,
	// by the object's identity (see mapID). The value keeps the last
	// occurrence, as encoding/json does.
	dups map[uintptr]map[string]struct{}
	// arrays and spans locate in text the elements of every array nested
	// at most spanDepth deep: the batch envelopes.
	arrays []arraySpans
	spans  []span
	// maxItems is the most items of a batch, 0 for no limit.
	maxItems int
	// dotted is true when some key of the document has a '.', so that a
	// path may also be a literal dotted key (see fields.get).
	dotted bool
}

// tooMany reports whether n items or events are past maxItems.
func (doc *document) tooMany(n int) bool { return doc.maxItems > 0 && n > doc.maxItems }

// spanDepth is the deepest array whose element spans the parser records:
// {"records": [...]} is at depth 2, {"data": {"events": [...]}} at 3.
const spanDepth = 3

// span is the byte range [start, end) of a value in the message.
type span struct{ start, end int }

// arraySpans locates the element spans of one array: spans[off:off+n].
type arraySpans struct {
	first  *any // the array's first element, which identifies it
	off, n int
}

// mapID identifies a decoded object for the dups table. Maps never move,
// and the document keeps them alive while it is used.
func mapID(m map[string]any) uintptr { return reflect.ValueOf(m).Pointer() }

// repeated reports whether key appears more than once in the object m.
func (doc *document) repeated(m map[string]any, key string) bool {
	if doc == nil || len(doc.dups) == 0 {
		return false
	}
	_, ok := doc.dups[mapID(m)][key]
	return ok
}

// itemRaw returns a copy of the bytes of element i of items, an array the
// parser recorded (nested at most spanDepth deep), or nil.
func (doc *document) itemRaw(items []any, i int) []byte {
	if doc == nil || i < 0 || i >= len(items) {
		return nil
	}
	first := &items[0]
	for _, a := range doc.arrays {
		if a.first == first && a.n == len(items) {
			s := doc.spans[a.off+i]
			return bytes.Clone(doc.text[s.start:s.end])
		}
	}
	return nil
}

// parseJSON decodes one JSON value into the same generic shapes as
// encoding/json (map[string]any, []any, string, float64, bool, nil) in a
// single pass. Nesting is bounded by maxDepth, so recursion is too: a value
// nested deeper fails with errTooDeep as soon as the parser reaches the
// level past the limit. Invalid UTF-8 is an error: inside strings the
// parser validates it, and outside strings any byte that is not ASCII is a
// syntax error. So a value parsed without error is valid UTF-8 and within
// maxDepth. Repeated keys keep the last value, as in encoding/json.
//
// # Why a hand-written parser
//
// It is kept: with it the whole decode (Decoder.Decode: parse and
// normalize) is about 1.6 times faster on one goroutine than with the best
// alternative that keeps Decode's guarantees, no alternative keeps them
// alone, and `consumer replay` is 1.4 times faster with it. On two
// goroutines, and against the alternatives' bare trees, the margin is
// smaller (below). json_compare_test.go builds the same normalization on
// encoding/json, encoding/json/v2 (github.com/go-json-experiment/json),
// github.com/bytedance/sonic and github.com/valyala/fastjson, each giving
// the same generic tree, first bare (with only the UTF-8 and depth checks
// it lacks), then, for the two fastest, with every guarantee of Decode: a
// second, structural pass over the text for the depth limit, the item and
// key caps, the repeated keys of identity fields and the byte spans of
// batch items (ItemError.Raw, Event.ItemRaw), and utf8.Valid.
// TestDecodeParsersTable (-parsers-table), best of 40 rounds, ns per decode
// on one goroutine, 2-vCPU VM shared with other work, November 2026:
//
//	sample (format)              hand  enc/json  json/v2  sonic  fastjson  sonic+g  fastjson+g  bare  guaranteed
//	okta-session-start-risky    14840     38099    40109  20661     21002    23563       25309  1.39  1.59
//	gen-okta-1k (1 KiB)          9762     23541    26331  16372     15456    15822       17133  1.58  1.62
//	entra-risky-signin          14921     43638    43293  26697     21299    27164       27671  1.43  1.82
//	gen-entra-1k (1 KiB)         9614     20101    24128  14346     11472    15672       16920  1.19  1.63
//	ocsf-auth-3002-failure      13810     38455    44826  22312     20558    27043       27544  1.49  1.96
//	ocsf-2004-detection         11151     23465    27688  15388     12786    16990       18445  1.15  1.52
//	ecs-auth-failure            15057     38039    42126  25083     21845    26152       27166  1.45  1.74
//	elastic-alert               15642     40354    44997  24799     21053    30360       32657  1.35  1.94
//	onepassword-signinattempt    4444     11334    13067   6780      6932     6917        7929  1.53  1.56
//	gws-suspicious-login         6461     13405    15778   8268      8551     9347       10434  1.28  1.45
//	cloudtrail-consolelogin      5307     16495    17543   9744      8607    10863       10783  1.62  2.03
//	guardduty-finding            8228     22432    24395  14132     13159    14141       14300  1.60  1.72
//	generic-splunk-webhook       5444     10154    10173   6662      6768     6779        7545  1.22  1.25
//	corpus (23 documents)      234096    538954   598804 344180    316870   372473      399700  1.35  1.59
//	corpus, 2 goroutines       177939    339328   365010 243212    224822   267622      268411  1.26  1.50
//
// "bare" is the best bare alternative's time over the hand-written one's,
// "guaranteed" that of the best alternative with the guarantees. The best of 40
// rounds leaves out most garbage collection; BenchmarkDecodeParsers
// (median of 6, collection included) gave for the corpus 353 µs by hand,
// 484 fastjson, 553 sonic, 597 sonic+g: 1.37 bare and 1.69 guaranteed on
// one goroutine; with b.RunParallel, under the load of other jobs, only
// 1.15 and 1.20. Were the bare trees drop-in replacements, that would
// retire this parser. They are not: they lack what the normalizers read
// (repeated keys, item spans) and what Decode promises (caps; fastjson
// does not validate strings; sonic turns -0 into 0, which changes hashed
// event ids), and to keep the guarantees an alternative needs its own
// hand-written JSON scanner (the structural pass, 1.9-2.7 µs per KiB,
// BenchmarkDecodeParts). A switch would trade this parser for that scanner
// and a dependency (sonic brings a JIT and assembly, and falls back to
// encoding/json from Go 1.28), and slow the consumer: `consumer replay`
// of the 200,000 generated lines (BenchmarkReplay's) took 2.1-2.4 s (4.0-4.4
// s of CPU) with a scratch build whose Decode used json_compare_test.go's
// sonic+guarantees path, and 1.5-1.75 s (2.9-3.2 s) with this parser, the
// same decisions either way.
//
// FuzzParserMatchesEncodingJSON keeps the parser honest: it accepts exactly
// what encoding/json accepts (but invalid UTF-8 and nesting past the
// limit) and decodes it to the same values.
func parseJSON(b []byte, maxDepth int) (any, error) {
	doc, err := parseDocument(b, maxDepth, 0)
	if err != nil {
		return nil, err
	}
	return doc.value, nil
}

// parseDocument is parseJSON that also records repeated keys and the spans
// of the elements of shallow arrays. When maxItems is not 0, an array
// nested at most spanDepth deep (where batches are) with more elements
// fails with errTooManyItems, and an object with more keys (at any depth)
// with errTooManyKeys, as soon as the parser reaches the one past the
// limit. Arrays nested deeper are not limited: they are lists of values
// such as risk reasons, which the formats truncate.
//
// No string of the value aliases b: strings and keys are copied into
// chunks of at most arenaChunk bytes, so a string kept from the value keeps
// at most its chunk alive, not the whole message. Only the document reads
// b afterwards (for the bytes of batch items), and Decode drops it before
// returning.
func parseDocument(b []byte, maxDepth, maxItems int) (*document, error) {
	st := stackPool.Get().(*stacks)
	doc := &document{text: b, maxItems: maxItems}
	p := parser{b: b, maxDepth: maxDepth, maxItems: maxItems, doc: doc,
		members: st.members, elems: st.elems, spans: st.spans, scratch: st.scratch}
	v, err := p.value()
	if err == nil {
		p.skipSpace()
		if p.i < len(p.b) {
			err = p.errorf("unexpected %q after the value", p.b[p.i])
		}
	}
	st.put(p.members, p.elems, p.spans, p.scratch)
	if err != nil {
		return nil, err
	}
	doc.value = v
	return doc, nil
}

// stacks holds the member, element and span stacks and the scratch buffer
// of a parser between parses, so that parsing a message does not grow them
// from nothing again.
type stacks struct {
	members []member
	elems   []any
	spans   []span
	scratch []byte
}

// maxPooledStack bounds the capacity of the stacks kept for the next parse,
// so that one huge message does not pin its stacks' memory.
const maxPooledStack = 1024

var stackPool = sync.Pool{New: func() any { return new(stacks) }}

// put clears the stacks (an error leaves values on them) and returns them
// to the pool.
func (st *stacks) put(members []member, elems []any, spans []span, scratch []byte) {
	clear(members)
	clear(elems)
	st.members, st.elems, st.spans, st.scratch = members[:0], elems[:0], spans[:0], scratch[:0]
	if cap(st.members) > maxPooledStack {
		st.members = nil
	}
	if cap(st.elems) > maxPooledStack {
		st.elems = nil
	}
	if cap(st.spans) > maxPooledStack {
		st.spans = nil
	}
	if cap(st.scratch) > maxPooledStack {
		st.scratch = nil
	}
	stackPool.Put(st)
}

// arenaChunk is the most bytes of strings one chunk of a parser's arena
// holds (a longer string gets a chunk of its own).
const arenaChunk = 4 << 10

type parser struct {
	b        []byte
	i        int
	depth    int
	maxDepth int
	maxItems int
	doc      *document
	// members and elems are stacks shared by nested objects and arrays,
	// so each map and slice is allocated once at its final size; spans
	// is the stack of element spans of the open shallow arrays.
	members []member
	elems   []any
	spans   []span
	// scratch holds the decoded bytes of a string with escapes.
	scratch []byte
	// chunk is the arena chunk strings are copied into.
	chunk strings.Builder
	// boxes holds the string and number values of the document, so that
	// putting one in an interface does not allocate it alone (see box).
	strBoxes []string
	numBoxes []float64
}

// eface is the layout of an interface value. boxString and boxFloat build
// interface values whose data points into a slab of the parser instead of
// allocating each string header and number alone, as fast JSON decoders
// do: a 1 KiB sign-in takes 30 allocations instead of 59, and the corpus
// decodes 9% faster (TestDecodeParsersTable). The slab's element has the
// interface's dynamic type, and the garbage collector keeps a slab alive
// while any value points into it, so the values are ordinary interfaces
// for every reader (== and type switches included;
// FuzzParserMatchesEncodingJSON compares them with encoding/json's). A
// slab holds boxChunk values in document order, whose strings sit in one
// or two arena chunks, so keeping one item of a batch still keeps only a
// few KiB of its neighbours alive.
type eface struct {
	typ, data unsafe.Pointer
}

var (
	stringType  = func() unsafe.Pointer { var v any = ""; return (*eface)(unsafe.Pointer(&v)).typ }()
	float64Type = func() unsafe.Pointer { var v any = 0.0; return (*eface)(unsafe.Pointer(&v)).typ }()
)

const boxChunk = 32

// boxString returns s as an interface value whose data is a slot of the
// parser's string slab: one allocation per boxChunk values instead of one
// per value.
func (p *parser) boxString(s string) any {
	if len(p.strBoxes) == cap(p.strBoxes) {
		p.strBoxes = make([]string, 0, boxChunk)
	}
	p.strBoxes = append(p.strBoxes, s)
	var v any
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = stringType, unsafe.Pointer(&p.strBoxes[len(p.strBoxes)-1])
	return v
}

func (p *parser) boxFloat(f float64) any {
	if len(p.numBoxes) == cap(p.numBoxes) {
		p.numBoxes = make([]float64, 0, boxChunk)
	}
	p.numBoxes = append(p.numBoxes, f)
	var v any
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = float64Type, unsafe.Pointer(&p.numBoxes[len(p.numBoxes)-1])
	return v
}

type member struct {
	key string
	val any
}

// intern copies b into the arena and returns it as a string. A chunk is
// never written again where it was read, so earlier strings stay valid
// (strings.Builder only appends). A new chunk is no larger than what is
// left of the message, so small messages make small chunks.
func (p *parser) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if p.chunk.Cap()-p.chunk.Len() < len(b) {
		p.chunk = strings.Builder{}
		p.chunk.Grow(max(len(b), min(arenaChunk, len(p.b)-p.i)))
	}
	start := p.chunk.Len()
	p.chunk.Write(b)
	return p.chunk.String()[start:]
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *parser) skipSpace() {
	for p.i < len(p.b) && isSpace(p.b[p.i]) {
		p.i++
	}
}

func (p *parser) value() (any, error) {
	p.skipSpace()
	if p.i >= len(p.b) {
		return nil, p.errorf("unexpected end of input")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		str, err := p.str()
		if err != nil || str == "" {
			return str, err
		}
		return p.boxString(str), nil
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		f, err := p.number()
		if err != nil {
			return nil, err
		}
		return p.boxFloat(f), nil
	default:
		return nil, p.errorf("unexpected %q", c)
	}
}

func (p *parser) literal(word string) error {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return p.errorf("invalid literal, want %s", word)
	}
	p.i += len(word)
	return nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > p.maxDepth {
		return errTooDeep
	}
	p.i++
	return nil
}

func (p *parser) object() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		p.depth--
		return map[string]any{}, nil
	}
	base := len(p.members)
	for {
		p.skipSpace()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, p.errorf("expected a string key")
		}
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, p.errorf("expected ':' after object key")
		}
		p.i++
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.members = push(p.members, member{key, v})
		if p.maxItems > 0 && len(p.members)-base > p.maxItems {
			return nil, errTooManyKeys
		}
		done, err := p.next('}')
		if err != nil {
			return nil, err
		}
		if done {
			return p.makeObject(base), nil
		}
	}
}

// makeObject builds the map of the members pushed since base and pops them.
// Repeated keys keep their last value and are recorded in the document.
func (p *parser) makeObject(base int) map[string]any {
	ms := p.members[base:]
	m := make(map[string]any, len(ms))
	for _, kv := range ms {
		m[kv.key] = kv.val
	}
	if len(m) < len(ms) {
		p.recordRepeats(m, ms)
	}
	clear(ms)
	p.members = p.members[:base]
	return m
}

// recordRepeats notes the keys of ms that appear more than once. It runs
// only for objects with repeated keys, in linear time.
func (p *parser) recordRepeats(m map[string]any, ms []member) {
	seen := make(map[string]struct{}, len(ms))
	reps := map[string]struct{}{}
	for _, kv := range ms {
		if _, ok := seen[kv.key]; ok {
			reps[kv.key] = struct{}{}
		}
		seen[kv.key] = struct{}{}
	}
	if p.doc.dups == nil {
		p.doc.dups = map[uintptr]map[string]struct{}{}
	}
	p.doc.dups[mapID(m)] = reps
}

// key reads an object key, noting in the document a key with a '.'.
func (p *parser) key() (string, error) {
	k, err := p.str()
	if !p.doc.dotted && strings.IndexByte(k, '.') >= 0 {
		p.doc.dotted = true
	}
	return k, err
}

func (p *parser) array() (any, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		p.depth--
		return []any{}, nil
	}
	record := p.depth <= spanDepth
	base, spanBase := len(p.elems), len(p.spans)
	for {
		p.skipSpace()
		start := p.i
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.elems = push(p.elems, v)
		if record {
			p.spans = push(p.spans, span{start, p.i})
			if p.maxItems > 0 && len(p.spans)-spanBase > p.maxItems {
				return nil, errTooManyItems
			}
		}
		done, err := p.next(']')
		if err != nil {
			return nil, err
		}
		if done {
			es := p.elems[base:]
			a := make([]any, len(es))
			copy(a, es)
			clear(es)
			p.elems = p.elems[:base]
			if record {
				doc := p.doc
				doc.arrays = append(doc.arrays, arraySpans{&a[0], len(doc.spans), len(a)})
				doc.spans = append(doc.spans, p.spans[spanBase:]...)
				p.spans = p.spans[:spanBase]
			}
			return a, nil
		}
	}
}

// push is append that doubles the capacity when it grows, where append
// grows a large slice by a quarter: the stacks of a parser reach the size
// of the largest array or object of a message, and growing them a quarter
// at a time copies them about four times over.
func push[T any](s []T, v T) []T {
	if len(s) == cap(s) {
		grown := make([]T, len(s), max(2*cap(s), 16))
		copy(grown, s)
		s = grown
	}
	return append(s, v)
}

// next consumes the ',' between members or the closing bracket.
func (p *parser) next(closing byte) (bool, error) {
	p.skipSpace()
	if p.i >= len(p.b) {
		return false, p.errorf("unexpected end of input")
	}
	switch p.b[p.i] {
	case ',':
		p.i++
		return false, nil
	case closing:
		p.i++
		p.depth--
		return true, nil
	}
	return false, p.errorf("expected ',' or %q", closing)
}

func (p *parser) str() (string, error) {
	start := p.i + 1
	j := start
	// Skip eight plain bytes at a time: no quote, backslash, control
	// character or non-ASCII byte among them.
	for ; len(p.b)-j >= 8; j += 8 {
		if special8(load8(p.b, j)) {
			break
		}
	}
	for ; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			p.i = j + 1
			return p.intern(p.b[start:j]), nil
		case c == '\\':
			p.i = j
			return p.escaped(start)
		case c < 0x20:
			p.i = j
			return "", p.errorf("control character in string")
		case c >= utf8.RuneSelf:
			n := utf8Len(p.b[j:])
			if n == 0 {
				p.i = j
				return "", p.errorf("invalid UTF-8 in string")
			}
			j += n - 1
		}
	}
	p.i = len(p.b)
	return "", p.errorf("unterminated string")
}

const (
	lsb8 = 0x0101010101010101
	msb8 = 0x8080808080808080
)

// load8 returns the eight bytes of b at i as a little-endian word.
func load8(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }

// special8 reports whether any byte of w is a '"', a '\\', a control
// character (below 0x20) or not ASCII (0x80 and above). Each test is the
// classic "has a zero byte" bit trick, exact for whether any byte matches.
func special8(w uint64) bool {
	q := w ^ (lsb8 * '"')
	b := w ^ (lsb8 * '\\')
	return ((q-lsb8)&^q|(b-lsb8)&^b|(w-lsb8*0x20)&^w|w)&msb8 != 0
}

// escaped decodes a string containing escapes; p.i is at the first '\'.
// The decoded bytes are built in the parser's scratch buffer.
func (p *parser) escaped(start int) (string, error) {
	buf, err := p.unescape(append(p.scratch[:0], p.b[start:p.i]...))
	p.scratch = buf[:0]
	if err != nil {
		return "", err
	}
	return p.intern(buf), nil
}

// unescape appends the decoded rest of a string to buf, up to and
// including its closing quote.
func (p *parser) unescape(buf []byte) ([]byte, error) {
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return buf, nil
		case c < 0x20:
			return buf, p.errorf("control character in string")
		case c >= utf8.RuneSelf:
			n := utf8Len(p.b[p.i:])
			if n == 0 {
				return buf, p.errorf("invalid UTF-8 in string")
			}
			buf = append(buf, p.b[p.i:p.i+n]...)
			p.i += n
			continue
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.b) {
			break
		}
		e := p.b[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, err := p.unicodeEscape()
			if err != nil {
				return buf, err
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return buf, p.errorf("invalid escape '\\%c'", e)
		}
	}
	return buf, p.errorf("unterminated string")
}

// unicodeEscape decodes the XXXX of \uXXXX (p.i is after the 'u'),
// combining surrogate pairs; a lone surrogate becomes U+FFFD.
func (p *parser) unicodeEscape() (rune, error) {
	r, ok := hex4(p.b, p.i)
	if !ok {
		return 0, p.errorf("invalid \\u escape")
	}
	p.i += 4
	if !utf16.IsSurrogate(r) {
		return r, nil
	}
	if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
		if r2, ok := hex4(p.b, p.i+2); ok {
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				p.i += 6
				return d, nil
			}
		}
	}
	return utf8.RuneError, nil
}

// utf8Len returns the length of the valid UTF-8 encoding of a non-ASCII
// rune at the start of b, or 0 when it is invalid.
func utf8Len(b []byte) int {
	r, n := utf8.DecodeRune(b)
	if r == utf8.RuneError && n == 1 {
		return 0
	}
	return n
}

func hex4(b []byte, i int) (rune, bool) {
	if len(b)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

func (p *parser) number() (float64, error) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	intStart := p.i
	if !p.digits() {
		return 0, p.errorf("invalid number")
	}
	if p.b[intStart] == '0' && p.i-intStart > 1 {
		return 0, p.errorf("invalid number: leading zero")
	}
	simple := p.i-intStart <= 15
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		simple = false
		if !p.digits() {
			return 0, p.errorf("invalid number")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		simple = false
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if !p.digits() {
			return 0, p.errorf("invalid number")
		}
	}
	if simple {
		var n int64
		for _, c := range p.b[intStart:p.i] {
			n = n*10 + int64(c-'0')
		}
		f := float64(n)
		if start != intStart {
			f = -f
		}
		return f, nil
	}
	f, err := strconv.ParseFloat(string(p.b[start:p.i]), 64)
	if err != nil {
		return 0, p.errorf("number %s out of range", clip(string(p.b[start:p.i])))
	}
	return f, nil
}

func (p *parser) digits() bool {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}
