package rules

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
)

// The Sigma functions run the rules `consumer rules import-sigma` writes
// (internal/sigma compiles Sigma detections to calls of them), with Sigma's
// semantics rather than expr's:
//
//   - Every function's first argument is the vendor document (raw) and its
//     second the field path, a string literal or a list of alternative path
//     literals (their values are pooled), read with RawValues. The keyword
//     search is the one exception: sigma_keyword(raw, values).
//   - The values are a literal list; a clause matches when any value found
//     at the path matches any of them (Sigma's lists are OR; `|all` is
//     written as several calls joined with &&).
//   - A value found that is an object matches when any value inside it
//     (at any depth) matches; a path that crosses an array matches when any
//     element does.
//   - Strings compare case-insensitively (the _cased variants and sigma_re
//     excepted), with the wildcards * and ? (escaped with \, see
//     compileGlob). Types are loose: the string "50053" matches the number
//     50053 and the other way round, "true" matches the JSON true.
//
// | function | matches when a value found at the path ... |
// |---|---|
// | sigma_eq | equals one of the values |
// | sigma_contains, sigma_startswith, sigma_endswith | contains, starts or ends with one |
// | sigma_*_cased | the same, case-sensitively |
// | sigma_re | matches one of the RE2 regular expressions (unanchored; flags written inline, "(?i)") |
// | sigma_cidr | is an IP address inside one of the CIDRs |
// | sigma_gt, sigma_gte, sigma_lt, sigma_lte | is a number (or a numeric string) above, at least, below, at most one of the numbers |
// | sigma_fieldref | equals a value found at one of the other paths |
// | sigma_in_list, sigma_contains_list, sigma_startswith_list, sigma_endswith_list | equals, contains, starts or ends with a member of one of the named lists (members may hold wildcards) |
// | sigma_exists(raw, path) | the path is present (even null or empty) |
// | sigma_null(raw, path) | the path is absent, or holds only nulls |
// | sigma_keyword(raw, values), sigma_keyword_cased | any string in the document contains one of the values |
//
// Literal arguments are prepared once, when the rules load (see
// callChecker.sigma): wildcard patterns, regular expressions, CIDRs and
// paths are compiled per call site, and found again at evaluation by the
// identity of the call's literal list.

// sigmaKind is the way a Sigma function compares the values it finds.
type sigmaKind int

const (
	sigmaEq sigmaKind = iota
	sigmaContains
	sigmaStartsWith
	sigmaEndsWith
	sigmaRe
	sigmaCIDR
	sigmaGt
	sigmaGte
	sigmaLt
	sigmaLte
	sigmaFieldRef
	sigmaExists
	sigmaNull
	sigmaKeyword
)

// sigmaFunc describes one Sigma function.
type sigmaFunc struct {
	name  string
	kind  sigmaKind
	cased bool
	// list: the values name lists whose members are compared (kind is
	// eq, contains, startswith or endswith).
	list bool
}

// sigmaFuncs are the Sigma functions.
var sigmaFuncs = []sigmaFunc{
	{name: "sigma_eq", kind: sigmaEq},
	{name: "sigma_contains", kind: sigmaContains},
	{name: "sigma_startswith", kind: sigmaStartsWith},
	{name: "sigma_endswith", kind: sigmaEndsWith},
	{name: "sigma_eq_cased", kind: sigmaEq, cased: true},
	{name: "sigma_contains_cased", kind: sigmaContains, cased: true},
	{name: "sigma_startswith_cased", kind: sigmaStartsWith, cased: true},
	{name: "sigma_endswith_cased", kind: sigmaEndsWith, cased: true},
	{name: "sigma_re", kind: sigmaRe},
	{name: "sigma_cidr", kind: sigmaCIDR},
	{name: "sigma_gt", kind: sigmaGt},
	{name: "sigma_gte", kind: sigmaGte},
	{name: "sigma_lt", kind: sigmaLt},
	{name: "sigma_lte", kind: sigmaLte},
	{name: "sigma_fieldref", kind: sigmaFieldRef},
	{name: "sigma_in_list", kind: sigmaEq, list: true},
	{name: "sigma_contains_list", kind: sigmaContains, list: true},
	{name: "sigma_startswith_list", kind: sigmaStartsWith, list: true},
	{name: "sigma_endswith_list", kind: sigmaEndsWith, list: true},
	{name: "sigma_exists", kind: sigmaExists},
	{name: "sigma_null", kind: sigmaNull},
	{name: "sigma_keyword", kind: sigmaKeyword},
	{name: "sigma_keyword_cased", kind: sigmaKeyword, cased: true},
}

// sigmaFuncNamed returns the Sigma function called name.
func sigmaFuncNamed(name string) (sigmaFunc, bool) {
	for _, f := range sigmaFuncs {
		if f.name == name {
			return f, true
		}
	}
	return sigmaFunc{}, false
}

// isSigmaHelper reports whether name is one of the Sigma functions.
func isSigmaHelper(name string) bool {
	_, ok := sigmaFuncNamed(name)
	return ok
}

// sigmaHelpers are the Sigma functions as callHelpers.
var sigmaHelpers = func() []callHelper {
	out := make([]callHelper, 0, len(sigmaFuncs))
	for _, f := range sigmaFuncs {
		var types []any
		switch f.kind {
		case sigmaExists, sigmaNull:
			types = []any{new(func(map[string]any, string) bool), new(func(map[string]any, []any) bool)}
		case sigmaKeyword:
			types = []any{new(func(map[string]any, []any) bool)}
		default:
			types = []any{new(func(map[string]any, string, []any) bool), new(func(map[string]any, []any, []any) bool)}
		}
		out = append(out, callHelper{name: f.name, types: types, fn: func(b *binding, a []any) any {
			return b.sigmaSite(f, a).eval(b, a[0])
		}})
	}
	return out
}()

// sigmaSites holds the prepared call sites of the loaded rules' Sigma
// functions, found again at evaluation by the identity of the call's
// literal list (the optimizer makes each literal list one constant of the
// program, the same slice at every evaluation).
type sigmaSites struct {
	byList map[*any]*sigmaSite // by the first element of the values (or, for exists and null, the paths)
	byPath map[string]*sigmaSite
	// paths are the compiled paths of the sites, one per text, numbered
	// in rawPath.id: calls reading the same path share it, and so the
	// values an evaluation found there (see pathCache).
	paths map[string]*rawPath
}

// newSigmaSites returns an empty sigmaSites.
func newSigmaSites() *sigmaSites {
	return &sigmaSites{byList: map[*any]*sigmaSite{}, byPath: map[string]*sigmaSite{}, paths: map[string]*rawPath{}}
}

// path returns the compiled path of text, compiling and numbering it at
// its first use; a nil ss compiles it alone (not cached).
func (ss *sigmaSites) path(text string) *rawPath {
	if ss == nil {
		return compileRawPath(text)
	}
	if p, ok := ss.paths[text]; ok {
		return p
	}
	p := compileRawPath(text)
	p.id = len(ss.paths)
	ss.paths[text] = p
	return p
}

// sigmaSite is one call of a Sigma function, prepared.
type sigmaSite struct {
	fn     sigmaFunc
	paths  []*rawPath
	values []sigmaValue
	res    []*regexp.Regexp
	cidrs  []netip.Prefix
	nums   []float64
	refs   []*rawPath
}

// sigmaSite returns the prepared site of a call of f with arguments a,
// preparing it now when the call was not seen at load (an expression
// compiled without checkCalls); a bad literal then panics, as the other
// helpers do.
func (b *binding) sigmaSite(f sigmaFunc, a []any) *sigmaSite {
	var key any
	switch f.kind {
	case sigmaKeyword:
		key = a[1]
	case sigmaExists, sigmaNull:
		key = a[1]
	default:
		key = a[2]
	}
	if s := b.cat.sigma.find(key); s != nil {
		return s
	}
	s, err := newSigmaSite(f, a[1:], b.cat.lists, nil)
	if err != nil {
		panic(err)
	}
	return s
}

// find returns the site keyed by key (a literal list or a path), nil when
// there is none.
func (ss *sigmaSites) find(key any) *sigmaSite {
	if ss == nil {
		return nil
	}
	switch k := key.(type) {
	case []any:
		if len(k) > 0 {
			return ss.byList[&k[0]]
		}
	case string:
		return ss.byPath[k]
	}
	return nil
}

// add records a prepared site under key.
func (ss *sigmaSites) add(key any, s *sigmaSite) {
	switch k := key.(type) {
	case []any:
		if len(k) > 0 {
			ss.byList[&k[0]] = s
		}
	case string:
		ss.byPath[k] = s
	}
}

// newSigmaSite prepares a call of f whose arguments after raw are args:
// the path (a string or a list of strings) and the values, or for
// sigma_keyword the values alone. Its paths come from ss (nil: compiled
// for the site alone).
func newSigmaSite(f sigmaFunc, args []any, lists map[string][]string, ss *sigmaSites) (*sigmaSite, error) {
	s := &sigmaSite{fn: f}
	values := args[0]
	if f.kind != sigmaKeyword {
		paths, err := sigmaPaths(args[0], ss)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		s.paths = paths
		if f.kind == sigmaExists || f.kind == sigmaNull {
			return s, nil
		}
		values = args[1]
	}
	list, ok := values.([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("%s: the values must be a non-empty list of literals", f.name)
	}
	if err := s.prepare(list, lists, ss); err != nil {
		return nil, fmt.Errorf("%s: %w", f.name, err)
	}
	return s, nil
}

// sigmaPaths compiles a path argument, a string or a list of strings,
// with ss (see sigmaSites.path).
func sigmaPaths(arg any, ss *sigmaSites) ([]*rawPath, error) {
	var texts []string
	switch p := arg.(type) {
	case string:
		texts = []string{p}
	case []any:
		for _, el := range p {
			s, ok := el.(string)
			if !ok {
				return nil, fmt.Errorf("the field path list holds %T, want strings", el)
			}
			texts = append(texts, s)
		}
	}
	if len(texts) == 0 {
		return nil, fmt.Errorf("the field path must be a string or a non-empty list of strings")
	}
	out := make([]*rawPath, 0, len(texts))
	for _, t := range texts {
		if t == "" || slices.Contains(splitPath(t), "") {
			return nil, fmt.Errorf("field path %q has an empty segment", t)
		}
		out = append(out, ss.path(t))
	}
	return out, nil
}

// prepare compiles the literal values of the site, its paths with ss.
func (s *sigmaSite) prepare(list []any, lists map[string][]string, ss *sigmaSites) error {
	f := s.fn
	for _, v := range list {
		switch f.kind {
		case sigmaRe:
			str, ok := v.(string)
			if !ok {
				return fmt.Errorf("regular expression %v is not a string", v)
			}
			re, err := regexp.Compile(str)
			if err != nil {
				return fmt.Errorf("regular expression %q: %w", str, err)
			}
			s.res = append(s.res, re)
		case sigmaCIDR:
			str, ok := v.(string)
			if !ok {
				return fmt.Errorf("CIDR %v is not a string", v)
			}
			p, err := parsePrefix(str)
			if err != nil {
				return fmt.Errorf("%q is not a CIDR or an IP address", str)
			}
			s.cidrs = append(s.cidrs, p)
		case sigmaGt, sigmaGte, sigmaLt, sigmaLte:
			n, ok := number(v)
			if !ok {
				return fmt.Errorf("%v is not a number", v)
			}
			s.nums = append(s.nums, n)
		case sigmaFieldRef:
			refs, err := sigmaPaths(v, ss)
			if err != nil {
				return err
			}
			s.refs = append(s.refs, refs...)
		default:
			if f.list {
				name, ok := v.(string)
				if !ok {
					return fmt.Errorf("list name %v is not a string", v)
				}
				members, ok := lists[name]
				if !ok {
					return fmt.Errorf("unknown list %q", name)
				}
				for _, m := range members {
					s.values = append(s.values, newSigmaValue(m, f))
				}
				continue
			}
			switch v.(type) {
			case string, bool, int, float64:
			default:
				return fmt.Errorf("value %v is not a string, a number or a bool", v)
			}
			s.values = append(s.values, newSigmaValue(v, f))
		}
	}
	return nil
}

// eval runs the site on the document raw, reading the values at its
// paths through b's per-evaluation cache (see pathCache).
func (s *sigmaSite) eval(b *binding, raw any) bool {
	doc, _ := raw.(map[string]any)
	switch s.fn.kind {
	case sigmaExists:
		for _, p := range s.paths {
			if len(b.paths.values(p, doc)) > 0 {
				return true
			}
		}
		return false
	case sigmaNull:
		for _, p := range s.paths {
			for _, v := range b.paths.values(p, doc) {
				if !allNull(v) {
					return false
				}
			}
		}
		return true
	case sigmaKeyword:
		return s.keywordIn(doc)
	case sigmaFieldRef:
		return s.fieldRef(b, doc)
	}
	for _, p := range s.paths {
		for _, v := range b.paths.values(p, doc) {
			if s.leafMatches(v) {
				return true
			}
		}
	}
	return false
}

// leafMatches reports whether v, a value found at a path, is a scalar that
// matches (matchScalar) or holds one, at any depth.
func (s *sigmaSite) leafMatches(v any) bool {
	switch n := v.(type) {
	case map[string]any:
		for _, el := range n {
			if s.leafMatches(el) {
				return true
			}
		}
		return false
	case []any:
		for _, el := range n {
			if s.leafMatches(el) {
				return true
			}
		}
		return false
	}
	return s.matchScalar(v)
}

// keywordIn reports whether v holds, at any depth, a string that matches
// one of the keyword values.
func (s *sigmaSite) keywordIn(v any) bool {
	switch n := v.(type) {
	case map[string]any:
		for _, el := range n {
			if s.keywordIn(el) {
				return true
			}
		}
		return false
	case []any:
		for _, el := range n {
			if s.keywordIn(el) {
				return true
			}
		}
		return false
	case string:
		return s.matchValues(n)
	}
	return false
}

// matchScalar reports whether the scalar v (a string, a number, a bool or
// nil) matches one of the site's values.
func (s *sigmaSite) matchScalar(v any) bool {
	switch s.fn.kind {
	case sigmaRe:
		str, ok := scalarText(v)
		if !ok {
			return false
		}
		for _, re := range s.res {
			if re.MatchString(str) {
				return true
			}
		}
		return false
	case sigmaCIDR:
		str, ok := v.(string)
		if !ok {
			return false
		}
		a, err := netip.ParseAddr(str)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range s.cidrs {
			if p.Contains(a) {
				return true
			}
		}
		return false
	case sigmaGt, sigmaGte, sigmaLt, sigmaLte:
		n, ok := numeric(v)
		if !ok {
			return false
		}
		for _, x := range s.nums {
			if compareNum(s.fn.kind, n, x) {
				return true
			}
		}
		return false
	}
	return s.matchValues(v)
}

// matchValues reports whether the scalar v matches one of the compiled
// string, number or bool values. v is converted (to text, to a number, to
// a bool) at most once, whatever the number of values.
func (s *sigmaSite) matchValues(v any) bool {
	d := docScalar{v: v}
	for i := range s.values {
		if s.values[i].matchDoc(&d) {
			return true
		}
	}
	return false
}

// fieldRef reports whether a value found at one of the paths equals a
// value found at one of the referenced paths (loosely typed,
// case-insensitively).
func (s *sigmaSite) fieldRef(b *binding, doc map[string]any) bool {
	var buf [8]string
	refs := buf[:0]
	for _, p := range s.refs {
		for _, v := range b.paths.values(p, doc) {
			refs = appendLeafTexts(refs, v)
		}
	}
	if len(refs) == 0 {
		return false
	}
	for _, p := range s.paths {
		for _, v := range b.paths.values(p, doc) {
			if leafTextIn(v, refs) {
				return true
			}
		}
	}
	return false
}

// appendLeafTexts appends the text (scalarText) of each scalar in v, v
// itself or inside it at any depth.
func appendLeafTexts(out []string, v any) []string {
	switch n := v.(type) {
	case map[string]any:
		for _, el := range n {
			out = appendLeafTexts(out, el)
		}
		return out
	case []any:
		for _, el := range n {
			out = appendLeafTexts(out, el)
		}
		return out
	}
	if t, ok := scalarText(v); ok {
		out = append(out, t)
	}
	return out
}

// leafTextIn reports whether a scalar in v, v itself or inside it at any
// depth, has a text equal to one of texts once lower-cased.
func leafTextIn(v any, texts []string) bool {
	switch n := v.(type) {
	case map[string]any:
		for _, el := range n {
			if leafTextIn(el, texts) {
				return true
			}
		}
		return false
	case []any:
		for _, el := range n {
			if leafTextIn(el, texts) {
				return true
			}
		}
		return false
	}
	t, ok := scalarText(v)
	if !ok {
		return false
	}
	for _, r := range texts {
		if foldEqual(t, r) {
			return true
		}
	}
	return false
}

func compareNum(k sigmaKind, n, x float64) bool {
	switch k {
	case sigmaGt:
		return n > x
	case sigmaGte:
		return n >= x
	case sigmaLt:
		return n < x
	}
	return n <= x
}

// allNull reports whether v, a value found at a path, is null: nil, or an
// array holding only nulls (an empty array included).
func allNull(v any) bool {
	switch n := v.(type) {
	case nil:
		return true
	case []any:
		for _, el := range n {
			if !allNull(el) {
				return false
			}
		}
		return true
	}
	return false
}

// number returns a literal's value as a float64 when it is a number.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// numeric returns a document value as a number: a number, or a string
// holding one (strconv.ParseFloat's syntax, around spaces).
func numeric(v any) (float64, bool) {
	if n, ok := number(v); ok {
		return n, true
	}
	if s, ok := v.(string); ok {
		s = strings.TrimSpace(s)
		if !maybeFloat(s) {
			return 0, false
		}
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
	return 0, false
}

// maybeFloat reports whether strconv.ParseFloat may accept s: false only
// for a string it certainly refuses (empty, or not starting, after an
// optional sign, with a digit, a dot, or the i or n of inf, infinity and
// nan). It spares the error ParseFloat allocates for the many strings
// that are not numbers.
func maybeFloat(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	switch c := s[0]; {
	case '0' <= c && c <= '9', c == '.', c == 'i', c == 'I', c == 'n', c == 'N':
		return true
	}
	return false
}

// scalarText returns a scalar document value as the string a Sigma value
// compares with: a string as is, a number in its shortest decimal form, a
// bool as true or false. Nil and containers have none.
func scalarText(v any) (string, bool) {
	switch n := v.(type) {
	case string:
		return n, true
	case bool:
		return strconv.FormatBool(n), true
	}
	if f, ok := number(v); ok {
		return strconv.FormatFloat(f, 'f', -1, 64), true
	}
	return "", false
}

// sigmaValue is one prepared value of a string, number or bool
// comparison.
type sigmaValue struct {
	// isNum and isBool say the value was written as a number or a bool;
	// otherwise it is a string, compared through pat.
	isNum, isBool bool
	num           float64
	b             bool
	pat           sigmaGlob
}

// newSigmaValue prepares v, a literal value of a call of f.
func newSigmaValue(v any, f sigmaFunc) sigmaValue {
	if f.kind == sigmaEq {
		if n, ok := number(v); ok {
			return sigmaValue{isNum: true, num: n}
		}
		if b, ok := v.(bool); ok {
			return sigmaValue{isBool: true, b: b}
		}
	}
	text, _ := scalarText(v)
	g := compileGlob(text, f.cased)
	switch f.kind {
	case sigmaContains, sigmaKeyword:
		g = g.surround(true, true)
	case sigmaStartsWith:
		g = g.surround(false, true)
	case sigmaEndsWith:
		g = g.surround(true, false)
	}
	return sigmaValue{pat: g}
}

// match reports whether the scalar document value d matches the value,
// loosely typed: a number value matches a number or a numeric string; a
// bool value matches a bool or the strings true and false; a string value
// matches a string, a number written in decimal or a bool written true or
// false.
func (sv *sigmaValue) match(d any) bool {
	return sv.matchDoc(&docScalar{v: d})
}

// matchDoc is match on a document value whose conversions d keeps.
func (sv *sigmaValue) matchDoc(d *docScalar) bool {
	switch {
	case sv.isNum:
		n, ok := d.number()
		return ok && n == sv.num
	case sv.isBool:
		b, ok := d.boolean()
		return ok && b == sv.b
	}
	text, ok := d.text()
	return ok && sv.pat.match(text)
}

// docScalar is a scalar document value and its conversions (scalarText,
// numeric, boolValue), each made at its first use.
type docScalar struct {
	v                       any
	txt                     string
	num                     float64
	b                       bool
	txtOK, numOK, bOK       bool
	txtDone, numDone, bDone bool
}

func (d *docScalar) text() (string, bool) {
	if !d.txtDone {
		d.txt, d.txtOK = scalarText(d.v)
		d.txtDone = true
	}
	return d.txt, d.txtOK
}

func (d *docScalar) number() (float64, bool) {
	if !d.numDone {
		d.num, d.numOK = numeric(d.v)
		d.numDone = true
	}
	return d.num, d.numOK
}

func (d *docScalar) boolean() (bool, bool) {
	if !d.bDone {
		d.b, d.bOK = boolValue(d.v)
		d.bDone = true
	}
	return d.b, d.bOK
}

// boolValue returns the bool a scalar document value stands for when a
// bool value compares with it: a bool, or a string that is true or false
// in any case.
func boolValue(d any) (b, ok bool) {
	switch x := d.(type) {
	case bool:
		return x, true
	case string:
		switch {
		case foldEqual(x, "true"):
			return true, true
		case foldEqual(x, "false"):
			return false, true
		}
	}
	return false, false
}

// sigmaKey is a value of a sigma_eq call in the form the value index
// (index_values.go) files it under: a string value without wildcards as
// its folded text, a number as its float64, a bool as is. A scalar
// document value matches the value (sigmaValue.match) exactly when one of
// its keys is equal to it: its folded text (foldedText), its number
// (numeric) or its bool (boolValue), the conversions sigmaValue.match
// itself makes (valueGroup.markLeaves looks each up);
// TestSigmaKeysAgreeWithMatch checks it.
type sigmaKey struct {
	kind sigmaKeyKind
	text string
	num  float64
	b    bool
}

// sigmaKeyKind is the kind of a sigmaKey.
type sigmaKeyKind uint8

const (
	keyText sigmaKeyKind = iota
	keyNum
	keyBool
)

// eqKey returns the key of a prepared sigma_eq value; ok is false for a
// value the index cannot file (a string with a wildcard, a cased value).
func (sv *sigmaValue) eqKey() (k sigmaKey, ok bool) {
	switch {
	case sv.isNum:
		return sigmaKey{kind: keyNum, num: sv.num}, true
	case sv.isBool:
		return sigmaKey{kind: keyBool, b: sv.b}, true
	}
	if sv.pat.cased || slices.Contains(sv.pat.pat, wildStar) || slices.Contains(sv.pat.pat, wildOne) {
		return sigmaKey{}, false
	}
	// The runes of the pattern are already folded (compileGlob).
	return sigmaKey{kind: keyText, text: string(sv.pat.pat)}, true
}

// foldedText appends to buf the text of a scalar document value as a
// string sigma_eq value compares with it (scalarText), folded as
// sigmaGlob.match folds it, rune by rune: the text key of the value.
func foldedText(buf []byte, d any) ([]byte, bool) {
	text, ok := scalarText(d)
	if !ok {
		return buf, false
	}
	for i := 0; i < len(text); {
		r, size := decodeRune(text, i)
		buf = utf8.AppendRune(buf, lowerRune(r))
		i += size
	}
	return buf, true
}

// sigmaGlob is a Sigma string value: literal runes and the wildcards * (any
// run of characters) and ? (one character).
type sigmaGlob struct {
	pat   []rune // wildStar and wildOne stand for the wildcards
	cased bool
	// shape and lit are the pattern's fast form, when it is an ASCII
	// literal (lit), possibly after and/or before a star, and has no
	// other wildcard: match then compares bytes on an ASCII text (see
	// withShape). globGeneric: no fast form.
	shape globShape
	lit   string
}

// globShape is the fast form of a sigmaGlob.
type globShape uint8

const (
	globGeneric  globShape = iota
	globExact              // lit
	globPrefix             // lit*
	globSuffix             // *lit
	globContains           // *lit* (and * alone: lit empty)
)

const (
	wildStar rune = -1
	wildOne  rune = -2
)

// compileGlob parses a Sigma string value. * and ? are wildcards; a
// backslash escapes a wildcard or a backslash ("\*", "\?", "\\"), and
// stands for itself before anything else (and at the end). Unless cased,
// the value is lower-cased (matching lower-cases the text too).
func compileGlob(s string, cased bool) sigmaGlob {
	g := sigmaGlob{cased: cased}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '\\' && i+1 < len(rs) && (rs[i+1] == '*' || rs[i+1] == '?' || rs[i+1] == '\\'):
			i++
			g.pat = append(g.pat, g.fold(rs[i]))
		case r == '*':
			if n := len(g.pat); n == 0 || g.pat[n-1] != wildStar {
				g.pat = append(g.pat, wildStar)
			}
		case r == '?':
			g.pat = append(g.pat, wildOne)
		default:
			g.pat = append(g.pat, g.fold(r))
		}
	}
	return g.withShape()
}

// withShape returns g with its fast form (shape and lit) set.
func (g sigmaGlob) withShape() sigmaGlob {
	g.shape, g.lit = globGeneric, ""
	p := g.pat
	lead := len(p) > 0 && p[0] == wildStar
	if lead {
		p = p[1:]
	}
	trail := len(p) > 0 && p[len(p)-1] == wildStar
	if trail {
		p = p[:len(p)-1]
	}
	lit := make([]byte, 0, len(p))
	for _, r := range p {
		if r < 0 || r >= utf8.RuneSelf {
			return g // a wildcard inside, or a rune beyond ASCII
		}
		lit = append(lit, byte(r))
	}
	g.lit = string(lit)
	switch {
	case lead && trail, lead && len(g.pat) == 1:
		g.shape = globContains
	case lead:
		g.shape = globSuffix
	case trail:
		g.shape = globPrefix
	default:
		g.shape = globExact
	}
	return g
}

// surround returns g with a leading and/or trailing star.
func (g sigmaGlob) surround(lead, trail bool) sigmaGlob {
	out := sigmaGlob{cased: g.cased, pat: make([]rune, 0, len(g.pat)+2)}
	if lead && (len(g.pat) == 0 || g.pat[0] != wildStar) {
		out.pat = append(out.pat, wildStar)
	}
	out.pat = append(out.pat, g.pat...)
	if trail && (len(out.pat) == 0 || out.pat[len(out.pat)-1] != wildStar) {
		out.pat = append(out.pat, wildStar)
	}
	return out.withShape()
}

// fold lower-cases r unless the sigmaGlob is cased.
func (g sigmaGlob) fold(r rune) rune {
	if g.cased {
		return r
	}
	return lowerRune(r)
}

// lowerRune lower-cases r, ASCII without a table lookup.
func lowerRune(r rune) rune {
	if r < 0x80 {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	return unicodeLower(r)
}

// match reports whether s matches the whole pattern.
func (g sigmaGlob) match(s string) bool {
	if g.shape != globGeneric && isASCII(s) {
		return g.matchASCII(s)
	}
	p := g.pat
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		r, size := decodeRune(s, si)
		if pi < len(p) && p[pi] != wildStar && (p[pi] == wildOne || p[pi] == g.fold(r)) {
			pi++
			si += size
			continue
		}
		if pi < len(p) && p[pi] == wildStar {
			starP, starS = pi, si
			pi++
			continue
		}
		if starP >= 0 {
			_, skip := decodeRune(s, starS)
			starS += skip
			pi, si = starP+1, starS
			continue
		}
		return false
	}
	for pi < len(p) && p[pi] == wildStar {
		pi++
	}
	return pi == len(p)
}

// matchASCII is match for a pattern with a fast form and an ASCII s:
// the same comparisons (ASCII folding is lowerRune's on ASCII), on bytes.
func (g sigmaGlob) matchASCII(s string) bool {
	n := len(g.lit)
	switch g.shape {
	case globExact:
		return len(s) == n && g.equalASCII(s)
	case globPrefix:
		return len(s) >= n && g.equalASCII(s[:n])
	case globSuffix:
		return len(s) >= n && g.equalASCII(s[len(s)-n:])
	}
	for i := 0; i+n <= len(s); i++ {
		if g.equalASCII(s[i : i+n]) {
			return true
		}
	}
	return false
}

// equalASCII reports whether the ASCII s, folded unless g is cased, is
// g.lit (of the same length).
func (g sigmaGlob) equalASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !g.cased && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != g.lit[i] {
			return false
		}
	}
	return true
}

// foldEqual reports whether a and b are equal once lower-cased.
func foldEqual(a, b string) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ra, na := decodeRune(a, i)
		rb, nb := decodeRune(b, j)
		if lowerRune(ra) != lowerRune(rb) {
			return false
		}
		i, j = i+na, j+nb
	}
	return i == len(a) && j == len(b)
}

// decodeRune decodes the rune of s at byte i, ASCII without a call.
func decodeRune(s string, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// unicodeLower lower-cases a non-ASCII rune.
func unicodeLower(r rune) rune { return unicode.ToLower(r) }

// sigma checks the literal arguments of a call of the Sigma function fn
// and prepares the call site (see sigmaSites).
func (c *callChecker) sigma(fn string, args []ast.Node) {
	f, _ := sigmaFuncNamed(fn)
	want := 3
	switch f.kind {
	case sigmaKeyword, sigmaExists, sigmaNull:
		want = 2
	}
	if len(args) != want {
		return // the type checker reports it
	}
	lits := make([]any, 0, 2)
	for i, a := range args[1:] {
		v, ok := literalArg(a)
		if !ok {
			what := "the values"
			if i == 0 && f.kind != sigmaKeyword {
				what = "the field path"
			}
			c.bad("%s: %s must be literals (a string or a list of literals)", fn, what)
			return
		}
		lits = append(lits, v)
	}
	lists := map[string][]string{}
	for name, l := range c.lists {
		lists[name] = l.items
	}
	if c.cat.sigma == nil {
		c.cat.sigma = newSigmaSites()
	}
	s, err := newSigmaSite(f, lits, lists, c.cat.sigma)
	if err != nil {
		c.bad("%v", err)
		return
	}
	c.cat.sigma.add(lits[len(lits)-1], s)
}

// literalArg returns the value of a literal argument as the call receives
// it: a string, or a list of literals (which the optimizer folds into one
// constant).
func literalArg(n ast.Node) (any, bool) {
	switch n := n.(type) {
	case *ast.StringNode:
		return n.Value, true
	case *ast.ConstantNode:
		if l, ok := n.Value.([]any); ok {
			return l, true
		}
	}
	return nil, false
}
