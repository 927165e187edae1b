package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Rule is one Sigma rule of a file, after the file's collection actions
// are applied.
type Rule struct {
	// File is the file as named to the import; Index is the rule's place
	// in it, from 1 (a file may hold several rules).
	File  string
	Index int
	// Title ... Level are the rule's own fields, as written.
	Title, ID, Status, Description, Author, Date, Modified, Level string
	References, Tags                                              []string
	// Logsource holds the logsource's string entries (product, service,
	// category, definition, ...).
	Logsource map[string]string
	// Detection is the detection mapping; nil when the rule has none.
	Detection *yaml.Node
	// skip is set when the rule cannot be imported whatever the mapping
	// (a correlation rule, a filter, a document that is no rule).
	skip *Skip
}

// ParseFile reads the Sigma rules of one file: every YAML document, with
// the collection actions of Sigma's rule collections applied (`action:
// global` sets a template merged into the next rules, `reset` drops it,
// `repeat` adds its content to the previous rule). An error means the file
// is not YAML at all; a document that is YAML but not a rule becomes a Rule
// whose skip says so.
func ParseFile(name string, data []byte) ([]*Rule, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		docs = append(docs, doc.Content[0])
	}
	var (
		out    []*Rule
		global *yaml.Node
		prev   *yaml.Node
	)
	add := func(n *yaml.Node) {
		r := parseRule(n)
		r.File, r.Index = name, len(out)+1
		out = append(out, r)
	}
	for i, d := range docs {
		if d.Kind != yaml.MappingNode {
			out = append(out, &Rule{File: name, Index: len(out) + 1, skip: skipf(ReasonInvalid, "document %d is not a mapping", i+1)})
			continue
		}
		switch action := scalarAt(d, "action"); action {
		case "":
			// pySigma's order: the global template's keys win over the
			// rule's own.
			merged := mergeNodes(cloneNode(d), global)
			add(merged)
			prev = merged
		case "global":
			global = without(d, "action")
			prev = global
		case "reset":
			global = nil
		case "repeat":
			if prev == nil {
				out = append(out, &Rule{File: name, Index: len(out) + 1, skip: skipf(ReasonInvalid, "document %d repeats a rule but no rule precedes it", i+1)})
				continue
			}
			// The previous rule (global template included) with this
			// document's content over it.
			prev = mergeNodes(cloneNode(prev), without(d, "action"))
			add(prev)
		default:
			out = append(out, &Rule{File: name, Index: len(out) + 1, skip: skipf(ReasonInvalid, "document %d has an unknown collection action %q", i+1, action)})
		}
	}
	return out, nil
}

// parseRule reads the fields of one rule document.
func parseRule(n *yaml.Node) *Rule {
	r := &Rule{
		Title: scalarAt(n, "title"), ID: scalarAt(n, "id"), Status: scalarAt(n, "status"),
		Description: scalarAt(n, "description"), Date: scalarAt(n, "date"), Modified: scalarAt(n, "modified"),
		Level: scalarAt(n, "level"),
	}
	r.Author = strings.Join(stringsAt(n, "author"), ", ")
	r.References = stringsAt(n, "references")
	r.Tags = stringsAt(n, "tags")
	if ls := valueAt(n, "logsource"); ls != nil && ls.Kind == yaml.MappingNode {
		r.Logsource = map[string]string{}
		for i := 0; i+1 < len(ls.Content); i += 2 {
			if v := ls.Content[i+1]; v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
				r.Logsource[ls.Content[i].Value] = v.Value
			}
		}
	}
	switch {
	case valueAt(n, "correlation") != nil:
		r.skip = skipf(ReasonCorrelation, "a correlation rule links the matches of other rules over time; tripline matches one event at a time")
	case valueAt(n, "filter") != nil && valueAt(n, "detection") == nil:
		r.skip = skipf(ReasonFilter, "a Sigma filter excludes events from other rules; it is no detection of its own")
	case valueAt(n, "detection") == nil:
		r.skip = skipf(ReasonInvalid, "the rule has no detection")
	case r.Logsource == nil:
		r.skip = skipf(ReasonInvalid, "the rule has no logsource")
	default:
		r.Detection = valueAt(n, "detection")
		if r.Detection.Kind != yaml.MappingNode {
			r.skip = skipf(ReasonInvalid, "detection is not a mapping")
		}
	}
	return r
}

// valueAt returns the value of key in the mapping n, nil when absent.
func valueAt(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// scalarAt returns the scalar value of key in n, trimmed; "" when absent
// or not a scalar.
func scalarAt(n *yaml.Node, key string) string {
	v := valueAt(n, key)
	if v == nil || v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		return ""
	}
	return strings.TrimSpace(v.Value)
}

// stringsAt returns the scalars of key in n: a list, or one scalar.
func stringsAt(n *yaml.Node, key string) []string {
	v := valueAt(n, key)
	if v == nil {
		return nil
	}
	if v.Kind == yaml.ScalarNode {
		if v.Tag == "!!null" || strings.TrimSpace(v.Value) == "" {
			return nil
		}
		return []string{strings.TrimSpace(v.Value)}
	}
	var out []string
	for _, el := range v.Content {
		if el.Kind == yaml.ScalarNode && el.Tag != "!!null" {
			out = append(out, strings.TrimSpace(el.Value))
		}
	}
	return out
}

// without returns a copy of the mapping n without key.
func without(n *yaml.Node, key string) *yaml.Node {
	c := cloneNode(n)
	for i := 0; i+1 < len(c.Content); i += 2 {
		if c.Content[i].Value == key {
			c.Content = append(c.Content[:i], c.Content[i+2:]...)
			break
		}
	}
	return c
}

// cloneNode deep-copies n.
func cloneNode(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, el := range n.Content {
		c.Content[i] = cloneNode(el)
	}
	return &c
}

// mergeNodes merges the mapping src into dst, recursively for mappings on
// both sides; src's value wins otherwise, as pySigma's deep_dict_update
// does. It returns dst.
func mergeNodes(dst, src *yaml.Node) *yaml.Node {
	if src == nil || src.Kind != yaml.MappingNode || dst.Kind != yaml.MappingNode {
		return dst
	}
	for i := 0; i+1 < len(src.Content); i += 2 {
		k, v := src.Content[i], src.Content[i+1]
		found := false
		for j := 0; j+1 < len(dst.Content); j += 2 {
			if dst.Content[j].Value != k.Value {
				continue
			}
			found = true
			if v.Kind == yaml.MappingNode && dst.Content[j+1].Kind == yaml.MappingNode {
				mergeNodes(dst.Content[j+1], v)
			} else {
				dst.Content[j+1] = cloneNode(v)
			}
			break
		}
		if !found {
			dst.Content = append(dst.Content, cloneNode(k), cloneNode(v))
		}
	}
	return dst
}
