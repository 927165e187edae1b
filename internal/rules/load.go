package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/identity"
)

// ErrInvalidRule is matched (errors.Is) by every *LoadError: a rule file
// could not be parsed or a rule could not be compiled.
var ErrInvalidRule = errors.New("invalid rule")

// LoadError is one problem found while loading rules. Load returns all of
// them joined with errors.Join.
type LoadError struct {
	File   string // path of the rule file inside the loaded file system
	Line   int    // 1-based line of the offending key, 0 if unknown
	RuleID string // id of the rule concerned, "" for file-level problems
	Msg    string
}

// Error formats the problem as "file:line: rule id: message".
func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.RuleID != "" {
		fmt.Fprintf(&b, ": rule %s", e.RuleID)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns ErrInvalidRule.
func (e *LoadError) Unwrap() error { return ErrInvalidRule }

// LoadErrors returns the *LoadError values inside err (as returned by Load),
// in order.
func LoadErrors(err error) []*LoadError {
	var out []*LoadError
	var walk func(error)
	walk = func(err error) {
		if le, ok := err.(*LoadError); ok {
			out = append(out, le)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		if err != nil {
			out = append(out, &LoadError{Msg: err.Error()})
		}
	}
	walk(err)
	return out
}

// Option configures Load.
type Option func(*loadConfig)

type loadConfig struct {
	state *State
}

// WithState makes the loaded Set use s for count() windows, so that
// successive Sets (hot reloads) share them. Without it Load creates a
// fresh State with DefaultMaxTracked.
func WithState(s *State) Option {
	return func(c *loadConfig) { c.state = s }
}

// LoadDir loads the rule files (*.yaml, *.yml) and ProtectedFile directly
// inside dir, as Load does. It neither runs the inline tests nor reads the
// benign corpus: LoadChecked does.
func LoadDir(dir string, opts ...Option) (*Set, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("load rules: %w", err)
	}
	return Load(os.DirFS(dir), opts...)
}

// ProtectedFile is the file, in a rule directory, that lists the protected
// identities (see Set.Protected). It is not a rule file.
const ProtectedFile = "protected.yaml"

// Load reads every *.yaml and *.yml file at the root of fsys, except
// ProtectedFile, compiles the rules and returns the Set; it parses
// ProtectedFile, when present, into the Set's protected identities. It
// refuses a rule that acts without inline tests that match and that do not
// (see RuleInfo.Acts); it does not run the tests (see Set.Test and
// LoadChecked). It reports every problem it finds at once: the error joins
// one *LoadError per problem (each matches ErrInvalidRule). Any problem,
// including a bad ProtectedFile, fails the whole load; no Set is returned.
// A missing or empty ProtectedFile is not a problem for Load, so that rule
// authors can lint, test and replay rules without one; a Watcher, which
// serves the decision service, refuses it (see NewWatcher).
// Hidden "..*" entries (a Kubernetes volume's own) are never rule files.
func Load(fsys fs.FS, opts ...Option) (*Set, error) {
	cfg := loadConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.state == nil {
		cfg.state = NewState(0)
	}
	var files []string
	for _, pat := range []string{"*.yaml", "*.yml"} {
		m, err := fs.Glob(fsys, pat)
		if err != nil {
			return nil, fmt.Errorf("load rules: %w", err)
		}
		files = append(files, m...)
	}
	p := &problems{}
	files = slices.DeleteFunc(files, func(f string) bool {
		if f == "protected.yml" {
			p.add(f, 0, "", "the protected identities file must be named %s", ProtectedFile)
		}
		// "..*" entries are a Kubernetes volume's own (..data and the
		// kubelet's timestamped directories), never rule files.
		return f == ProtectedFile || f == "protected.yml" || strings.HasPrefix(f, "..")
	})
	sort.Strings(files)
	if len(files) == 0 {
		return nil, &LoadError{File: ".", Msg: "no rule files (*.yaml, *.yml)"}
	}
	protected, protectedFound := loadProtected(p, fsys)
	var specs []*ruleSpec
	lists := map[string]listSpec{}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			p.add(f, 0, "", "read: %v", err)
			continue
		}
		fileLists, fileRules := parseFile(p, fsys, f, data)
		for _, l := range fileLists {
			if prev, ok := lists[l.name]; ok {
				p.add(f, l.line, "", "list %q already defined at %s:%d", l.name, prev.file, prev.line)
				continue
			}
			lists[l.name] = l
		}
		specs = append(specs, fileRules...)
	}
	cat := newCatalog(lists, cfg.state)
	set := compileSet(p, specs, lists, cat)
	if err := p.err(); err != nil {
		return nil, err
	}
	set.files = files
	set.protected = protected
	set.protectedFound = protectedFound
	return set, nil
}

// loadProtected parses ProtectedFile when fsys has one, turning each
// problem into a *LoadError; it returns an empty list when there is none.
// found reports whether fsys has the file.
func loadProtected(p *problems, fsys fs.FS) (_ *identity.Protected, found bool) {
	data, err := fs.ReadFile(fsys, ProtectedFile)
	if errors.Is(err, fs.ErrNotExist) {
		return &identity.Protected{}, false
	}
	if err != nil {
		p.add(ProtectedFile, 0, "", "read: %v", err)
		return &identity.Protected{}, true
	}
	prot, err := identity.ParseProtected(ProtectedFile, data)
	if err != nil {
		var errs []error
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		} else {
			errs = []error{err}
		}
		for _, e := range errs {
			line, msg := splitPosition(ProtectedFile, e.Error())
			p.add(ProtectedFile, line, "", "%s", msg)
		}
		return &identity.Protected{}, true
	}
	return prot, true
}

// splitPosition splits an identity error, "file:line: message" or
// "file: message", into the line (0 if absent) and the message.
func splitPosition(file, s string) (int, string) {
	rest, ok := strings.CutPrefix(s, file+":")
	if !ok {
		return 0, s
	}
	if n, msg, ok := strings.Cut(rest, ": "); ok {
		if line, err := strconv.Atoi(n); err == nil && line > 0 {
			return line, msg
		}
	}
	return 0, strings.TrimPrefix(rest, " ")
}

// problems accumulates load problems.
type problems struct{ list []error }

func (p *problems) add(file string, line int, ruleID, format string, args ...any) {
	p.list = append(p.list, &LoadError{File: file, Line: line, RuleID: ruleID, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) err() error { return errors.Join(p.list...) }

type listSpec struct {
	name  string
	file  string
	line  int
	items []string
}

// ruleSpec is one rule as written in its file, before compilation.
type ruleSpec struct {
	file     string
	line     int            // line of the rule's first key
	lines    map[string]int // line of each key
	id       string
	desc     string
	severity string
	enabled  bool
	mode     string
	action   string
	when     string
	user     string
	hasUser  bool
	reason   string
	cooldown string
	// approvalTimeout is approval_timeout as written.
	approvalTimeout string
	grace           string // with hasGrace: written, possibly empty
	maxActs         string // with hasLimit: written, possibly empty
	hasGrace        bool
	hasLimit        bool
	// suspendFor is suspend_for as written: one duration, or a list.
	suspendFor    []string
	hasSuspendFor bool
	tags          []string
	tests         []testSpec
	// sigma is the rule's sigma: block (an imported Sigma rule), nil
	// without one.
	sigma *SigmaOrigin
}

// testSpec is one inline test as written.
type testSpec struct {
	line     int
	name     string
	events   []event.Event // from event: or events:
	input    []byte        // from input: or fixture:
	source   string        // "event", "events", "input" or "fixture"
	repeat   int
	every    string
	expect   Expect
	hasMatch bool
}

var (
	ruleKeys   = []string{"id", "description", "severity", "enabled", "mode", "when", "action", "user", "reason", "cooldown", "grace", "max_actions", "approval_timeout", "suspend_for", "tags", "tests", "sigma"}
	testKeys   = []string{"name", "event", "events", "input", "fixture", "repeat", "every", "expect"}
	expectKeys = []string{"match", "action", "user", "reason"}
	fileKeys   = []string{"rules", "lists"}
)

// removedKeys are keys that used to be valid, by "what.key", with the
// message that tells the author what to do instead.
var removedKeys = map[string]string{
	"expect.suppressed": "cooldowns are applied by the decision service when it acts; remove this key",
}

// snakeCase is the form of rule ids and list names.
var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// yamlLine finds the line number in a YAML syntax error.
var yamlLine = regexp.MustCompile(`line (\d+)`)

// mapping iterates the key/value pairs of a mapping node, reporting keys not
// in allowed (and duplicate keys).
func mapping(p *problems, file, ruleID string, n *yaml.Node, what string, allowed []string, fn func(key string, k, v *yaml.Node)) bool {
	if n.Kind != yaml.MappingNode {
		p.add(file, n.Line, ruleID, "%s: expected a mapping", what)
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			p.add(file, k.Line, ruleID, "%s: duplicate key %q", what, k.Value)
			continue
		}
		seen[k.Value] = true
		if msg, ok := removedKeys[what+"."+k.Value]; ok {
			p.add(file, k.Line, ruleID, "%s.%s: %s", what, k.Value, msg)
			continue
		}
		if !slices.Contains(allowed, k.Value) {
			p.add(file, k.Line, ruleID, "%s: unknown key %q (allowed: %s)", what, k.Value, strings.Join(allowed, ", "))
			continue
		}
		fn(k.Value, k, v)
	}
	return true
}

// isString reports whether scalar accepts v.
func isString(v *yaml.Node) bool { return v.Kind == yaml.ScalarNode && v.Tag != "!!null" }

// scalarOrList reads a string, or a list of strings, under key.
func scalarOrList(p *problems, file, ruleID, key string, v *yaml.Node) []string {
	if isString(v) {
		return []string{v.Value}
	}
	var out []string
	if v.Kind != yaml.SequenceNode || v.Decode(&out) != nil || len(out) == 0 {
		p.add(file, v.Line, ruleID, "%s: expected a duration or a list of durations", key)
		return nil
	}
	return out
}

func scalar(p *problems, file, ruleID, key string, v *yaml.Node, dst *string) {
	if !isString(v) {
		p.add(file, v.Line, ruleID, "%s: expected a string", key)
		return
	}
	*dst = v.Value
}

func parseFile(p *problems, fsys fs.FS, file string, data []byte) ([]listSpec, []*ruleSpec) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
				fmt.Sscan(m[1], &line)
			}
		}
		p.add(file, line, "", "parse yaml: %v", err)
		return nil, nil
	}
	if len(doc.Content) == 0 {
		p.add(file, 0, "", "empty file")
		return nil, nil
	}
	var lists []listSpec
	var rules []*ruleSpec
	mapping(p, file, "", doc.Content[0], "file", fileKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "lists":
			lists = parseLists(p, file, v)
		case "rules":
			if v.Kind != yaml.SequenceNode {
				p.add(file, v.Line, "", "rules: expected a list")
				return
			}
			for _, rn := range v.Content {
				if r := parseRule(p, fsys, file, rn); r != nil {
					rules = append(rules, r)
				}
			}
		}
	})
	return lists, rules
}

func parseLists(p *problems, file string, n *yaml.Node) []listSpec {
	if n.Kind != yaml.MappingNode {
		p.add(file, n.Line, "", "lists: expected a mapping of list names to lists")
		return nil
	}
	var out []listSpec
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !snakeCase.MatchString(k.Value) {
			p.add(file, k.Line, "", "list name %q is not snake_case", k.Value)
		}
		l := listSpec{name: k.Value, file: file, line: k.Line}
		if v.Kind != yaml.SequenceNode {
			p.add(file, v.Line, "", "list %s: expected a list of strings", k.Value)
			continue
		}
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode {
				p.add(file, item.Line, "", "list %s: expected a string", k.Value)
				continue
			}
			l.items = append(l.items, item.Value)
		}
		out = append(out, l)
	}
	return out
}

func parseRule(p *problems, fsys fs.FS, file string, n *yaml.Node) *ruleSpec {
	r := &ruleSpec{file: file, line: n.Line, lines: map[string]int{}, enabled: true}
	// Find the id first so every later problem names the rule.
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "id" {
				r.id = n.Content[i+1].Value
			}
		}
	}
	ok := mapping(p, file, r.id, n, "rule", ruleKeys, func(key string, k, v *yaml.Node) {
		r.lines[key] = k.Line
		switch key {
		case "id":
			scalar(p, file, r.id, key, v, &r.id)
		case "description":
			scalar(p, file, r.id, key, v, &r.desc)
		case "severity":
			scalar(p, file, r.id, key, v, &r.severity)
		case "mode":
			scalar(p, file, r.id, key, v, &r.mode)
		case "action":
			scalar(p, file, r.id, key, v, &r.action)
		case "when":
			scalar(p, file, r.id, key, v, &r.when)
		case "user":
			r.hasUser = true
			scalar(p, file, r.id, key, v, &r.user)
		case "reason":
			scalar(p, file, r.id, key, v, &r.reason)
		case "cooldown":
			scalar(p, file, r.id, key, v, &r.cooldown)
		case "approval_timeout":
			scalar(p, file, r.id, key, v, &r.approvalTimeout)
		case "grace":
			r.hasGrace = isString(v)
			scalar(p, file, r.id, key, v, &r.grace)
		case "max_actions":
			r.hasLimit = isString(v)
			scalar(p, file, r.id, key, v, &r.maxActs)
		case "suspend_for":
			r.hasSuspendFor = true
			r.suspendFor = scalarOrList(p, file, r.id, key, v)
		case "enabled":
			if err := v.Decode(&r.enabled); err != nil {
				p.add(file, v.Line, r.id, "enabled: expected true or false")
			}
		case "tags":
			if err := v.Decode(&r.tags); err != nil {
				p.add(file, v.Line, r.id, "tags: expected a list of strings")
			}
		case "sigma":
			r.sigma = parseSigmaOrigin(p, file, r.id, v)
		case "tests":
			if v.Kind != yaml.SequenceNode {
				p.add(file, v.Line, r.id, "tests: expected a list")
				return
			}
			for _, tn := range v.Content {
				if t, ok := parseTest(p, fsys, file, r.id, tn); ok {
					r.tests = append(r.tests, t)
				}
			}
		}
	})
	if !ok {
		return nil
	}
	return r
}

// parseTest parses one inline test of rule ruleID. It returns false when
// n is not a mapping of known keys; other problems are reported to p and
// the test is still returned.
func parseTest(p *problems, fsys fs.FS, file, ruleID string, n *yaml.Node) (testSpec, bool) {
	t := testSpec{line: n.Line, repeat: 1}
	ok := mapping(p, file, ruleID, n, "test", testKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "event", "events", "input", "fixture":
			if t.source != "" {
				p.add(file, k.Line, ruleID, "test %q: %s and %s are exclusive", t.name, t.source, key)
				return
			}
			t.source = key
			parseTestSource(p, fsys, file, ruleID, &t, v)
		case "name":
			scalar(p, file, ruleID, key, v, &t.name)
		case "repeat":
			if err := v.Decode(&t.repeat); err != nil || t.repeat < 1 || t.repeat > 1000 {
				p.add(file, v.Line, ruleID, "repeat: expected an integer from 1 to 1000")
			}
		case "every":
			scalar(p, file, ruleID, key, v, &t.every)
		case "expect":
			parseExpect(p, file, ruleID, &t, v)
		}
	})
	if !ok {
		return t, false
	}
	if t.name == "" {
		p.add(file, n.Line, ruleID, "test: name is required")
	}
	if t.source == "" {
		p.add(file, n.Line, ruleID, "test %q: one of event, events, input or fixture is required", t.name)
	}
	if !t.hasMatch {
		p.add(file, n.Line, ruleID, "test %q: expect.match is required", t.name)
	}
	return t, true
}

// parseTestSource reads what a test evaluates, written under t.source
// (event, events, input or fixture), into t.events or t.input.
func parseTestSource(p *problems, fsys fs.FS, file, ruleID string, t *testSpec, v *yaml.Node) {
	switch t.source {
	case "event":
		if ev, ok := decodeEventNode(p, file, ruleID, v); ok {
			t.events = append(t.events, ev)
		}
	case "events":
		if v.Kind != yaml.SequenceNode {
			p.add(file, v.Line, ruleID, "events: expected a list of events")
			return
		}
		for _, en := range v.Content {
			if ev, ok := decodeEventNode(p, file, ruleID, en); ok {
				t.events = append(t.events, ev)
			}
		}
	case "input":
		if b, ok := parseTestInput(p, file, ruleID, v); ok {
			t.input = b
		}
	case "fixture":
		if b, ok := readTestFixture(p, fsys, file, ruleID, v); ok {
			t.input = b
		}
	}
}

// parseTestInput returns a test's raw input: a string as written, or a
// YAML document as JSON.
func parseTestInput(p *problems, file, ruleID string, v *yaml.Node) ([]byte, bool) {
	if v.Kind == yaml.ScalarNode {
		return []byte(v.Value), true
	}
	var doc any
	if err := v.Decode(&doc); err != nil {
		p.add(file, v.Line, ruleID, "input: %v", err)
		return nil, false
	}
	b, err := json.Marshal(doc)
	if err != nil {
		p.add(file, v.Line, ruleID, "input: %v", err)
		return nil, false
	}
	return b, true
}

// readTestFixture returns the content of a test's fixture file, named
// relative to the rule file's directory.
func readTestFixture(p *problems, fsys fs.FS, file, ruleID string, v *yaml.Node) ([]byte, bool) {
	var rel string
	scalar(p, file, ruleID, "fixture", v, &rel)
	if rel == "" {
		return nil, false
	}
	b, err := fs.ReadFile(fsys, path.Join(path.Dir(file), rel))
	if err != nil {
		p.add(file, v.Line, ruleID, "fixture: %v", err)
		return nil, false
	}
	return b, true
}

// parseExpect parses a test's expect mapping into t.
func parseExpect(p *problems, file, ruleID string, t *testSpec, v *yaml.Node) {
	mapping(p, file, ruleID, v, "expect", expectKeys, func(key string, k, v *yaml.Node) {
		var err error
		switch key {
		case "match":
			err = v.Decode(&t.expect.Match)
			t.hasMatch = true
		case "action":
			err = v.Decode(&t.expect.Action)
		case "user":
			err = v.Decode(&t.expect.User)
		case "reason":
			err = v.Decode(&t.expect.Reason)
		}
		if err != nil {
			p.add(file, v.Line, ruleID, "expect.%s: %v", key, err)
		}
	})
}

// decodeEventNode decodes a normalized event written in YAML with the same
// field names as `consumer normalize` prints (event.Event's json names).
func decodeEventNode(p *problems, file, ruleID string, n *yaml.Node) (event.Event, bool) {
	var ev event.Event
	var doc any
	if err := n.Decode(&doc); err != nil {
		p.add(file, n.Line, ruleID, "event: %v", err)
		return ev, false
	}
	b, err := json.Marshal(doc)
	if err != nil {
		p.add(file, n.Line, ruleID, "event: %v", err)
		return ev, false
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		p.add(file, n.Line, ruleID, "event: %v", err)
		return ev, false
	}
	return ev, true
}
