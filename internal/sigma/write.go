package sigma

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tripline-dev/tripline/internal/rules"
)

// fileHeader opens every rule file the import writes.
const fileHeader = `# Imported from Sigma by "consumer rules import-sigma"; re-importing the
# Sigma file rewrites this file. The rules run in shadow mode: see
# rules/README.md ("Sigma rules") to promote one to enforce.
`

// PlaceholdersFile is the file, in the output directory, holding the
// tripline lists the placeholders of expand modifiers became.
const PlaceholdersFile = "sigma-placeholders.yaml"

// placeholdersHeader opens PlaceholdersFile.
const placeholdersHeader = `# Lists for the placeholders (|expand) of imported Sigma rules: fill each
# list with your organisation's values (a value may use the wildcards * and
# ?). The import adds lists and keeps the values already here. Each new list
# holds its placeholder, which matches nothing real; the rules' generated
# tests use a list's first value, so re-import after editing a list.
`

// outRule is one rule as written, in the order of its keys.
type outRule struct {
	ID          string             `yaml:"id"`
	Description string             `yaml:"description,omitempty"`
	Severity    string             `yaml:"severity"`
	Mode        string             `yaml:"mode"`
	Action      string             `yaml:"action"`
	When        string             `yaml:"when"`
	Reason      string             `yaml:"reason"`
	Tags        []string           `yaml:"tags,omitempty,flow"`
	Sigma       *rules.SigmaOrigin `yaml:"sigma"`
	Tests       []outTest          `yaml:"tests,omitempty"`
}

// outTest is one generated inline test.
type outTest struct {
	Name   string    `yaml:"name"`
	Event  outEvent  `yaml:"event"`
	Expect outExpect `yaml:"expect"`
}

// outEvent is a normalized test event (the names `consumer normalize`
// prints).
type outEvent struct {
	Source    string         `yaml:"source"`
	Kind      string         `yaml:"kind"`
	UserEmail string         `yaml:"user_email"`
	Raw       map[string]any `yaml:"raw"`
}

type outExpect struct {
	Match bool `yaml:"match"`
}

// renderRules renders a rule file holding rs.
func renderRules(rs []outRule) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(fileHeader)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(struct {
		Rules []outRule `yaml:"rules"`
	}{rs}); err != nil {
		return nil, fmt.Errorf("render rules: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render rules: %w", err)
	}
	return b.Bytes(), nil
}

// renderLists renders PlaceholdersFile holding lists, by name.
func renderLists(lists map[string][]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(placeholdersHeader)
	root := &yaml.Node{Kind: yaml.MappingNode}
	names := make([]string, 0, len(lists))
	for n := range lists {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for _, it := range lists[n] {
			seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: it, Style: yaml.SingleQuotedStyle})
		}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: n}, seq)
	}
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: "lists"}, root}}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("render lists: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render lists: %w", err)
	}
	return b.Bytes(), nil
}

// ParseLists reads the lists of an existing PlaceholdersFile, so that a
// re-import keeps the values the user filled in.
func ParseLists(data []byte) (map[string][]string, error) {
	var f struct {
		Lists map[string][]string `yaml:"lists"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse %s: %w", PlaceholdersFile, err)
	}
	if f.Lists == nil {
		f.Lists = map[string][]string{}
	}
	return f.Lists, nil
}

// oneLine collapses the whitespace runs of s into single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
