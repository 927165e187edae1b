package sigma

import (
	"encoding/base64"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// valueKind is the YAML type of a Sigma value.
type valueKind int

const (
	vString valueKind = iota
	vNumber
	vBool
	vNull
)

// value is one value of a detection item, typed as the YAML wrote it.
type value struct {
	kind valueKind
	// text is the value as written: a string in Sigma's syntax (wildcards
	// and escapes), a number's digits, true or false.
	text  string
	num   float64
	isInt bool
	b     bool
}

// scalarValue reads a YAML scalar as a value. Tags other than int, float,
// bool and null (timestamps...) are strings, as written.
func scalarValue(n *yaml.Node) (value, error) {
	if n.Kind != yaml.ScalarNode {
		return value{}, fmt.Errorf("expected a scalar value, got a %s", kindName(n))
	}
	switch n.Tag {
	case "!!null":
		return value{kind: vNull}, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return value{}, err
		}
		return value{kind: vBool, b: b, text: strconv.FormatBool(b)}, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return value{kind: vNumber, num: float64(i), isInt: true, text: strconv.FormatInt(i, 10)}, nil
		}
		var f float64
		if err := n.Decode(&f); err != nil {
			return value{}, err
		}
		return value{kind: vNumber, num: f, text: n.Value}, nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return value{}, fmt.Errorf("%q is not a finite number", n.Value)
		}
		return value{kind: vNumber, num: f, text: n.Value}, nil
	}
	return value{kind: vString, text: n.Value}, nil
}

// valueOf turns a value of a mapping's ValueMap (a string, a number, a
// bool or nil) back into a value.
func valueOf(v any) value {
	switch x := v.(type) {
	case nil:
		return value{kind: vNull}
	case bool:
		return value{kind: vBool, b: x, text: strconv.FormatBool(x)}
	case int64:
		return value{kind: vNumber, num: float64(x), isInt: true, text: strconv.FormatInt(x, 10)}
	case float64:
		return value{kind: vNumber, num: x, text: strconv.FormatFloat(x, 'f', -1, 64)}
	case string:
		return value{kind: vString, text: x}
	}
	return value{kind: vString, text: fmt.Sprint(v)}
}

// literal returns the value as a ValueMap holds it.
func (v value) literal() any {
	switch v.kind {
	case vNull:
		return nil
	case vBool:
		return v.b
	case vNumber:
		if v.isInt {
			return int64(v.num)
		}
		return v.num
	}
	return v.text
}

// asString returns the value as a string value (a number or a bool as
// written), for the string modifiers.
func (v value) asString() value {
	return value{kind: vString, text: v.text}
}

// expr renders the value as an expr literal.
func (v value) expr() string {
	switch v.kind {
	case vBool:
		return strconv.FormatBool(v.b)
	case vNumber:
		if v.isInt && math.Abs(v.num) < 1<<53 {
			return strconv.FormatInt(int64(v.num), 10)
		}
		s := strconv.FormatFloat(v.num, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	case vNull:
		return "nil"
	}
	return strconv.Quote(v.text)
}

// kindName names a YAML node kind for messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "scalar"
}

// unescapeSigma returns the plain text of a Sigma string value (escapes
// resolved) and whether it holds a wildcard.
func unescapeSigma(s string) (plain string, wild bool) {
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\\' && i+1 < len(rs) && (rs[i+1] == '*' || rs[i+1] == '?' || rs[i+1] == '\\'):
			i++
			b.WriteRune(rs[i])
		case r == '*' || r == '?':
			wild = true
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), wild
}

// escapeSigma writes plain text as a Sigma string value: wildcards and
// backslashes escaped.
func escapeSigma(plain string) string {
	if !strings.ContainsAny(plain, `*?\`) {
		return plain
	}
	var b strings.Builder
	for _, r := range plain {
		if r == '*' || r == '?' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// windashRE finds the dashes and slashes windash permutes: those that
// start a word after a non-word character (a command-line flag), as
// pySigma does.
var windashRE = regexp.MustCompile(`\B[-/]\b`)

// windashChars are the characters windash puts at each such place.
var windashChars = []string{"-", "/", "–", "—", "―"}

// maxWindash bounds the places windash permutes in one value (5^4 = 625
// variants).
const maxWindash = 4

// windash returns every variant of s with each flag dash or slash replaced
// by each of windashChars.
func windash(s string) ([]string, *Skip) {
	locs := windashRE.FindAllStringIndex(s, -1)
	if len(locs) > maxWindash {
		return nil, skipf(ReasonModifier, "windash: %q has %d dashes to permute, more than the %d supported", s, len(locs), maxWindash)
	}
	out := []string{""}
	last := 0
	for _, l := range locs {
		var next []string
		for _, prefix := range out {
			for _, c := range windashChars {
				next = append(next, prefix+s[last:l[0]]+c)
			}
		}
		out, last = next, l[1]
	}
	for i := range out {
		out[i] += s[last:]
	}
	return out, nil
}

// base64Value returns the value encoded with base64 (base64 modifier), or
// the three forms the value takes at each offset inside a longer encoded
// text (base64offset), as pySigma computes them.
func base64Value(s string, offset bool) ([]string, *Skip) {
	plain, wild := unescapeSigma(s)
	if wild {
		return nil, skipf(ReasonInvalid, "base64: %q has wildcards, which cannot be encoded", s)
	}
	if !offset {
		return []string{escapeSigma(base64.StdEncoding.EncodeToString([]byte(plain)))}, nil
	}
	starts := []int{0, 2, 3}
	ends := []int{0, 3, 2} // characters cut at the end; 0 keeps all
	var out []string
	for i := range 3 {
		enc := base64.StdEncoding.EncodeToString(append([]byte(strings.Repeat(" ", i)), plain...))
		end := len(enc) - ends[(len(plain)+i)%3]
		if starts[i] >= end {
			continue
		}
		out = append(out, escapeSigma(enc[starts[i]:end]))
	}
	return out, nil
}

// placeholder returns the list a value of the expand modifier names: the
// whole value must be one placeholder, %name%.
func placeholder(s string) (string, *Skip) {
	if len(s) < 3 || s[0] != '%' || s[len(s)-1] != '%' || strings.Contains(s[1:len(s)-1], "%") {
		return "", skipf(ReasonModifier, "expand: %q is not one placeholder (%%name%%); placeholders inside longer values are not supported", s)
	}
	return listName(s[1 : len(s)-1]), nil
}

// listName is the tripline list a placeholder becomes: sigma_ and the
// placeholder's name in snake_case.
func listName(placeholder string) string {
	return "sigma_" + snake(placeholder)
}

// snake lower-cases s and turns every run of other characters than a-z
// and 0-9 into one underscore, trimmed at both ends.
func snake(s string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(s) {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(r)
			continue
		}
		under = true
	}
	return b.String()
}
