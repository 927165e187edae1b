package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParserMatchesEncodingJSON checks the hand-written parser against
// encoding/json. For any input, parseJSON(in, limit) must succeed exactly
// when all of these hold:
//
//   - json.Unmarshal(in, &v) into an any succeeds (which also rejects
//     numbers out of the float64 range, such as 1e400: the parser does
//     the same);
//   - utf8.Valid(in): encoding/json accepts invalid UTF-8 inside strings
//     and turns it into U+FFFD; the parser refuses it;
//   - the nesting of the input (an array or object is one level, a scalar
//     none; counted on the text, so a deep value that a repeated key then
//     replaces still counts) is at most limit: encoding/json allows 10,000
//     levels, the parser limit (Config.MaxDepth, 64 by default; checked
//     here at 64 and at 3).
//
// Those are the only differences allowed. When the parser succeeds, its
// value must equal v: the same maps, slices, strings, booleans and nils,
// and numbers as float64 with the same bits (so -0 stays -0). Both keep
// the last of repeated keys and turn lone surrogate escapes into U+FFFD.
// The canonical JSON that event ids hash must also equal json.Marshal(v).
//
// `go test` runs the seed corpus; run it longer with
//
//	go test ./internal/event -run '^$' -fuzz FuzzParserMatchesEncodingJSON -fuzztime 5m
func FuzzParserMatchesEncodingJSON(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range parserSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, limit := range []int{DefaultMaxDepth, 3} {
			checkAgainstEncodingJSON(t, in, limit)
		}
	})
}

// parserSeeds are the tricky inputs of the differential fuzz test.
var parserSeeds = []string{
	`{"a":"\u00e9\ud83d\ude00\ud800x","b":[1,-2.5e3,0,-0,true,false,null],"c":{"":{}},"d":"tab\tquote\"slash\/"}`,
	`"\ud800"`, `"\udc00\ud800"`, `"\ud800\u0041"`, `"\ud800\ud800\udc00"`, `"\uD83D\uDE00"`, `"\ud83d\ude0"`,
	`"\ud800\uzzzz"`, `"\u00"`, `"\"`, `"\\"`, `"\b\f\n\r\t\/"`, `"\a"`, `"\u0000"`, "\"\x7f\"", "\"\x01\"",
	`{"dup":1,"dup":2}`, `{"a":{"x":1},"a":[2]}`, `{"a.b":1,"a":{"b":2}}`,
	`12345678901234567890`, `123456789012345`, `1234567890123456`, `-0`, `-0.0`, `0e0`, `-0e-0`, `1E+2`,
	`1e400`, `-1e400`, `1e-400`, `4.9e-324`, `1.7976931348623157e308`, `1.7976931348623159e308`, `0.1`, `1e-7`, `1e21`,
	`01`, `-01`, `1.`, `.5`, `-`, `1e`, `1e+`, `+1`, `0x10`, `Infinity`, `NaN`,
	`{"a":1} x`, `{"a":1}}`, `[1,]`, `{"a":1,}`, `[`, `{`, `{"a"}`, `{"a":}`, `{1:2}`, `tru`, `truex`, `nul`, `[true false]`,
	"\xef\xbb\xbf{}", "{}\xef\xbb\xbf", "\"\xff\"", "\"\xc3\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "{\"\xff\":1}",
	" \t\r\n{} \t\r\n", "\v{}", "\u00a0{}", "", " ", "null", "true", `""`, `[]`, `{}`,
	`[[[[]]]]`, `[[[]]]`, `{"a":{"b":{"c":{}}}}`, `{"a":{"b":{}}}`, `[{"a":[{"b":[]}]}]`,
	"\"\u2028\u2029<>&\"", `"\u2028"`, `{"<":"&"}`,
}

func checkAgainstEncodingJSON(t *testing.T, in []byte, limit int) {
	t.Helper()
	got, gotErr := parseJSON(in, limit)

	var want any
	wantErr := json.Unmarshal(in, &want)
	accept := wantErr == nil && utf8.Valid(in) && textDepth(t, in) <= limit

	switch {
	case accept && gotErr != nil:
		t.Fatalf("limit %d: parser refuses %q: %v; encoding/json accepts it", limit, in, gotErr)
	case !accept && gotErr == nil:
		t.Fatalf("limit %d: parser accepts %q (%#v); want an error (encoding/json: %v, utf8 valid: %v)",
			limit, in, got, wantErr, utf8.Valid(in))
	case !accept:
		if wantErr == nil && utf8.Valid(in) && !errors.Is(gotErr, errTooDeep) {
			t.Fatalf("limit %d: parser refuses %q with %v; want errTooDeep", limit, in, gotErr)
		}
		return
	}
	if path, ok := sameValue(got, want, "$"); !ok {
		t.Fatalf("limit %d: %q decodes differently at %s:\n got %#v\nwant %#v", limit, in, path, got, want)
	}
	canon := canonicalBytes(got)
	marshal, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(canon, marshal) {
		t.Fatalf("canonical JSON of %q:\n got %s\nwant %s", in, canon, marshal)
	}
}

// textDepth is the deepest nesting of arrays and objects in in, a JSON
// text that encoding/json accepts, read with encoding/json's tokenizer.
func textDepth(t *testing.T, in []byte) int {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(in))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

// sameValue compares decoded values exactly (float64 bits, so that -0 and
// 0 differ) and returns the path of the first difference.
func sameValue(a, b any, path string) (string, bool) {
	switch a := a.(type) {
	case nil, bool, string:
		return path, a == b
	case float64:
		bf, ok := b.(float64)
		return path, ok && math.Float64bits(a) == math.Float64bits(bf)
	case []any:
		bs, ok := b.([]any)
		if !ok || len(a) != len(bs) {
			return path, false
		}
		for i := range a {
			if p, ok := sameValue(a[i], bs[i], fmt.Sprintf("%s[%d]", path, i)); !ok {
				return p, false
			}
		}
		return path, true
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok || len(a) != len(bm) {
			return path, false
		}
		for k, av := range a {
			bv, ok := bm[k]
			if !ok {
				return fmt.Sprintf("%s[%q]", path, k), false
			}
			if p, ok := sameValue(av, bv, fmt.Sprintf("%s[%q]", path, k)); !ok {
				return p, false
			}
		}
		return path, true
	}
	return path, false
}

// canonicalBytes is what hashID hashes.
func canonicalBytes(v any) []byte {
	var buf bytes.Buffer
	w := canonicalWriter{h: writerHash{&buf}, buf: make([]byte, 0, 128)}
	w.value(v)
	w.flush()
	return buf.Bytes()
}

// writerHash lets canonicalWriter write to a buffer.
type writerHash struct{ *bytes.Buffer }

func (writerHash) Sum(b []byte) []byte { return b }
func (writerHash) Size() int           { return 0 }
func (writerHash) BlockSize() int      { return 1 }

// TestCanonicalMatchesMarshal checks the canonical writer, with its small
// buffer flushed many times, against json.Marshal, and hashID against
// the sha256 of json.Marshal that event ids have always been.
func TestCanonicalMatchesMarshal(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ab<c>&\u2028\x01\"\\é", 2000)
	keys := map[string]any{}
	for i := range 3000 {
		keys[fmt.Sprintf("%x", i*7919)] = i
	}
	values := []any{
		nil, true, false, 0.0, math.Copysign(0, -1), 1e21, 1e20, 1e-6, 1e-7, 123456789.125, -4.9e-324,
		1.7976931348623157e308, "", long, "\x00\x1f\x7f", []any{}, map[string]any{},
		map[string]any{"b": 1.0, "a": []any{"x", nil, map[string]any{"": long}}, long: false, "\u00e9": "\u2029"},
		keys,
	}
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		v, err := parseJSON(b, DefaultMaxDepth)
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, v)
	}
	for i, v := range values {
		if v, ok := v.(map[string]any); ok {
			for k, x := range v {
				if n, ok := x.(int); ok {
					v[k] = float64(n)
				}
			}
		}
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := canonicalBytes(v); !bytes.Equal(got, want) {
			t.Errorf("value %d: canonical JSON differs from json.Marshal:\n got %.200s\nwant %.200s", i, got, want)
		}
		sum := sha256.Sum256(want)
		if got, want := hashID("x", v), "x:sha256-"+hex.EncodeToString(sum[:16]); got != want {
			t.Errorf("value %d: hashID %s, want %s", i, got, want)
		}
	}
}

// TestSortMembers checks the radix sort against a comparison sort, with
// keys that share long prefixes, end early, or hold any byte.
func TestSortMembers(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	var ms []member
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			ms = append(ms, member{key: k})
		}
	}
	add("")
	for i := range 5000 {
		add(fmt.Sprint(i))
		add(strings.Repeat("p", i%300) + fmt.Sprint(i%97))
		add(string([]byte{byte(i), byte(i >> 3), 0xff, byte(i * 31)}))
		add("kibana.alert." + fmt.Sprint(i%50))
	}
	for _, n := range []int{0, 1, 2, smallSort, smallSort + 1, 100, len(ms)} {
		got := slices.Clone(ms[:n])
		sortMembers(got, 0)
		want := slices.Clone(ms[:n])
		slices.SortFunc(want, func(a, b member) int { return strings.Compare(a.key, b.key) })
		if !slices.Equal(got, want) {
			t.Fatalf("%d members: radix order differs from strings.Compare", n)
		}
	}
}
