package identity

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// allowedKeys lists the top-level keys of a protected-identities file.
const allowedKeys = "emails, domains, globs, user_ids, allow_empty"

// allowEmptyKey is the top-level key that says an empty list is meant.
const allowEmptyKey = "allow_empty"

// ParseProtected parses a protected-identities file (YAML):
//
//	emails:   [breakglass@example.com]  # compared after Fold
//	domains:  [admins.example.com]      # the domain and any subdomain of it
//	globs:    ["svc-*@example.com"]     # path.Match against the folded email
//	user_ids: [WVRQ4RGKJ5GNXGBWRXD5X3DLOI]
//	allow_empty: false                  # true: protecting nobody is meant
//
// Every key is optional; the four lists hold strings, allow_empty is true or
// false (default false). An empty file protects nobody: ParseProtected
// accepts it, and Protected.AllowEmpty tells whether the file says so on
// purpose (callers that serve a decision service refuse an empty list
// unless it does). file is the name used in errors. ParseProtected reports every
// problem at once: the error joins one error per problem, each formatted
// "file:line: message" (line of the offending key or item).
func ParseProtected(file string, data []byte) (*Protected, error) {
	ps := &problems{file: file}
	p := &Protected{}
	if root := decodeRoot(ps, data); root != nil {
		parseRoot(ps, p, root)
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return p, nil
}

// problems accumulates the problems found in one file.
type problems struct {
	file string
	list []error
}

func (ps *problems) add(line int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		ps.list = append(ps.list, fmt.Errorf("%s:%d: %s", ps.file, line, msg))
		return
	}
	ps.list = append(ps.list, fmt.Errorf("%s: %s", ps.file, msg))
}

// addYAML adds a YAML syntax error, moving its "line N" into the position.
func (ps *problems) addYAML(err error) {
	msg, line := strings.TrimPrefix(err.Error(), "yaml: "), 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if l, err := strconv.Atoi(n); err == nil {
				msg, line = after, l
			}
		}
	}
	ps.add(line, "parse yaml: %s", msg)
}

func (ps *problems) err() error { return errors.Join(ps.list...) }

// decodeRoot returns the root node of the only document in data, or nil when
// there is none (empty input, only comments, or an explicit null).
func decodeRoot(ps *problems, data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			ps.addYAML(err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		ps.addYAML(err)
	default:
		line := extra.Line
		if len(extra.Content) > 0 {
			line = extra.Content[0].Line
		}
		ps.add(line, "only one YAML document is allowed")
	}
	if len(doc.Content) == 0 {
		return nil
	}
	root := resolve(doc.Content[0])
	if isNull(root) {
		return nil
	}
	return root
}

// parseRoot reads the top-level mapping into p.
func parseRoot(ps *problems, p *Protected, root *yaml.Node) {
	if root.Kind != yaml.MappingNode {
		ps.add(root.Line, "expected a mapping with the keys %s, got %s", allowedKeys, describe(root))
		return
	}
	seen := make(map[string]bool)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], resolve(root.Content[i+1])
		if seen[k.Value] {
			ps.add(k.Line, "duplicate key %q", k.Value)
			continue
		}
		seen[k.Value] = true
		if k.Value == allowEmptyKey {
			parseAllowEmpty(ps, p, k, v)
			continue
		}
		kind, ok := kindOf(k.Value)
		if !ok {
			ps.add(k.Line, "unknown key %q (allowed: %s)", k.Value, allowedKeys)
			continue
		}
		if v.Kind != yaml.SequenceNode {
			ps.add(k.Line, "%s: expected a list of strings, got %s%s", k.Value, describe(v), listHint(v))
			continue
		}
		for _, item := range v.Content {
			parseItem(ps, p, k.Value, kind, item)
		}
	}
}

// parseAllowEmpty reads the allow_empty flag into p.
func parseAllowEmpty(ps *problems, p *Protected, k, v *yaml.Node) {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
		ps.add(k.Line, "%s: expected true or false, got %s", allowEmptyKey, describe(v))
		return
	}
	var b bool
	if err := v.Decode(&b); err != nil {
		ps.add(k.Line, "%s: expected true or false, got %s", allowEmptyKey, describe(v))
		return
	}
	p.allowEmpty = b
}

// parseItem checks one list item and adds it to p.
func parseItem(ps *problems, p *Protected, key string, kind listKind, item *yaml.Node) {
	n := resolve(item)
	switch {
	case n.Kind != yaml.ScalarNode || isNull(n):
		ps.add(item.Line, "%s: expected a string, got %s", key, describe(n))
		return
	case n.Tag != "!!str":
		ps.add(item.Line, "%s: expected a string, got %s (quote it)", key, describe(n))
		return
	}
	raw := strings.TrimSpace(n.Value)
	folded := Fold(raw)
	if msg := kind.check(raw, folded); msg != "" {
		ps.add(item.Line, "%s: %s", key, msg)
		return
	}
	p.add(kind, folded, kind.label+" "+raw)
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// listHint suggests how to write a value that is not a list.
func listHint(n *yaml.Node) string {
	switch {
	case isNull(n):
		return " (write [] for none)"
	case n.Kind == yaml.ScalarNode:
		return " (write a list, e.g. [" + n.Value + "])"
	}
	return ""
}

// describe names a node's kind for error messages.
func describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case isNull(n):
		return "nothing"
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str":
		return strconv.Quote(n.Value)
	case n.Kind == yaml.ScalarNode:
		return n.Tag + " " + n.Value
	default:
		return "an unsupported YAML node"
	}
}
