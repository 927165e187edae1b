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
	v, _ := lookup(d.m, path)
	return v
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

// str returns a string field, trimmed; other types are a bad_field.
func (d *fields) str(path string) string { return d.asStr(path, d.get(path)) }

func (d *fields) asStr(path string, v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return strings.TrimSpace(v)
	default:
		d.fail(path, "want a string, got "+typeName(v))
		return ""
	}
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

// id returns an identifier that may be a string or an integer.
func (d *fields) id(path string) string { return d.asID(path, d.get(path)) }

func (d *fields) asID(path string, v any) string {
	switch v := v.(type) {
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return strconv.FormatInt(int64(v), 10)
		}
		d.fail(path, "want an identifier, got a fractional number")
		return ""
	default:
		return d.asStr(path, v)
	}
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
// id): a trimmed string of at most MaxIdentityLen bytes, read strictly (a
// repeated key or a literal dotted key next to the nested path is a
// bad_field, so the sender cannot choose which value counts).
func (d *fields) identity(path string) string {
	return d.capped(path, d.asStr(path, d.strict(path)), MaxIdentityLen, "an identity")
}

// identityID is identity for a user id that may also be an integer.
func (d *fields) identityID(path string) string {
	return d.capped(path, d.asID(path, d.strict(path)), MaxIdentityLen, "an identity")
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

// eventID reads a native event id (a string or an integer) of at most
// MaxIdentityLen bytes.
func (d *fields) eventID(path string) string {
	return d.capped(path, d.id(path), MaxIdentityLen, "an event id")
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

// num returns a number field; a string holding a number (the Google and
// Splunk convention) is accepted. ok is false when the field is absent.
func (d *fields) num(path string) (float64, bool) {
	switch v := d.get(path).(type) {
	case nil:
		return 0, false
	case float64:
		return v, true
	case string:
		s := strings.TrimSpace(v)
		if s == "" {
			return 0, false
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			d.fail(path, "want a number, got "+quote(v))
			return 0, false
		}
		return f, true
	default:
		d.fail(path, "want a number, got "+typeName(v))
		return 0, false
	}
}

// boolean returns a bool field; the strings "true" and "false" are accepted.
func (d *fields) boolean(path string) bool {
	switch v := d.get(path).(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true
		case "false", "":
			return false
		}
		d.fail(path, "want a boolean, got "+quote(v))
	default:
		d.fail(path, "want a boolean, got "+typeName(v))
	}
	return false
}

// obj returns an object field.
func (d *fields) obj(path string) map[string]any {
	switch v := d.get(path).(type) {
	case nil:
		return nil
	case map[string]any:
		return v
	default:
		d.fail(path, "want an object, got "+typeName(v))
		return nil
	}
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

// arr returns an array field.
func (d *fields) arr(path string) []any { return d.asArr(path, d.get(path)) }

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

// strs adds to rs the strings of a field holding a string or an array of
// strings.
func (d *fields) strs(rs *reasonSet, path string) {
	switch v := d.get(path).(type) {
	case nil:
	case string:
		rs.add(v)
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok && e != nil {
				d.fail(path, "want an array of strings, got an element of type "+typeName(e))
				return
			}
			rs.add(s)
		}
	default:
		d.fail(path, "want a string or an array of strings, got "+typeName(v))
	}
}

// score reads a risk score, multiplies it by scale to bring it to 0-100
// and rounds it. Values outside 0-100 after scaling are a bad_field.
func (d *fields) score(path string, scale float64) *int {
	v, ok := d.num(path)
	if !ok {
		return nil
	}
	v *= scale
	if v < 0 || v > 100 {
		d.fail(path, "risk score "+strconv.FormatFloat(v, 'g', -1, 64)+" out of range 0-100")
		return nil
	}
	n := int(math.Round(v))
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
