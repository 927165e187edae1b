package rules

import (
	"bytes"
	"strings"

	"go.yaml.in/yaml/v3"
)

// SigmaOrigin is where a rule imported from Sigma came from: the rule's
// `sigma:` block, written by `consumer rules import-sigma` and kept as is
// by rule authors. Nothing in it changes what the rule matches (its `when`
// does); it says which Sigma rule the rule is, and lets `rules explain`
// name the Sigma selections beside the clauses they were compiled to.
type SigmaOrigin struct {
	// ID, Title, Status, Author, Date and Modified are the Sigma rule's own.
	ID       string `yaml:"id,omitempty"`
	Title    string `yaml:"title,omitempty"`
	Status   string `yaml:"status,omitempty"`
	Author   string `yaml:"author,omitempty"`
	Date     string `yaml:"date,omitempty"`
	Modified string `yaml:"modified,omitempty"`
	// References are the Sigma rule's references (URLs).
	References []string `yaml:"references,omitempty"`
	// Logsource is the Sigma rule's logsource (product, service,
	// category).
	Logsource map[string]string `yaml:"logsource,omitempty"`
	// File is the Sigma file the rule was imported from, as named to the
	// import.
	File string `yaml:"file,omitempty"`
	// Condition is the Sigma detection's condition, as written.
	Condition string `yaml:"condition,omitempty"`
	// Selections are the detection's named searches, in the order of the
	// detection, each with the expr it was compiled to.
	Selections []SigmaSelection `yaml:"selections,omitempty"`
}

// SigmaSelection is one named search of a Sigma detection and the expr
// clause it was compiled to (the same text as in the rule's `when`).
type SigmaSelection struct {
	Name string `yaml:"name"`
	When string `yaml:"when"`
}

// parseSigmaOrigin decodes a rule's `sigma:` block; an unknown key is a
// problem (a typo would silently drop what it names).
func parseSigmaOrigin(p *problems, file, ruleID string, v *yaml.Node) *SigmaOrigin {
	if v.Kind != yaml.MappingNode {
		p.add(file, v.Line, ruleID, "sigma: expected a mapping (written by consumer rules import-sigma)")
		return nil
	}
	raw, err := yaml.Marshal(v)
	if err != nil {
		p.add(file, v.Line, ruleID, "sigma: %v", err)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var o SigmaOrigin
	if err := dec.Decode(&o); err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 && strings.Contains(msg, "field") {
			msg = msg[i+2:]
		}
		p.add(file, v.Line, ruleID, "sigma: %s", msg)
		return nil
	}
	return &o
}
