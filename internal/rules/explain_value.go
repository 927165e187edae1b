package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr/parser/utils"
)

// Values an explanation shows are bounded, so that a 1 MB raw document or
// a 64-reason list does not flood the output: strings are cut, lists and
// maps keep their first elements (maps by sorted key), nesting stops, and
// an ellipsis (…) marks each cut.
const (
	textStringRunes = 60  // runes of a string in the text output
	textItems       = 5   // elements of a list or map in the text output
	textDepth       = 2   // nesting of maps and lists in the text output
	textWidth       = 120 // runes of a whole value in the text output
	jsonStringRunes = 256 // runes of a string in the JSON output
	jsonItems       = 20  // elements of a list or map in the JSON output
	jsonDepth       = 4   // nesting of maps and lists in the JSON output
	ellipsis        = "…"
)

// compactValue renders v on one line for the text output, bounded.
func compactValue(v any) string {
	var sb strings.Builder
	writeCompact(&sb, v, 0)
	return cutRunes(sb.String(), textWidth)
}

// cutRunes returns s cut to n runes, the last one an ellipsis, when it is
// longer.
func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for range n - 1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i] + ellipsis
}

// quoteCut quotes s, cut to n runes with the ellipsis inside the quotes
// (Quote keeps it as is: it is printable).
func quoteCut(s string, n int) string { return strconv.Quote(cutRunes(s, n)) }

func writeCompact(sb *strings.Builder, v any, depth int) {
	switch v := v.(type) {
	case nil:
		sb.WriteString("nil")
	case string:
		sb.WriteString(quoteCut(v, textStringRunes))
	case time.Time:
		sb.WriteString(v.UTC().Format(time.RFC3339Nano))
	case float64:
		sb.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	case []string:
		writeCompactList(sb, len(v), depth, func(i int) any { return v[i] })
	case []any:
		writeCompactList(sb, len(v), depth, func(i int) any { return v[i] })
	case map[string]any:
		if depth >= textDepth {
			sb.WriteString("{" + ellipsis + "}")
			return
		}
		keys := sortedKeys(v)
		sb.WriteByte('{')
		for i, k := range keys {
			if i == textItems {
				sb.WriteString(", " + ellipsis)
				break
			}
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(mapKey(k))
			sb.WriteString(": ")
			writeCompact(sb, v[k], depth+1)
		}
		sb.WriteByte('}')
	case map[string]struct{}:
		keys := sortedKeys(v)
		writeCompactList(sb, len(keys), depth, func(i int) any { return keys[i] })
	default:
		sb.WriteString(cutRunes(fmt.Sprint(v), textStringRunes))
	}
}

// writeCompactList writes a list of n elements, el giving each.
func writeCompactList(sb *strings.Builder, n, depth int, el func(int) any) {
	if depth >= textDepth && n > 0 {
		sb.WriteString("[" + ellipsis + "]")
		return
	}
	sb.WriteByte('[')
	for i := range n {
		if i == textItems {
			sb.WriteString(", " + ellipsis)
			break
		}
		if i > 0 {
			sb.WriteString(", ")
		}
		writeCompact(sb, el(i), depth+1)
	}
	sb.WriteByte(']')
}

// mapKey prints a map key as an identifier when it is one, else quoted.
func mapKey(k string) string {
	if utils.IsValidIdentifier(k) {
		return k
	}
	return quoteCut(k, textStringRunes)
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// boundedJSON returns v bounded for the JSON output: strings cut, lists
// and maps keeping their first elements with an ellipsis entry saying how
// many more there were, deep values replaced by an ellipsis.
func boundedJSON(v any, depth int) any {
	switch v := v.(type) {
	case nil, bool, int, int64, float64:
		return v
	case string:
		return cutRunes(v, jsonStringRunes)
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case []string:
		return boundedList(len(v), depth, func(i int) any { return v[i] })
	case []any:
		return boundedList(len(v), depth, func(i int) any { return v[i] })
	case map[string]any:
		if depth >= jsonDepth {
			return ellipsis
		}
		keys := sortedKeys(v)
		out := make(map[string]any, min(len(keys), jsonItems)+1)
		for i, k := range keys {
			if i == jsonItems {
				out[ellipsis] = fmt.Sprintf("%d more keys", len(keys)-jsonItems)
				break
			}
			out[cutRunes(k, jsonStringRunes)] = boundedJSON(v[k], depth+1)
		}
		return out
	case map[string]struct{}:
		keys := sortedKeys(v)
		return boundedList(len(keys), depth, func(i int) any { return keys[i] })
	}
	return cutRunes(fmt.Sprint(v), jsonStringRunes)
}

// boundedList bounds a list of n elements, el giving each.
func boundedList(n, depth int, el func(int) any) any {
	if depth >= jsonDepth && n > 0 {
		return ellipsis
	}
	out := make([]any, 0, min(n, jsonItems)+1)
	for i := range n {
		if i == jsonItems {
			out = append(out, fmt.Sprintf("%s %d more", ellipsis, n-jsonItems))
			break
		}
		out = append(out, boundedJSON(el(i), depth+1))
	}
	return out
}
