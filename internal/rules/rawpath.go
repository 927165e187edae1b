package rules

import (
	"slices"
	"strings"
)

// RawValues returns the values found at path in doc, a vendor document as
// event.Event.Raw holds it, in document order. It is how the Sigma
// functions (sigma_eq, sigma_contains, ...) read the field a clause names,
// and what `rules explain` shows as the values a clause read.
//
// path is dot-separated. At an object, a segment names the key equal to it;
// the rest of the path, or several of its next segments joined with dots,
// is also tried as one key, for documents with dotted keys
// ("kibana.alert.rule.name"). When none of those keys is in the object as
// written, the keys equal to one of them case-insensitively are taken
// instead. At an array,
// every element is walked with the same segment: a path that crosses an
// array reaches each element's values. A value found at the end of the path
// that is an array gives its elements, nested arrays flattened; any other
// value (a string, a number, a bool, nil for a JSON null, an object) is
// given as is.
//
// A segment may end with a filter, "key[name=VALUE]": of the elements
// under key, only the objects whose "name" holds VALUE (compared
// case-insensitively) are walked on. It reaches one entry of a list of
// name/value pairs, e.g. "events.parameters[name=NEW_VALUE].value".
//
// A path that leads nowhere gives no value (nil).
func RawValues(doc map[string]any, path string) []any {
	var out []any
	for _, v := range compileRawPath(path).appendValues(nil, doc) {
		out = appendFlat(out, v)
	}
	return out
}

// rawPath is a path of RawValues, split once.
type rawPath struct {
	text string
	// id numbers the path among those of a Set's Sigma calls (see
	// sigmaSites.path), for the per-evaluation cache of the values found
	// (pathCache); -1 for a path compiled alone, which is not cached.
	id   int
	segs []pathSeg
	// joined[i][k] is segments i..i+k joined with dots: the dotted key
	// tried for them (k = 0 is segs[i].key alone). A segment with a
	// filter ends every join.
	joined [][]string
}

// pathSeg is one segment of a rawPath, with its optional filter.
type pathSeg struct {
	key string
	// filterKey and filterValue are the filter of "key[filterKey=filterValue]";
	// hasFilter says whether there is one.
	filterKey, filterValue string
	hasFilter              bool
}

// compileRawPath splits path into its segments and precomputes the dotted
// keys each run of segments may also be written as.
func compileRawPath(path string) *rawPath {
	p := &rawPath{text: path, id: -1}
	for _, s := range splitPath(path) {
		seg := pathSeg{key: s}
		if i := strings.IndexByte(s, '['); i > 0 && strings.HasSuffix(s, "]") {
			if k, v, ok := strings.Cut(s[i+1:len(s)-1], "="); ok && k != "" {
				seg = pathSeg{key: s[:i], filterKey: k, filterValue: v, hasFilter: true}
			}
		}
		p.segs = append(p.segs, seg)
	}
	p.joined = make([][]string, len(p.segs))
	for i := range p.segs {
		key := p.segs[i].key
		p.joined[i] = []string{key}
		for j := i + 1; j < len(p.segs) && !p.segs[j-1].hasFilter; j++ {
			key += "." + p.segs[j].key
			p.joined[i] = append(p.joined[i], key)
		}
	}
	return p
}

// splitPath splits path on dots, except those inside a filter's brackets.
func splitPath(path string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(path); i++ {
		switch path[i] {
		case '[':
			depth++
		case ']':
			if depth > 0 {
				depth--
			}
		case '.':
			if depth == 0 {
				out = append(out, path[start:i])
				start = i + 1
			}
		}
	}
	return append(out, path[start:])
}

// appendValues appends to out each value found at the path in v, before
// arrays at the end of the path are flattened (see RawValues), and returns
// the extended slice. Nothing is appended when the path leads nowhere; nil
// is for a JSON null. It walks with explicit loops, without closures, so
// that a walk allocates nothing beyond out's growth.
func (p *rawPath) appendValues(out []any, v any) []any {
	if len(p.segs) == 0 {
		return out
	}
	return p.appendFrom(out, v, 0)
}

// appendFrom appends the values found from v, at segment i.
func (p *rawPath) appendFrom(out []any, v any, i int) []any {
	if i == len(p.segs) {
		return append(out, v)
	}
	switch n := v.(type) {
	case map[string]any:
		return p.appendMap(out, n, i)
	case []any:
		for _, el := range n {
			out = p.appendFrom(out, el, i)
		}
	}
	return out
}

// appendMap walks on from the object m at segment i: under each key that
// segment i names, alone or joined with the next ones.
func (p *rawPath) appendMap(out []any, m map[string]any, i int) []any {
	joins := p.joined[i]
	found := false
	for k, key := range joins {
		if v, ok := m[key]; ok {
			out = p.appendNext(out, v, i+k)
			found = true
		}
	}
	if found {
		return out
	}
	// No key equals a join exactly: the keys equal to one
	// case-insensitively, in sorted order so that the values come out in
	// the same order every time. (Scanning the object's keys is the
	// costly part of a lookup; it is only done for a name the document
	// does not have as written.)
	var buf [4]string
	folded := buf[:0]
	for key := range m {
		for _, j := range joins {
			if len(key) == len(j) && strings.EqualFold(key, j) {
				folded = append(folded, key)
				break
			}
		}
	}
	if len(folded) == 0 {
		return out
	}
	slices.Sort(folded)
	for _, key := range folded {
		for k, j := range joins {
			if strings.EqualFold(key, j) {
				out = p.appendNext(out, m[key], i+k)
				break
			}
		}
	}
	return out
}

// appendNext walks on from v, the value under the key of segment last
// (its filter applied), at the segment after it.
func (p *rawPath) appendNext(out []any, v any, last int) []any {
	if !p.segs[last].hasFilter {
		return p.appendFrom(out, v, last+1)
	}
	return p.appendFiltered(out, v, last)
}

// appendFiltered walks on from the objects in v (v itself, or the
// elements of arrays at any depth) that pass the filter of segment last.
func (p *rawPath) appendFiltered(out []any, v any, last int) []any {
	seg := &p.segs[last]
	switch n := v.(type) {
	case []any:
		for _, x := range n {
			out = p.appendFiltered(out, x, last)
		}
	case map[string]any:
		if s, ok := n[seg.filterKey].(string); ok && strings.EqualFold(s, seg.filterValue) {
			out = p.appendFrom(out, n, last+1)
		}
	}
	return out
}

// appendFlat appends v to out, the elements of an array (nested arrays
// flattened) instead of the array itself.
func appendFlat(out []any, v any) []any {
	if a, ok := v.([]any); ok {
		for _, el := range a {
			out = appendFlat(out, el)
		}
		return out
	}
	return append(out, v)
}
