package event

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// errTooDeep is returned by parseJSON when nesting exceeds the limit.
var errTooDeep = errors.New("nesting too deep")

// parseJSON decodes one JSON value into the same generic shapes as
// encoding/json (map[string]any, []any, string, float64, bool, nil) in a
// single pass. Nesting is bounded by maxDepth, so recursion is too: a value
// nested deeper fails with errTooDeep as soon as the parser reaches the
// level past the limit. Invalid UTF-8 is an error: inside strings the
// parser validates it, and outside strings any byte that is not ASCII is a
// syntax error. So a value parsed without error is valid UTF-8 and within
// maxDepth.
func parseJSON(b []byte, maxDepth int) (any, error) {
	return parseJSONText(string(b), maxDepth)
}

// parseJSONText is parseJSON on a string. Keys and strings without escapes
// are substrings of s, so the input is copied once rather than once per
// string; the decoded value keeps all of s reachable while any of them is.
func parseJSONText(s string, maxDepth int) (any, error) {
	st := stackPool.Get().(*stacks)
	p := parser{b: s, maxDepth: maxDepth, members: st.members, elems: st.elems}
	v, err := p.value()
	if err == nil {
		p.skipSpace()
		if p.i < len(p.b) {
			err = p.errorf("unexpected %q after the value", p.b[p.i])
		}
	}
	st.put(p.members, p.elems)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// stacks holds the member and element stacks of a parser between parses,
// so that parsing a message does not grow them from nothing again.
type stacks struct {
	members []member
	elems   []any
}

// maxPooledStack bounds the capacity of the stacks kept for the next parse,
// so that one huge message does not pin its stacks' memory.
const maxPooledStack = 1024

var stackPool = sync.Pool{New: func() any { return new(stacks) }}

// put clears the stacks (an error leaves values on them) and returns them
// to the pool.
func (st *stacks) put(members []member, elems []any) {
	clear(members)
	clear(elems)
	st.members, st.elems = members[:0], elems[:0]
	if cap(st.members) > maxPooledStack {
		st.members = nil
	}
	if cap(st.elems) > maxPooledStack {
		st.elems = nil
	}
	stackPool.Put(st)
}

type parser struct {
	b        string
	i        int
	depth    int
	maxDepth int
	// members and elems are stacks shared by nested objects and arrays,
	// so each map and slice is allocated once at its final size.
	members []member
	elems   []any
}

type member struct {
	key string
	val any
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
		return p.str()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return nil, p.errorf("unexpected %q", c)
	}
}

func (p *parser) literal(word string) error {
	if len(p.b)-p.i < len(word) || p.b[p.i:p.i+len(word)] != word {
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
		p.members = append(p.members, member{key, v})
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
func (p *parser) makeObject(base int) map[string]any {
	ms := p.members[base:]
	m := make(map[string]any, len(ms))
	for _, kv := range ms {
		m[kv.key] = kv.val
	}
	clear(ms)
	p.members = p.members[:base]
	return m
}

// key reads an object key.
func (p *parser) key() (string, error) { return p.str() }

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
	base := len(p.elems)
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		p.elems = append(p.elems, v)
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
			return a, nil
		}
	}
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
			return p.b[start:j], nil
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

// load8 returns the eight bytes of s at i as a little-endian word.
func load8(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// special8 reports whether any byte of w is a '"', a '\\', a control
// character (below 0x20) or not ASCII (0x80 and above). Each test is the
// classic "has a zero byte" bit trick, exact for whether any byte matches.
func special8(w uint64) bool {
	q := w ^ (lsb8 * '"')
	b := w ^ (lsb8 * '\\')
	return ((q-lsb8)&^q|(b-lsb8)&^b|(w-lsb8*0x20)&^w|w)&msb8 != 0
}

// escaped decodes a string containing escapes; p.i is at the first '\'.
func (p *parser) escaped(start int) (string, error) {
	buf := make([]byte, 0, p.i-start+16)
	buf = append(buf, p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(buf), nil
		case c < 0x20:
			return "", p.errorf("control character in string")
		case c >= utf8.RuneSelf:
			n := utf8Len(p.b[p.i:])
			if n == 0 {
				return "", p.errorf("invalid UTF-8 in string")
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
				return "", err
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.errorf("invalid escape '\\%c'", e)
		}
	}
	return "", p.errorf("unterminated string")
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
// rune at the start of s, or 0 when it is invalid.
func utf8Len(s string) int {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && n == 1 {
		return 0
	}
	return n
}

func hex4(b string, i int) (rune, bool) {
	if len(b)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range []byte(b[i : i+4]) {
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

func (p *parser) number() (any, error) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	intStart := p.i
	if !p.digits() {
		return nil, p.errorf("invalid number")
	}
	if p.b[intStart] == '0' && p.i-intStart > 1 {
		return nil, p.errorf("invalid number: leading zero")
	}
	simple := p.i-intStart <= 15
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		simple = false
		if !p.digits() {
			return nil, p.errorf("invalid number")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		simple = false
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if !p.digits() {
			return nil, p.errorf("invalid number")
		}
	}
	if simple {
		var n int64
		for _, c := range []byte(p.b[intStart:p.i]) {
			n = n*10 + int64(c-'0')
		}
		f := float64(n)
		if start != intStart {
			f = -f
		}
		return f, nil
	}
	f, err := strconv.ParseFloat(p.b[start:p.i], 64)
	if err != nil {
		return nil, p.errorf("number %s out of range", p.b[start:p.i])
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
