package event

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// lookup finds a dotted path in a decoded document, whatever mix of literal
// dotted keys ("kibana.alert.uuid") and nested objects the producer used.
// It never allocates.
func lookup(m map[string]any, path string) (any, bool) {
	if v, ok := m[path]; ok {
		return v, true
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '.' {
			continue
		}
		if sub, ok := m[path[:i]].(map[string]any); ok {
			if v, ok := lookup(sub, path[i+1:]); ok {
				return v, true
			}
		}
	}
	return nil, false
}

// resolver finds every way a dotted path resolves in a document, for the
// fields a sender must not be able to pick a value of (see
// fields.identity): a literal dotted key next to the nested path, or a key
// repeated in one object, is a problem.
type resolver struct {
	doc     *document
	n       int    // how many ways the path resolves
	v       any    // the value of the first way, in lookup's order
	problem string // why the path is ambiguous, "" if it is not
}

// lookupStrict is lookup that also reports, in problem, a path that
// resolves more than one way or goes through a repeated key. ok is false
// when the path is absent or ambiguous. Its work grows with the number of
// dots of path (at most 2^dots map reads), never with the document.
func (doc *document) lookupStrict(m map[string]any, path string) (v any, ok bool, problem string) {
	r := resolver{doc: doc}
	r.walk(m, path)
	switch {
	case r.problem != "":
		return nil, false, r.problem
	case r.n > 1:
		return nil, false, "given both as a literal dotted key and as nested objects (or as several mixes of them); " +
			"refused, the sender could choose which one counts"
	}
	return r.v, r.n == 1, ""
}

func (r *resolver) walk(m map[string]any, path string) {
	if v, ok := m[path]; ok {
		if r.repeated(m, path) {
			return
		}
		if r.n == 0 {
			r.v = v
		}
		r.n++
	}
	for i := 0; i < len(path) && r.problem == ""; i++ {
		if path[i] != '.' {
			continue
		}
		sub, ok := m[path[:i]]
		if !ok || r.repeated(m, path[:i]) {
			continue
		}
		if sm, ok := sub.(map[string]any); ok {
			r.walk(sm, path[i+1:])
		}
	}
}

// repeated records a problem when key is repeated in m, whatever its
// values: the sender could make either one count.
func (r *resolver) repeated(m map[string]any, key string) bool {
	if r.problem == "" && r.doc.repeated(m, key) {
		r.problem = "key " + quote(key) + " appears more than once in one object; refused, the sender could choose which one counts"
	}
	return r.problem != ""
}

// fields reads typed values out of one document. The first type error is
// kept in err (with reason bad_field) and later reads return zero values,
// so format mappers read everything and check err once. A JSON null reads
// as absent.
type fields struct {
	m   map[string]any
	f   Format
	doc *document // the message, for repeated keys; nil reads as none
	// prefix is put before the paths errors name, while reading a nested
	// object (see withinAt).
	prefix string
	err    *Error
}

// fields returns a reader of m, an object of doc, as format f.
func (doc *document) fields(m map[string]any, f Format) *fields {
	return &fields{m: m, f: f, doc: doc}
}

func (d *fields) fail(path, problem string) {
	if d.err == nil {
		d.err = badField(d.f, d.prefix+path, problem)
	}
}

func (d *fields) get(path string) any {
	if d.doc != nil && !d.doc.dotted {
		return lookupNested(d.m, path)
	}
	v, _ := lookup(d.m, path)
	return v
}

// lookupNested is lookup for a document without literal dotted keys: the
// path can only be nested objects.
func lookupNested(m map[string]any, path string) any {
	for {
		i := strings.IndexByte(path, '.')
		if i < 0 {
			return m[path]
		}
		sub, ok := m[path[:i]].(map[string]any)
		if !ok {
			return nil
		}
		m, path = sub, path[i+1:]
	}
}

// strict is get for the fields that choose the user: a path that resolves
// more than one way (see lookupStrict) is a bad_field and reads as absent.
func (d *fields) strict(path string) any {
	v, _, problem := d.doc.lookupStrict(d.m, path)
	if problem != "" {
		d.fail(path, problem)
		return nil
	}
	return v
}

// str reads a field that is not an identity as text (see text): a vendor
// that sends a number or a boolean where a string is documented, or a
// one-element list, is read anyway, and a value that cannot be read as text
// (an object) reads as absent. It never fails: the value stays in Raw.
func (d *fields) str(path string) string { return text(d.get(path)) }

// text returns a string trimmed, a number formatted (integers without a
// fraction), a boolean as "true" or "false", the first non-empty scalar
// of an array, and "" for null and objects.
func text(v any) string {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if s := scalar(e); s != "" {
				return s
			}
		}
		return ""
	}
	return scalar(v)
}

// scalar is text without the array case.
func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return strings.TrimSpace(v)
	case float64:
		return formatNumber(v)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// formatNumber formats a JSON number: an integer without a fraction or
// exponent (up to 2^53), else the shortest representation.
func formatNumber(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// firstStr returns the first non-empty string among paths.
func (d *fields) firstStr(paths ...string) string {
	for _, p := range paths {
		if s := d.str(p); s != "" {
			return s
		}
	}
	return ""
}

// asIdentity reads the value v of an identity field at path: a string,
// trimmed, or an integer, formatted. Any other type (a fractional
// number, a boolean, an array, an object) cannot name a user: it is a
// bad_field, since reading it as absent could let another field choose
// the user.
func (d *fields) asIdentity(path string, v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(v)
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return strconv.FormatInt(int64(v), 10)
		}
		d.fail(path, "want a string or an integer, got a fractional number")
	default:
		d.fail(path, "want a string or an integer, got "+typeName(v))
	}
	return ""
}

// capped returns s, or "" after a bad_field when s is longer than limit.
func (d *fields) capped(path, s string, limit int, what string) string {
	if len(s) <= limit {
		return s
	}
	d.fail(path, strconv.Itoa(len(s))+" bytes, more than the "+strconv.Itoa(limit)+" allowed for "+what)
	return ""
}

// identity reads a field that names the user (an email, a login, a user
// id): a trimmed string or an integer (see asIdentity) of at most
// MaxIdentityLen bytes, read strictly (a repeated key or a literal dotted
// key next to the nested path is a bad_field, so the sender cannot choose
// which value counts).
func (d *fields) identity(path string) string {
	return d.capped(path, d.asIdentity(path, d.strict(path)), MaxIdentityLen, "an identity")
}

// firstIdentity returns the first non-empty identity among paths.
func (d *fields) firstIdentity(paths ...string) string {
	for _, p := range paths {
		if s := d.identity(p); s != "" {
			return s
		}
	}
	return ""
}

// eventID reads a native event id (a string or a number) of at most
// MaxIdentityLen bytes. Another type reads as absent: the event id is then
// the hash of the document.
func (d *fields) eventID(path string) string {
	return d.capped(path, scalarID(d.get(path)), MaxIdentityLen, "an event id")
}

func scalarID(v any) string {
	switch v.(type) {
	case string, float64:
		return scalar(v)
	}
	return ""
}

// firstEventID returns the first non-empty event id among paths.
func (d *fields) firstEventID(paths ...string) string {
	for _, p := range paths {
		if s := d.eventID(p); s != "" {
			return s
		}
	}
	return ""
}

// ip reads a source address of at most MaxIPLen bytes. It is not parsed:
// sources put host names and labels there too (CloudTrail's "AWS
// Internal").
func (d *fields) ip(path string) string {
	return d.capped(path, d.str(path), MaxIPLen, "an IP address")
}

// firstIP returns the first non-empty address among paths.
func (d *fields) firstIP(paths ...string) string {
	for _, p := range paths {
		if s := d.ip(p); s != "" {
			return s
		}
	}
	return ""
}

// geo reads a country or city of at most MaxGeoLen bytes.
func (d *fields) geo(path string) string {
	return d.capped(path, d.str(path), MaxGeoLen, "a country or city")
}

// firstGeo returns the first non-empty country or city among paths.
func (d *fields) firstGeo(paths ...string) string {
	for _, p := range paths {
		if s := d.geo(p); s != "" {
			return s
		}
	}
	return ""
}

// num reads a number field: a number, or a string holding one (the Google
// and Splunk convention, and vendors that quote numbers). ok is false when
// the field is absent or holds no number; that is not an error (the value
// stays in Raw).
func (d *fields) num(path string) (float64, bool) { return number(d.get(path)) }

func number(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

// boolean reads a bool field: true, or the strings "true", "yes", "y",
// "on", "1" (any case), or a non-zero number. Anything else, including
// words it does not know, is false; never an error.
func (d *fields) boolean(path string) bool { return truthy(d.get(path)) }

func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case float64:
		return v != 0
	case string:
		s := strings.TrimSpace(v)
		for _, w := range [...]string{"true", "yes", "y", "on", "1"} {
			if strings.EqualFold(s, w) {
				return true
			}
		}
	}
	return false
}

// obj returns an object field, nil when absent or not an object.
func (d *fields) obj(path string) map[string]any {
	m, _ := d.get(path).(map[string]any)
	return m
}

// batch returns the array of a batch envelope, read strictly (see
// identity): the items carry the identities.
func (d *fields) batch(path string) []any { return d.asArr(path, d.strict(path)) }

// detail returns the detail object of an EventBridge envelope, read
// strictly (see identity), or nil when m is not an envelope.
func (d *fields) detail() map[string]any {
	if !has(d.m, "detail-type") {
		return nil
	}
	if _, ok := d.m["detail"].(map[string]any); !ok {
		return nil
	}
	detail, _ := d.strict("detail").(map[string]any)
	return detail
}

// arr returns an array field, nil when absent or not an array.
func (d *fields) arr(path string) []any {
	a, _ := d.get(path).([]any)
	return a
}

// asArr returns v, the value of the array field at path that holds
// identities (a batch, Okta's target list): another type is a bad_field.
func (d *fields) asArr(path string, v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		d.fail(path, "want an array, got "+typeName(v))
		return nil
	}
}

// strs adds to rs the strings and numbers of a field holding one or an
// array of them. Other values (booleans, objects, null) are left out; it
// never fails.
func (d *fields) strs(rs *reasonSet, path string) {
	switch v := d.get(path).(type) {
	case string, float64:
		rs.add(scalar(v))
	case []any:
		for _, e := range v {
			switch e.(type) {
			case string, float64:
				rs.add(scalar(e))
			}
		}
	}
}

// score reads a risk score (a number or a string holding one, see num),
// multiplies it by scale to bring it to 0-100, clamps it to 0-100 and
// rounds it. nil when absent or not a number; the vendor's value stays in
// Raw.
func (d *fields) score(path string, scale float64) *int {
	v, ok := d.num(path)
	if !ok {
		return nil
	}
	n := int(math.Round(min(max(v*scale, 0), 100)))
	return &n
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "an unknown type"
}

// reasonSet collects the reasons of one event: trimmed, non-empty, each
// once, in the order first seen, at most MaxReasons of at most MaxReasonLen
// bytes. Adding is constant time: a short list is scanned, a longer one
// has a set.
type reasonSet struct {
	list []string
	seen map[string]struct{} // the kept reasons, once list is past reasonScan
	// truncated counts the values shortened to MaxReasonLen and the values
	// left out because the list was full (each time they appear).
	truncated int
}

// reasonScan is the longest list searched without a set.
const reasonScan = 16

func (r *reasonSet) add(s string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return
	}
	cut := len(s) > MaxReasonLen
	if cut {
		s = strings.TrimSpace(truncateUTF8(s, MaxReasonLen))
	}
	if r.has(s) {
		return
	}
	if len(r.list) >= MaxReasons {
		r.truncated++
		return
	}
	if cut {
		r.truncated++
	}
	r.list = append(r.list, s)
	switch {
	case r.seen != nil:
		r.seen[s] = struct{}{}
	case len(r.list) > reasonScan:
		r.seen = make(map[string]struct{}, 2*len(r.list))
		for _, k := range r.list {
			r.seen[k] = struct{}{}
		}
	}
}

func (r *reasonSet) has(s string) bool {
	if r.seen != nil {
		_, ok := r.seen[s]
		return ok
	}
	return slices.Contains(r.list, s)
}

// len returns how many reasons are kept.
func (r *reasonSet) len() int { return len(r.list) }

// into stores the reasons in e.
func (r *reasonSet) into(e *Event) {
	e.Reasons = r.list
	e.ReasonsTruncated = r.truncated
}

func itoa(i int) string { return strconv.Itoa(i) }

// within runs fn with d reading from m instead, keeping the error state.
func (d *fields) within(m map[string]any, fn func()) { d.withinAt("", m, fn) }

// withinAt is within where errors name paths after prefix ("target[2].").
func (d *fields) withinAt(prefix string, m map[string]any, fn func()) {
	savedM, savedPrefix := d.m, d.prefix
	d.m, d.prefix = m, d.prefix+prefix
	fn()
	d.m, d.prefix = savedM, savedPrefix
}
