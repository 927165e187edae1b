package sigma

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tripline-dev/tripline/internal/event"
)

//go:embed mappings/*.yaml
var shipped embed.FS

// Mappings is the set of field mappings an import uses: one Mapping per
// source, the shipped ones (mappings/*.yaml) possibly extended or
// overridden by the user's (see Mappings.Add).
type Mappings struct {
	list []*Mapping // sorted by name
}

// Mapping places the field names of Sigma rules for some logsources on the
// vendor documents tripline receives from one source. Its file format is
// documented in rules/README.md ("Sigma rules") and by the shipped files.
type Mapping struct {
	// Name identifies the mapping ("okta", "entra"...); a user file with
	// the same name extends or overrides the shipped one.
	Name string
	// Logsources are the Sigma logsources the mapping reads.
	Logsources []Logsource
	// fields maps a Sigma field name (compared case-insensitively) to its
	// placement.
	fields map[string]*FieldMap
	// prefixes maps a field prefix (dotted, case-insensitive) to the path
	// its fields are under.
	prefixes map[string]string
	// unmapped says how to place a field neither fields nor prefixes name.
	unmapped Unmapped
}

// Logsource is one Sigma logsource a mapping reads, and how.
type Logsource struct {
	// Product, Service and Category must equal the rule's (compared
	// case-insensitively); an empty one must be absent from the rule.
	Product, Service, Category string
	// Formats are the tripline formats (event.Format names) whose events
	// the logsource's rules run on: the `source` guard of the rules.
	Formats []string
	// Kind is the kind of the generated test events (signin, alert or
	// activity).
	Kind string
	// When is a Sigma selection (written with document paths, not mapped)
	// that every event of the logsource also satisfies, such as the Entra
	// record category; nil for none.
	When *yaml.Node
}

// FieldMap is the placement of one Sigma field.
type FieldMap struct {
	// Paths are the document paths the field is read at (alternatives,
	// their values pooled).
	Paths []string
	// Values maps a value written in a rule (compared case-insensitively,
	// for the plain equality only) to another path and value, where the
	// two sides name the same thing differently.
	Values map[string]ValueMap
	// Refuse, when set, says why the field cannot be placed: a rule using
	// it is skipped with that reason.
	Refuse string
}

// ValueMap replaces one value of a field: the path it is read at ("" for
// the field's paths) and the value (a string, a number, a bool, or nil
// for "absent or null").
type ValueMap struct {
	Path  string
	Value any
}

// Unmapped says how a field no entry names is placed: "keep" (the name as
// written, a document path), "prefix" (each of Prefixes before the name,
// as alternatives) or "refuse" (the rule is skipped).
type Unmapped struct {
	Action   string
	Prefixes []string
}

// ShippedMappings returns the mappings shipped with tripline.
func ShippedMappings() (*Mappings, error) {
	ms := &Mappings{}
	files, err := fs.Glob(shipped, "mappings/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("shipped mappings: %w", err)
	}
	slices.Sort(files)
	for _, f := range files {
		data, err := shipped.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("shipped mappings: %w", err)
		}
		if err := ms.Add(f, data); err != nil {
			return nil, fmt.Errorf("shipped mappings: %w", err)
		}
	}
	return ms, nil
}

// Add reads a mapping file and adds it: a mapping whose name is already
// known extends it (its fields and prefixes are added or replace those of
// the same name, its logsources replace those of the same product, service
// and category or are added, its unmapped replaces the known one); a new
// name adds a mapping, which must name logsources. Every problem of the
// file is reported at once (a field's with its line).
func (ms *Mappings) Add(file string, data []byte) error {
	m, err := parseMapping(file, data)
	if err != nil {
		return err
	}
	for _, old := range ms.list {
		if old.Name == m.Name {
			old.merge(m)
			return nil
		}
	}
	if len(m.Logsources) == 0 {
		return fmt.Errorf("mapping %s: a new mapping (name %q) must list logsources", file, m.Name)
	}
	if m.unmapped.Action == "" {
		m.unmapped.Action = "keep"
	}
	ms.list = append(ms.list, m)
	slices.SortFunc(ms.list, func(a, b *Mapping) int { return strings.Compare(a.Name, b.Name) })
	return nil
}

// merge adds or replaces what o, a user's mapping of the same name, says.
func (m *Mapping) merge(o *Mapping) {
	for k, v := range o.fields {
		m.fields[k] = v
	}
	for k, v := range o.prefixes {
		m.prefixes[k] = v
	}
	if o.unmapped.Action != "" {
		m.unmapped = o.unmapped
	}
	for _, ls := range o.Logsources {
		i := slices.IndexFunc(m.Logsources, func(x Logsource) bool {
			return strings.EqualFold(x.Product, ls.Product) && strings.EqualFold(x.Service, ls.Service) && strings.EqualFold(x.Category, ls.Category)
		})
		if i >= 0 {
			m.Logsources[i] = ls
		} else {
			m.Logsources = append(m.Logsources, ls)
		}
	}
}

// find returns the mapping and logsource reading a rule's logsource.
func (ms *Mappings) find(ls map[string]string) (*Mapping, *Logsource) {
	get := func(k string) string {
		for key, v := range ls {
			if strings.EqualFold(key, k) {
				return strings.TrimSpace(v)
			}
		}
		return ""
	}
	product, service, category := get("product"), get("service"), get("category")
	for _, m := range ms.list {
		for i := range m.Logsources {
			l := &m.Logsources[i]
			if strings.EqualFold(l.Product, product) && strings.EqualFold(l.Service, service) && strings.EqualFold(l.Category, category) {
				return m, l
			}
		}
	}
	return nil, nil
}

// Logsources lists every logsource the mappings read, as "product/service"
// (or with the category), sorted: what the import reads.
func (ms *Mappings) Logsources() []string {
	var out []string
	for _, m := range ms.list {
		for _, l := range m.Logsources {
			var parts []string
			for _, s := range []string{l.Product, l.Service, l.Category} {
				if s != "" {
					parts = append(parts, s)
				}
			}
			out = append(out, strings.Join(parts, "/")+" ("+strings.Join(l.Formats, ", ")+")")
		}
	}
	slices.Sort(out)
	return out
}

// placement is where one Sigma field is read.
type placement struct {
	paths  []string
	values map[string]ValueMap // lower-cased keys
}

// place places the Sigma field name for m, or says why it cannot.
func (m *Mapping) place(name string) (placement, *Skip) {
	if fm := m.field(name); fm != nil {
		if fm.Refuse != "" {
			return placement{}, skipf(ReasonField, "field %s cannot be placed on %s documents: %s", name, m.Name, fm.Refuse)
		}
		vals := map[string]ValueMap{}
		for k, v := range fm.Values {
			vals[strings.ToLower(k)] = v
		}
		return placement{paths: fm.Paths, values: vals}, nil
	}
	if p, ok := m.prefixPath(name); ok {
		return placement{paths: []string{p}}, nil
	}
	switch m.unmapped.Action {
	case "refuse":
		return placement{}, skipf(ReasonField, "field %s cannot be placed on %s documents: the mapping %s does not name it (add it with --mapping)", name, m.Name, m.Name)
	case "prefix":
		var paths []string
		for _, p := range m.unmapped.Prefixes {
			if p != "" && len(name) >= len(p) && strings.EqualFold(name[:len(p)], p) {
				continue
			}
			if path := p + name; !slices.Contains(paths, path) {
				paths = append(paths, path)
			}
		}
		if len(paths) == 0 {
			paths = []string{name}
		}
		return placement{paths: paths}, nil
	}
	return placement{paths: []string{name}}, nil
}

// field returns the entry of name, compared exactly, else
// case-insensitively; nil when there is none.
func (m *Mapping) field(name string) *FieldMap {
	if fm, ok := m.fields[name]; ok {
		return fm
	}
	keys := make([]string, 0, len(m.fields))
	for k := range m.fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.EqualFold(k, name) {
			return m.fields[k]
		}
	}
	return nil
}

// prefixPath places name by its longest prefix entry.
func (m *Mapping) prefixPath(name string) (string, bool) {
	best, target := "", ""
	for p, t := range m.prefixes {
		switch {
		case strings.EqualFold(name, p):
		case len(name) > len(p) && name[len(p)] == '.' && strings.EqualFold(name[:len(p)], p):
		default:
			continue
		}
		if len(p) > len(best) || len(p) == len(best) && p < best {
			best, target = p, t
		}
	}
	if best == "" {
		return "", false
	}
	return target + name[len(best):], true
}

// mappingFile is a mapping file as written.
type mappingFile struct {
	Name       string               `yaml:"name"`
	Logsources []logsourceFile      `yaml:"logsources"`
	Fields     map[string]yaml.Node `yaml:"fields"`
	Prefixes   map[string]string    `yaml:"prefixes"`
	Unmapped   *struct {
		Action   string   `yaml:"action"`
		Prefixes []string `yaml:"prefixes"`
	} `yaml:"unmapped"`
}

type logsourceFile struct {
	Product  string    `yaml:"product"`
	Service  string    `yaml:"service"`
	Category string    `yaml:"category"`
	Format   string    `yaml:"format"`
	Formats  []string  `yaml:"formats"`
	Kind     string    `yaml:"kind"`
	When     yaml.Node `yaml:"when"`
}

type fieldFile struct {
	Paths  []string             `yaml:"paths"`
	Values map[string]yaml.Node `yaml:"values"`
	Refuse string               `yaml:"refuse"`
}

// parseMapping parses and checks a mapping file.
func parseMapping(file string, data []byte) (*Mapping, error) {
	var mf mappingFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&mf); err != nil {
		return nil, fmt.Errorf("mapping %s: %w", file, err)
	}
	var probs []string
	bad := func(line int, format string, args ...any) {
		at := ""
		if line > 0 {
			at = fmt.Sprintf("line %d: ", line)
		}
		probs = append(probs, at+fmt.Sprintf(format, args...))
	}
	m := &Mapping{Name: mf.Name, fields: map[string]*FieldMap{}, prefixes: map[string]string{}}
	if mf.Name == "" {
		bad(0, "name is required (the shipped mappings are okta, entra, cloudtrail and gws)")
	}
	for i, lf := range mf.Logsources {
		ls, err := parseLogsource(lf)
		if err != "" {
			bad(0, "logsources[%d]: %s", i, err)
			continue
		}
		m.Logsources = append(m.Logsources, ls)
	}
	for name, n := range mf.Fields {
		fm, err := parseFieldMap(&n)
		if err != "" {
			bad(n.Line, "fields.%s: %s", name, err)
			continue
		}
		m.fields[name] = fm
	}
	for p, t := range mf.Prefixes {
		if p == "" || checkPath(t) != "" {
			bad(0, "prefixes.%s: %q is not a document path", p, t)
			continue
		}
		m.prefixes[p] = t
	}
	if u := mf.Unmapped; u != nil {
		switch u.Action {
		case "keep", "refuse":
		case "prefix":
			if len(u.Prefixes) == 0 {
				bad(0, "unmapped: action prefix needs prefixes (\"\" for the top level)")
			}
		default:
			bad(0, "unmapped.action: %q is not keep, prefix or refuse", u.Action)
		}
		m.unmapped = Unmapped{Action: u.Action, Prefixes: u.Prefixes}
	}
	if len(probs) > 0 {
		slices.Sort(probs)
		return nil, fmt.Errorf("mapping %s: %s", file, strings.Join(probs, "; "))
	}
	return m, nil
}

// parseLogsource checks one logsource entry; it returns a problem, or "".
func parseLogsource(lf logsourceFile) (Logsource, string) {
	ls := Logsource{Product: lf.Product, Service: lf.Service, Category: lf.Category, Kind: lf.Kind}
	if ls.Product == "" && ls.Service == "" && ls.Category == "" {
		return ls, "product, service or category is required"
	}
	ls.Formats = append(ls.Formats, lf.Formats...)
	if lf.Format != "" {
		ls.Formats = append([]string{lf.Format}, ls.Formats...)
	}
	if len(ls.Formats) == 0 {
		return ls, "format (or formats) is required: the tripline format of the events"
	}
	for _, f := range ls.Formats {
		pf, err := event.ParseFormat(f)
		if err != nil || pf == event.FormatAuto || string(pf) != f {
			return ls, fmt.Sprintf("format %q is not a tripline format", f)
		}
	}
	switch ls.Kind {
	case "":
		ls.Kind = event.KindSignIn
	case event.KindSignIn, event.KindAlert, "activity":
	default:
		return ls, fmt.Sprintf("kind %q is not signin, alert or activity", ls.Kind)
	}
	if lf.When.Kind != 0 {
		if lf.When.Kind != yaml.MappingNode {
			return ls, "when: expected a Sigma selection (a mapping of document paths to values)"
		}
		w := lf.When
		if _, sk := compileSelection("when", &w, identityPlacer{}, nil); sk != nil {
			return ls, "when: " + sk.Msg
		}
		ls.When = &w
	}
	return ls, ""
}

// parseFieldMap checks one fields entry: a path, a list of paths, or a
// mapping with paths, values and refuse.
func parseFieldMap(n *yaml.Node) (*FieldMap, string) {
	fm := &FieldMap{}
	switch n.Kind {
	case yaml.ScalarNode:
		fm.Paths = []string{n.Value}
	case yaml.SequenceNode:
		if err := n.Decode(&fm.Paths); err != nil {
			return nil, "expected a path or a list of paths"
		}
	case yaml.MappingNode:
		var ff fieldFile
		if err := decodeKnown(n, &ff); err != nil {
			return nil, err.Error()
		}
		fm.Paths, fm.Refuse = ff.Paths, ff.Refuse
		if len(ff.Values) > 0 {
			fm.Values = map[string]ValueMap{}
		}
		for k, vn := range ff.Values {
			vm, err := parseValueMap(&vn)
			if err != "" {
				return nil, fmt.Sprintf("values.%s: %s", k, err)
			}
			if vm.Path == "" && len(fm.Paths) == 0 {
				return nil, fmt.Sprintf("values.%s: path is required when the field has no paths", k)
			}
			fm.Values[k] = vm
		}
		if fm.Refuse == "" && len(fm.Paths) == 0 && len(fm.Values) == 0 {
			return nil, "paths, values or refuse is required"
		}
	default:
		return nil, "expected a path, a list of paths or a mapping"
	}
	for _, p := range fm.Paths {
		if msg := checkPath(p); msg != "" {
			return nil, msg
		}
	}
	return fm, ""
}

// parseValueMap checks one values entry: {path, value}.
func parseValueMap(n *yaml.Node) (ValueMap, string) {
	if n.Kind != yaml.MappingNode {
		return ValueMap{}, "expected a mapping with value (and path)"
	}
	var vm ValueMap
	hasValue := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		switch k {
		case "path":
			vm.Path = v.Value
			if msg := checkPath(vm.Path); msg != "" {
				return vm, msg
			}
		case "value":
			hasValue = true
			sv, err := scalarValue(v)
			if err != nil {
				return vm, err.Error()
			}
			vm.Value = sv.literal()
		default:
			return vm, fmt.Sprintf("unknown key %q (path, value)", k)
		}
	}
	if !hasValue {
		return vm, "value is required (null for absent or null)"
	}
	return vm, ""
}

// checkPath returns a problem with a document path, or "".
func checkPath(p string) string {
	if p == "" || strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".") || strings.Contains(p, "..") {
		return fmt.Sprintf("%q is not a document path (dot-separated keys)", p)
	}
	return ""
}

// decodeKnown decodes n into v, refusing unknown keys.
func decodeKnown(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}
