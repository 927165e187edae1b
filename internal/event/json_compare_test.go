//go:build parsers

package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/maphash"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bytedance/sonic"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/valyala/fastjson"
)

// The benchmarks and tests of this file compare the whole decode path
// (parse + normalize, as Decoder.Decode does it) built on the hand-written
// parser with the same normalization built on other JSON parsers (see
// parseJSON's doc comment for the figures and the decision). Each
// alternative produces the same generic tree (map[string]any, []any,
// string, float64, bool, nil) and runs the same normalization, at two
// levels:
//
//   - bare: the tree, plus only what the parser lacks to refuse what
//     Decode refuses outright: a utf8.Valid pass where it accepts invalid
//     UTF-8, and the depth pre-scan (depthExceeded), since none takes a
//     depth limit below 10,000. No repeated-key table and no item spans,
//     which the normalizers read, and no caps: this only flatters them.
//   - +guarantees (the two fastest): the whole *document Decode works on,
//     from a structural pass over the text (scanStructure: depth limit,
//     item and key caps, item spans, repeated keys, dotted keys) and the
//     parser's tree, located by path. TestAltParsersAgree checks that they
//     give the same events, item bytes and refusals as Decode.
//
// The file builds only with -tags parsers (make bench, make bench-parsers),
// which keeps the parsers it compares out of make test's build.
//
//	go test -tags parsers ./internal/event -run '^$' -bench 'BenchmarkDecodeParsers|BenchmarkDecodeParts' -benchmem
//	go test -tags parsers ./internal/event -run TestDecodeParsersTable -parsers-table -v

// altParser turns a message into the generic tree with one JSON parser.
type altParser struct {
	name  string
	parse func(b []byte) (any, error)
	// doc, when set, makes the whole document (tree, repeated keys,
	// item spans) with every limit Decode applies.
	doc func(b []byte) (*document, error)
}

var errAltLimits = errors.New("invalid utf-8 or too deep")

// altLimits is the check an alternative parser needs to refuse what the
// hand-written one refuses: invalid UTF-8 (unless the parser checks it) and
// nesting deeper than DefaultMaxDepth.
func altLimits(b []byte, checkUTF8 bool) error {
	if checkUTF8 && !utf8.Valid(b) {
		return errAltLimits
	}
	if depthExceeded(b, DefaultMaxDepth) >= 0 {
		return errAltLimits
	}
	return nil
}

var fastjsonPool fastjson.ParserPool

// fastjsonTree converts a fastjson value to the generic tree.
func fastjsonTree(v *fastjson.Value) any {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		m := make(map[string]any, o.Len())
		o.Visit(func(k []byte, x *fastjson.Value) { m[string(k)] = fastjsonTree(x) })
		return m
	case fastjson.TypeArray:
		a, _ := v.Array()
		out := make([]any, len(a))
		for i, x := range a {
			out[i] = fastjsonTree(x)
		}
		return out
	case fastjson.TypeString:
		return string(v.GetStringBytes())
	case fastjson.TypeNumber:
		f, _ := v.Float64()
		return f
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeFalse:
		return false
	}
	return nil
}

// v2Options keep encoding/json's behaviour for repeated keys (the last
// one wins; tripline refuses them only on identity paths) and v2's
// refusal of invalid UTF-8.
var v2Options = jsonv2.JoinOptions(jsontext.AllowDuplicateNames(true))

var altParsers = []altParser{
	{name: "handwritten"},
	{name: "encoding-json", parse: func(b []byte) (any, error) {
		if err := altLimits(b, true); err != nil {
			return nil, err
		}
		var v any
		err := json.Unmarshal(b, &v)
		return v, err
	}},
	{name: "json-v2", parse: func(b []byte) (any, error) {
		if err := altLimits(b, false); err != nil {
			return nil, err
		}
		var v any
		err := jsonv2.Unmarshal(b, &v, v2Options)
		return v, err
	}},
	{name: "sonic", parse: func(b []byte) (any, error) {
		if err := altLimits(b, true); err != nil {
			return nil, err
		}
		var v any
		err := sonic.ConfigStd.Unmarshal(b, &v)
		return v, err
	}},
	{name: "fastjson", parse: func(b []byte) (any, error) {
		if err := altLimits(b, true); err != nil {
			return nil, err
		}
		p := fastjsonPool.Get()
		defer fastjsonPool.Put(p)
		v, err := p.ParseBytes(b)
		if err != nil {
			return nil, err
		}
		return fastjsonTree(v), nil
	}},
	// The two fastest with every guarantee of Decode: the structure pass
	// (depth, caps, item spans, repeated keys) and UTF-8 validation.
	{name: "sonic+guarantees", doc: withUTF8(withStructure(sonicTree))},
	{name: "fastjson+guarantees", doc: withUTF8(withStructure(fastjsonStrictTree))},
}

// decodeWith is Decoder.Decode with the parser p.
func (d *Decoder) decodeWith(p altParser, value []byte) ([]Event, error) {
	if p.parse == nil && p.doc == nil {
		return d.Decode(value, FormatAuto)
	}
	if err := checkSize(value, d.maxBytes, FormatAuto); err != nil {
		return nil, err
	}
	if p.doc != nil {
		doc, err := p.doc(value)
		if err != nil {
			return nil, &Error{Reason: ReasonInvalidJSON, Err: err}
		}
		return d.decodeDocument(doc, FormatAuto)
	}
	v, err := p.parse(value)
	if err != nil {
		return nil, &Error{Reason: ReasonInvalidJSON, Err: err}
	}
	return d.decodeDocument(&document{value: v, text: value, dotted: hasDottedKey(v)}, FormatAuto)
}

// TestAltParsersAgree checks that the comparison is fair: on every sample,
// every alternative gives the same events as Decode (Raw aside, which
// holds the same values), and the alternatives with guarantees also the
// same item bytes and the same refusals of repeated identity keys.
func TestAltParsersAgree(t *testing.T) {
	t.Parallel()
	dec := newTestDecoder(t)
	samples := compareSamples(t)
	guaranteed := []compareSample{
		{name: "repeated identity key", in: []byte(oktaWith(map[string]string{"actor": `{"type":"User","alternateId":"a@example.com","alternateId":"b@example.com"}`}))},
		{name: "repeated key elsewhere", in: []byte(oktaWith(map[string]string{"client": `{"ipAddress":"192.0.2.1","ipAddress":"192.0.2.2"}`}))},
		{name: "dotted and nested identity", in: []byte(`{"uuid":"u","published":"2025-10-14T08:41:17Z","eventType":"user.session.start","actor.alternateId":"a@example.com","actor":{"type":"User","alternateId":"b@example.com"}}`)},
		{name: "batch with bad items", in: []byte("{\"records\": [ {\"category\":\"SignInLogs\",\"properties\":{\"userPrincipalName\":\"a@example.com\"}} ,\n" +
			"\t{\"category\":\"SignInLogs\", \"properties\":{\"userPrincipalName\":true}}, \"junk\", [1,{\"a\":[2]}] ]}")},
		{name: "repeated key in a batch item", in: []byte(`{"cursor":"c","items":[{"uuid":"A","category":"success","target_user":{"uuid":"U1","uuid":"U2"}},{"uuid":"B","category":"success","target_user":{"uuid":"U3"}}]}`)},
	}
	for _, p := range altParsers[1:] {
		all := samples
		if p.doc != nil {
			all = append(slices.Clone(samples), guaranteed...)
		}
		for _, s := range all {
			want, wantErr := dec.Decode(s.in, FormatAuto)
			got, err := dec.decodeWith(p, s.in)
			if Reason(err) != Reason(wantErr) || len(got) != len(want) {
				t.Fatalf("%s with %s: %d events, %v; want %d, %v", s.name, p.name, len(got), err, len(want), wantErr)
			}
			for i := range got {
				g, w := got[i], want[i]
				if p.doc != nil && !bytes.Equal(g.ItemRaw, w.ItemRaw) {
					t.Errorf("%s with %s, event %d: item bytes %q, want %q", s.name, p.name, i, g.ItemRaw, w.ItemRaw)
				}
				g.Raw, w.Raw, g.ItemRaw, w.ItemRaw = nil, nil, nil, nil
				gj, _ := json.Marshal(g)
				wj, _ := json.Marshal(w)
				if !bytes.Equal(gj, wj) {
					t.Errorf("%s with %s, event %d:\n got %s\nwant %s", s.name, p.name, i, gj, wj)
				}
			}
			var ge, we *Error
			if p.doc != nil && errors.As(err, &ge) && errors.As(wantErr, &we) {
				if len(ge.Items) != len(we.Items) {
					t.Fatalf("%s with %s: %d failed items, want %d", s.name, p.name, len(ge.Items), len(we.Items))
				}
				for i := range ge.Items {
					if !bytes.Equal(ge.Items[i].Raw, we.Items[i].Raw) || ge.Items[i].Err.Reason != we.Items[i].Err.Reason {
						t.Errorf("%s with %s: failed item %d: %q (%s), want %q (%s)", s.name, p.name, i,
							ge.Items[i].Raw, ge.Items[i].Err.Reason, we.Items[i].Raw, we.Items[i].Err.Reason)
					}
				}
			}
		}
	}
}

var parsersTable = flag.Bool("parsers-table", false, "print the whole-decode table of TestDecodeParsersTable")

// TestDecodeParsersTable prints, with -parsers-table, the whole-decode
// time of each sample with each parser: the best of 40 rounds of 300
// decodes, rounds interleaved across parsers so that a noisy neighbour
// slows them all alike, on one goroutine (seq) and on GOMAXPROCS
// goroutines (par, time per decode of the whole machine). The figures in
// json.go's doc comment come from it.
//
//	go test -tags parsers ./internal/event -run TestDecodeParsersTable -parsers-table -v
func TestDecodeParsersTable(t *testing.T) {
	if !*parsersTable {
		t.Skip("run with -parsers-table")
	}
	dec := newTestDecoder(t)
	samples := compareSamples(t)
	const rounds, reps = 40, 300
	procs := runtime.GOMAXPROCS(0)
	for _, mode := range []string{"seq", "par"} {
		best := map[[2]string]time.Duration{}
		for range rounds {
			for _, s := range samples {
				for _, p := range altParsers {
					start := time.Now()
					if mode == "seq" {
						for range reps {
							_, _ = dec.decodeWith(p, s.in)
						}
					} else {
						var wg sync.WaitGroup
						for range procs {
							wg.Go(func() {
								for range reps {
									_, _ = dec.decodeWith(p, s.in)
								}
							})
						}
						wg.Wait()
					}
					d := time.Since(start) / time.Duration(reps)
					if mode == "par" {
						d /= time.Duration(procs)
					}
					k := [2]string{s.name, p.name}
					if b, ok := best[k]; !ok || d < b {
						best[k] = d
					}
				}
			}
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s, ns per decode (best of %d rounds)\n%-38s", mode, rounds, "sample")
		for _, p := range altParsers {
			fmt.Fprintf(&b, " %10.10s", p.name)
		}
		b.WriteString("  ratio:bare  ratio:guaranteed\n")
		total := map[string]time.Duration{}
		for _, s := range samples {
			for _, p := range altParsers {
				total[p.name] += best[[2]string{s.name, p.name}]
			}
		}
		row := func(name string, get func(p string) time.Duration) {
			fmt.Fprintf(&b, "%-38s", name)
			bestBare, bestFull := time.Duration(1<<62), time.Duration(1<<62)
			for _, p := range altParsers {
				d := get(p.name)
				fmt.Fprintf(&b, " %10d", d.Nanoseconds())
				switch {
				case p.parse != nil:
					bestBare = min(bestBare, d)
				case p.doc != nil:
					bestFull = min(bestFull, d)
				}
			}
			hw := get("handwritten")
			fmt.Fprintf(&b, "  %10.2f  %16.2f\n", float64(bestBare)/float64(hw), float64(bestFull)/float64(hw))
		}
		for _, s := range samples {
			row(s.name, func(p string) time.Duration { return best[[2]string{s.name, p}] })
		}
		row("corpus (sum)", func(p string) time.Duration { return total[p] })
		t.Log("\n" + b.String())
	}
}

// BenchmarkDecodeParsers measures the whole decode of each sample with each
// parser, on one goroutine (seq) and with b.RunParallel (par); "corpus"
// decodes every sample once per op.
func BenchmarkDecodeParsers(b *testing.B) {
	dec := newTestDecoder(b)
	samples := compareSamples(b)
	all := 0
	for _, s := range samples {
		all += len(s.in)
	}
	for _, mode := range []string{"seq", "par"} {
		for _, s := range append([]compareSample{{name: "corpus"}}, samples...) {
			for _, p := range altParsers {
				b.Run(mode+"/"+s.name+"/"+p.name, func(b *testing.B) {
					run := func() {
						if s.in != nil {
							if _, err := dec.decodeWith(p, s.in); Reason(err) != s.reason {
								b.Fatal(err)
							}
							return
						}
						for _, x := range samples {
							if _, err := dec.decodeWith(p, x.in); Reason(err) != x.reason {
								b.Fatal(err)
							}
						}
					}
					b.ReportAllocs()
					if s.in != nil {
						b.SetBytes(int64(len(s.in)))
					} else {
						b.SetBytes(int64(all))
					}
					if mode == "seq" {
						for b.Loop() {
							run()
						}
						return
					}
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							run()
						}
					})
				})
			}
		}
	}
}

// The structure pass gives an alternative parser what the normalizers read
// besides the tree and what Decode guarantees besides the parse: the depth
// limit, the item and key caps, the byte spans of the elements of arrays
// nested at most spanDepth deep (ItemError.Raw, Event.ItemRaw) and the
// repeated keys of every object (identity fields given twice are
// refused). It is one linear pass over the text, done before the
// alternative parses it; what it finds is located in the tree by path.

type pathElem struct {
	key   string
	index int // -1 for a key
}

type structFrame struct {
	array    bool
	n        int // elements or keys so far
	keyBase  int // this object's keys start at keys[keyBase]
	elemFrom int // start of the current element, -1 between elements
	lastEnd  int // end of the last value seen in this frame
	spanBase int
	via      span // the key by which the parent object reaches this frame
	viaIndex int  // or its index in the parent array (-1 for a key)
	wantKey  bool
	curKey   span                // offsets of the current key's text (without quotes)
	set      map[uint64]struct{} // hashes of the keys, once there are many
}

type structure struct {
	sets   []map[uint64]struct{} // key hash sets, by depth, reused
	dotted bool
	dups   []structDup
	arrays []structArray
	frames []structFrame
	keys   []span
	spans  []span
}

type structDup struct {
	path []pathElem
	key  string
}

type structArray struct {
	path  []pathElem
	spans []span
}

var structSeed = maphash.MakeSeed()

var structPool = sync.Pool{New: func() any { return new(structure) }}

func keyText(b []byte, s span) string {
	raw := b[s.start:s.end]
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	var k string
	_ = json.Unmarshal(b[s.start-1:s.end+1], &k)
	return k
}

func (st *structure) path(b []byte) []pathElem {
	p := make([]pathElem, 0, len(st.frames))
	// frames[0] is outside the document and frames[1] its top-level
	// value: the path starts at frames[2].
	for _, f := range st.frames[min(2, len(st.frames)):] {
		if f.viaIndex >= 0 {
			p = append(p, pathElem{index: f.viaIndex})
		} else {
			p = append(p, pathElem{key: keyText(b, f.via), index: -1})
		}
	}
	return p
}

// scanStructure runs the structure pass over b, JSON text the parser will
// check; it only needs to be right for valid JSON.
func scanStructure(st *structure, b []byte, maxDepth, maxItems int) error {
	st.frames = append(st.frames[:0], structFrame{elemFrom: -1}) // the root
	st.keys, st.spans, st.dups, st.arrays, st.dotted = st.keys[:0], st.spans[:0], nil, nil, false
	valueAt := func(i int) {
		f := &st.frames[len(st.frames)-1]
		if f.array && f.elemFrom < 0 {
			f.elemFrom = i
		}
	}
	valueEnd := func(end int) {
		st.frames[len(st.frames)-1].lastEnd = end
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case ' ', '\t', '\r', '\n', ':':
		case '{', '[':
			valueAt(i)
			parent := &st.frames[len(st.frames)-1]
			via, viaIndex := parent.curKey, -1
			if parent.array {
				viaIndex = parent.n
			}
			if len(st.frames) > maxDepth {
				return errTooDeep
			}
			st.frames = append(st.frames, structFrame{array: c == '[', keyBase: len(st.keys), spanBase: len(st.spans),
				elemFrom: -1, via: via, viaIndex: viaIndex, wantKey: c == '{'})
		case '}', ']':
			f := &st.frames[len(st.frames)-1]
			if f.array {
				if f.elemFrom >= 0 {
					f.n++
					if err := st.closeElem(f, maxItems); err != nil {
						return err
					}
				}
				if depth := len(st.frames) - 1; depth <= spanDepth && f.n > 0 {
					st.arrays = append(st.arrays, structArray{st.path(b), slices.Clone(st.spans[f.spanBase:])})
				}
				st.spans = st.spans[:f.spanBase]
			} else {
				st.keys = st.keys[:f.keyBase]
			}
			st.frames = st.frames[:len(st.frames)-1]
			if len(st.frames) > 0 {
				valueEnd(i + 1)
				p := &st.frames[len(st.frames)-1]
				if !p.array {
					p.wantKey = false
				}
			}
		case ',':
			f := &st.frames[len(st.frames)-1]
			if f.array {
				f.n++
				if err := st.closeElem(f, maxItems); err != nil {
					return err
				}
			} else {
				f.wantKey = true
			}
		case '"':
			j := skipStringFast(b, i+1)
			f := &st.frames[len(st.frames)-1]
			if !f.array && f.wantKey {
				k := span{i + 1, j}
				if err := st.key(b, f, k, maxItems); err != nil {
					return err
				}
				f.curKey, f.wantKey = k, false
			} else {
				valueAt(i)
				valueEnd(j + 1)
			}
			i = j
		default:
			valueAt(i)
			j := i
			for j < len(b) && !isDelim(b[j]) {
				j++
			}
			valueEnd(j)
			i = j - 1
		}
	}
	return nil
}

func isDelim(c byte) bool {
	return c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\r' || c == '\n'
}

// closeElem records the span of the element just ended in the array f.
func (st *structure) closeElem(f *structFrame, maxItems int) error {
	if len(st.frames)-1 <= spanDepth {
		st.spans = append(st.spans, span{f.elemFrom, f.lastEnd})
		if maxItems > 0 && f.n > maxItems {
			return errTooManyItems
		}
	}
	f.elemFrom = -1
	return nil
}

// key notes a key of the object f, recording it when it repeats.
func (st *structure) key(b []byte, f *structFrame, k span, maxItems int) error {
	f.n++
	if maxItems > 0 && f.n > maxItems {
		return errTooManyKeys
	}
	raw := b[k.start:k.end]
	if !st.dotted && bytes.IndexByte(raw, '.') >= 0 {
		st.dotted = true
	}
	if bytes.IndexByte(raw, '\\') >= 0 {
		// Rare: compare the decoded key with the decoded others.
		name := keyText(b, k)
		repeated := false
		for _, s := range st.keys[f.keyBase:] {
			if keyText(b, s) == name {
				repeated = true
			}
		}
		st.keys = append(st.keys, k)
		if repeated {
			st.dups = append(st.dups, structDup{st.path(b), name})
		}
		return nil
	}
	repeated := false
	if f.n > reasonScan {
		if f.set == nil {
			depth := len(st.frames)
			for len(st.sets) <= depth {
				st.sets = append(st.sets, map[uint64]struct{}{})
			}
			f.set = st.sets[depth]
			clear(f.set)
			for _, s := range st.keys[f.keyBase:] {
				f.set[maphash.Bytes(structSeed, b[s.start:s.end])] = struct{}{}
			}
		}
		h := maphash.Bytes(structSeed, raw)
		if _, ok := f.set[h]; ok {
			for _, s := range st.keys[f.keyBase:] {
				if bytes.Equal(b[s.start:s.end], raw) {
					repeated = true
					break
				}
			}
		}
		f.set[h] = struct{}{}
	} else {
		for _, s := range st.keys[f.keyBase:] {
			if bytes.Equal(b[s.start:s.end], raw) {
				repeated = true
				break
			}
		}
	}
	st.keys = append(st.keys, k)
	if repeated {
		st.dups = append(st.dups, structDup{st.path(b), keyText(b, k)})
	}
	return nil
}

// resolve follows path in the tree v.
func resolve(v any, path []pathElem) any {
	for _, e := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[e.key]
		case []any:
			if e.index < 0 || e.index >= len(x) {
				return nil
			}
			v = x[e.index]
		default:
			return nil
		}
	}
	return v
}

// withStructure wraps an alternative parser with the structure pass, into
// a whole *document as parseDocument makes it.
func withStructure(parse func([]byte) (any, error)) func([]byte) (*document, error) {
	return func(b []byte) (*document, error) {
		st := structPool.Get().(*structure)
		defer structPool.Put(st)
		if err := scanStructure(st, b, DefaultMaxDepth, DefaultMaxItems); err != nil {
			return nil, err
		}
		v, err := parse(b)
		if err != nil {
			return nil, err
		}
		doc := &document{value: v, text: b, maxItems: DefaultMaxItems, dotted: st.dotted}
		for _, a := range st.arrays {
			if arr, ok := resolve(v, a.path).([]any); ok && len(arr) == len(a.spans) {
				doc.arrays = append(doc.arrays, arraySpans{&arr[0], len(doc.spans), len(arr)})
				doc.spans = append(doc.spans, a.spans...)
			}
		}
		for _, d := range st.dups {
			if m, ok := resolve(v, d.path).(map[string]any); ok {
				if doc.dups == nil {
					doc.dups = map[uintptr]map[string]struct{}{}
				}
				if doc.dups[mapID(m)] == nil {
					doc.dups[mapID(m)] = map[string]struct{}{}
				}
				doc.dups[mapID(m)][d.key] = struct{}{}
			}
		}
		return doc, nil
	}
}

func sonicTree(b []byte) (any, error) {
	var v any
	err := sonic.ConfigStd.Unmarshal(b, &v)
	return v, err
}

func fastjsonStrictTree(b []byte) (any, error) {
	if err := fastjson.ValidateBytes(b); err != nil {
		return nil, err
	}
	p := fastjsonPool.Get()
	defer fastjsonPool.Put(p)
	v, err := p.ParseBytes(b)
	if err != nil {
		return nil, err
	}
	return fastjsonTree(v), nil
}

// withUTF8 refuses invalid UTF-8 before f, for the parsers that accept it.
func withUTF8(f func([]byte) (*document, error)) func([]byte) (*document, error) {
	return func(b []byte) (*document, error) {
		if !utf8.Valid(b) {
			return nil, errAltLimits
		}
		return f(b)
	}
}

// skipStringFast is skipString with bytes.IndexByte.
func skipStringFast(b []byte, i int) int {
	for {
		k := bytes.IndexByte(b[i:], '"')
		if k < 0 {
			return len(b)
		}
		j := i + k
		n := 0
		for j-1-n >= i && b[j-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			return j
		}
		i = j + 1
	}
}

// BenchmarkDecodeParts splits the whole decode of the generated 1 KiB
// sign-ins: the hand-written parse, sonic's (with the pre-checks it needs),
// the normalization alone, and the passes the guarantees cost an
// alternative.
func BenchmarkDecodeParts(b *testing.B) {
	dec := newTestDecoder(b)
	for _, s := range compareSamples(b) {
		if !strings.HasPrefix(s.name, "gen-") {
			continue
		}
		doc, err := parseDocument(s.in, DefaultMaxDepth, DefaultMaxItems)
		if err != nil {
			b.Fatal(err)
		}
		st := new(structure)
		for _, part := range []struct {
			name string
			fn   func()
		}{
			{"parse/handwritten", func() { _, _ = parseDocument(s.in, DefaultMaxDepth, DefaultMaxItems) }},
			{"parse/sonic", func() { _, _ = altParsers[3].parse(s.in) }},
			{"normalize", func() { _, _ = dec.decodeDocument(doc, FormatAuto) }},
			{"pass/utf8", func() { _ = utf8.Valid(s.in) }},
			{"pass/depth", func() { _ = depthExceeded(s.in, DefaultMaxDepth) }},
			{"pass/structure", func() { _ = scanStructure(st, s.in, DefaultMaxDepth, DefaultMaxItems) }},
		} {
			b.Run(s.name+"/"+part.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					part.fn()
				}
			})
		}
	}
}
