package event

import (
	"math"
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

// fields reads typed values out of one document. The first type error is
// kept in err (with reason bad_field) and later reads return zero values,
// so format mappers read everything and check err once. A JSON null reads
// as absent.
type fields struct {
	m   map[string]any
	f   Format
	err *Error
}

func (d *fields) fail(path, problem string) {
	if d.err == nil {
		d.err = badField(d.f, path, problem)
	}
}

func (d *fields) get(path string) any {
	v, _ := lookup(d.m, path)
	return v
}

// str returns a string field, trimmed; other types are a bad_field.
func (d *fields) str(path string) string {
	switch v := d.get(path).(type) {
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
func (d *fields) id(path string) string {
	switch v := d.get(path).(type) {
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return strconv.FormatInt(int64(v), 10)
		}
		d.fail(path, "want an identifier, got a fractional number")
		return ""
	default:
		return d.str(path)
	}
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
			d.fail(path, "want a number, got "+strconv.Quote(v))
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
		d.fail(path, "want a boolean, got "+strconv.Quote(v))
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

// arr returns an array field.
func (d *fields) arr(path string) []any {
	switch v := d.get(path).(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		d.fail(path, "want an array, got "+typeName(v))
		return nil
	}
}

// strs appends the strings of a field holding a string or an array of
// strings.
func (d *fields) strs(dst []string, path string) []string {
	switch v := d.get(path).(type) {
	case nil:
	case string:
		dst = addReason(dst, v)
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok && e != nil {
				d.fail(path, "want an array of strings, got an element of type "+typeName(e))
				return dst
			}
			dst = addReason(dst, s)
		}
	default:
		d.fail(path, "want a string or an array of strings, got "+typeName(v))
	}
	return dst
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

// addReason appends a trimmed, non-empty reason once.
func addReason(dst []string, s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return dst
	}
	for _, r := range dst {
		if r == s {
			return dst
		}
	}
	return append(dst, s)
}

func itoa(i int) string { return strconv.Itoa(i) }

// within runs fn with d reading from m instead, keeping the error state.
func (d *fields) within(m map[string]any, fn func()) {
	saved := d.m
	d.m = m
	fn()
	d.m = saved
}
