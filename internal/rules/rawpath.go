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
	compileRawPath(path).walk(doc, func(v any) { out = appendFlat(out, v) })
	return out
}

// rawPath is a path of RawValues, split once.
type rawPath struct {
	text string
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
	p := &rawPath{text: path}
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

// walk calls fn with each value found at the path in v, before arrays at
// the end of the path are flattened (see RawValues). fn is not called when
// the path leads nowhere; it is called with nil for a JSON null.
func (p *rawPath) walk(v any, fn func(any)) {
	if len(p.segs) == 0 {
		return
	}
	p.walkFrom(v, 0, fn)
}

func (p *rawPath) walkFrom(v any, i int, fn func(any)) {
	if i == len(p.segs) {
		fn(v)
		return
	}
	switch n := v.(type) {
	case map[string]any:
		p.walkMap(n, i, fn)
	case []any:
		for _, el := range n {
			p.walkFrom(el, i, fn)
		}
	}
}

// walkMap walks on from the object m at segment i: under each key that
// segment i names, alone or joined with the next ones.
func (p *rawPath) walkMap(m map[string]any, i int, fn func(any)) {
	joins := p.joined[i]
	found := false
	for k, key := range joins {
		if v, ok := m[key]; ok {
			p.next(v, i+k, fn)
			found = true
		}
	}
	if found {
		return
	}
	// No key equals a join exactly: the keys equal to one
	// case-insensitively, in sorted order so that the values come out in
	// the same order every time. (Scanning the object's keys is the
	// costly part of a lookup; it is only done for a name the document
	// does not have as written.)
	var folded []string
	for key := range m {
		for _, j := range joins {
			if len(key) == len(j) && strings.EqualFold(key, j) {
				folded = append(folded, key)
				break
			}
		}
	}
	if len(folded) == 0 {
		return
	}
	slices.Sort(folded)
	for _, key := range folded {
		for k, j := range joins {
			if strings.EqualFold(key, j) {
				p.next(m[key], i+k, fn)
				break
			}
		}
	}
}

// next walks on from v, the value under the key of segment last (its filter
// applied), at the segment after it.
func (p *rawPath) next(v any, last int, fn func(any)) {
	seg := p.segs[last]
	if !seg.hasFilter {
		p.walkFrom(v, last+1, fn)
		return
	}
	var keep func(any)
	keep = func(el any) {
		switch n := el.(type) {
		case []any:
			for _, x := range n {
				keep(x)
			}
		case map[string]any:
			if s, ok := n[seg.filterKey].(string); ok && strings.EqualFold(s, seg.filterValue) {
				p.walkFrom(n, last+1, fn)
			}
		}
	}
	keep(v)
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
