package sigma

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/rules"
)

// Input is one Sigma file to import: its name as given to the import
// (kept in the rules' sigma: block) and its content.
type Input struct {
	Name string
	Data []byte
}

// Outcome is what became of one Sigma rule.
type Outcome struct {
	// File and Index locate the Sigma rule (Index 0: the whole file).
	File  string
	Index int
	Title string
	// RuleID is the tripline rule's id when it was imported.
	RuleID string
	// Skip says why it was not, nil when it was.
	Skip *Skip
}

// Result is what an import produced.
type Result struct {
	// Files maps each file to write in the output directory to its
	// content: one rule file per Sigma file with a rule imported
	// (<first rule id>.yaml), and PlaceholdersFile when a rule reads a
	// placeholder list.
	Files map[string][]byte
	// Outcomes has one entry per Sigma rule, in input order.
	Outcomes []Outcome
	// NewLists are the placeholder lists this import added to
	// PlaceholdersFile (holding only their placeholder until the user
	// fills them), sorted.
	NewLists []string
}

// Importer imports Sigma files with a set of mappings.
type Importer struct {
	// Mappings place the rules' logsources and fields.
	Mappings *Mappings
	// Lists are the lists already in the output directory's
	// PlaceholdersFile (see ParseLists); the import keeps their values.
	Lists map[string][]string
}

// Import converts the inputs, in order. It never fails on a rule: a rule
// that cannot be imported exactly is recorded with its Skip. Rule ids are
// "sigma_" and the file's base name in snake_case, "_2", "_3"... for the
// next rules of the same file; an id already taken (by an earlier file)
// gets the first free "_N" suffix, so the same inputs always give the same
// ids.
func (im *Importer) Import(inputs []Input) (*Result, error) {
	res := &Result{Files: map[string][]byte{}}
	lists := map[string][]string{}
	for k, v := range im.Lists {
		lists[k] = v
	}
	used := map[string]bool{}
	listsUsed := false
	for _, in := range inputs {
		rs, err := ParseFile(in.Name, in.Data)
		if err == nil && len(rs) == 0 {
			err = fmt.Errorf("parse %s: no YAML document", in.Name)
		}
		if err != nil {
			res.Outcomes = append(res.Outcomes, Outcome{File: in.Name, Skip: skipf(ReasonInvalid, "%v", err)})
			continue
		}
		base := "sigma_" + snake(strings.TrimSuffix(path.Base(strings.ReplaceAll(in.Name, `\`, "/")), path.Ext(in.Name)))
		if base == "sigma_" {
			base = "sigma_rule"
		}
		var out []outRule
		for _, r := range rs {
			o := Outcome{File: in.Name, Index: r.Index, Title: r.Title}
			or, sk := im.convert(r, lists, res)
			if sk != nil {
				o.Skip = sk
				res.Outcomes = append(res.Outcomes, o)
				continue
			}
			id := base
			if r.Index > 1 {
				id = fmt.Sprintf("%s_%d", base, r.Index)
			}
			id = freeID(id, used)
			used[id] = true
			or.ID = id
			o.RuleID = id
			listsUsed = listsUsed || or.usesLists
			out = append(out, or.outRule)
			res.Outcomes = append(res.Outcomes, o)
		}
		if len(out) == 0 {
			continue
		}
		data, err := renderRules(out)
		if err != nil {
			return nil, fmt.Errorf("import %s: %w", in.Name, err)
		}
		res.Files[out[0].ID+".yaml"] = data
	}
	if listsUsed {
		data, err := renderLists(lists)
		if err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
		res.Files[PlaceholdersFile] = data
	}
	slices.Sort(res.NewLists)
	return res, nil
}

// freeID returns id, or id_N with the smallest N from 2 that is not used.
func freeID(id string, used map[string]bool) string {
	if !used[id] {
		return id
	}
	for n := 2; ; n++ {
		if c := fmt.Sprintf("%s_%d", id, n); !used[c] {
			return c
		}
	}
}

// converted is one rule converted, before its id is given.
type converted struct {
	outRule
	usesLists bool
}

// convert compiles one Sigma rule and generates its tests. New placeholder
// lists are added to lists (and to res.NewLists).
func (im *Importer) convert(r *Rule, lists map[string][]string, res *Result) (converted, *Skip) {
	if r.skip != nil {
		return converted{}, r.skip
	}
	m, ls := im.Mappings.find(r.Logsource)
	if m == nil {
		return converted{}, skipf(ReasonLogsource, "logsource %s is not one tripline reads (it reads %s; add a mapping with --mapping)", describeLogsource(r.Logsource), strings.Join(im.Mappings.Logsources(), ", "))
	}
	c, sk := compileDetection(r.Detection, m, ls.When)
	if sk != nil {
		return converted{}, sk
	}
	for name, text := range c.lists {
		if _, ok := lists[name]; !ok {
			lists[name] = []string{text}
			res.NewLists = append(res.NewLists, name)
		}
	}
	or := outRule{
		ID:          "sigma_check",
		Description: description(r),
		Severity:    severity(r.Level),
		Mode:        string(remediate.ModeShadow),
		Action:      string(remediate.ActionSuspend),
		When:        guard(ls.Formats) + " && (" + body(c.cond) + ") && " + needsUser,
		Reason:      reason(r.Title),
		Tags:        r.Tags,
		Sigma: &rules.SigmaOrigin{
			ID: r.ID, Title: r.Title, Status: r.Status, Author: r.Author, Date: r.Date, Modified: r.Modified,
			References: r.References, Logsource: r.Logsource, File: r.File, Condition: c.condition,
			Selections: c.selections,
		},
	}
	ck, err := newChecker(or, lists, ls.Formats, ls.Kind)
	if err != nil {
		return converted{}, skipf(ReasonInvalid, "%v", err)
	}
	tests, sk := generateTests(ck, c.cond, lists, c.lsPaths)
	if sk != nil {
		return converted{}, sk
	}
	or.Tests = tests
	return converted{outRule: or, usesLists: len(c.lists) > 0}, nil
}

// needsUser is the last conjunct of every imported rule's `when`: the
// event names a user to act on. A rule that suspends and matches an event
// without one fails at runtime (rules.ErrNoUser), and the consumer
// dead-letters the event; an imported rule leaves such events alone
// instead (CloudTrail calls of roles and services, Okta failures of
// unknown users...).
const needsUser = `identity != ""`

// guard is the `when` conjunct restricting a rule to its formats.
func guard(formats []string) string {
	if len(formats) == 1 {
		return fmt.Sprintf("source == %q", formats[0])
	}
	q := make([]string, len(formats))
	for i, f := range formats {
		q[i] = fmt.Sprintf("%q", f)
	}
	return "source in [" + strings.Join(q, ", ") + "]"
}

// body renders the compiled condition inside the parentheses after the
// guard: a lone search identifier without parentheses of its own.
func body(f formula) string {
	if g, ok := f.(fGroup); ok {
		return g.f.render()
	}
	return f.render()
}

// description is the rule's title and Sigma description, on one line.
func description(r *Rule) string {
	d := oneLine(r.Title)
	if desc := oneLine(r.Description); desc != "" {
		if d != "" {
			d += ": "
		}
		d += desc
	}
	return d
}

// reason is the rule's reason template: it names the Sigma title, with
// any template delimiters in it neutralised.
func reason(title string) string {
	t := oneLine(title)
	t = strings.NewReplacer("{{", "{ {", "}}", "} }").Replace(t)
	return fmt.Sprintf("Sigma rule %q matched", t)
}

// severity maps a Sigma level onto a tripline severity; no level (or an
// unknown one) is medium.
func severity(level string) string {
	switch strings.ToLower(level) {
	case "informational":
		return rules.SeverityInfo
	case "low":
		return rules.SeverityLow
	case "high":
		return rules.SeverityHigh
	case "critical":
		return rules.SeverityCritical
	}
	return rules.SeverityMedium
}

// describeLogsource renders a logsource for messages.
func describeLogsource(ls map[string]string) string {
	var parts []string
	for _, k := range []string{"product", "service", "category"} {
		if v := ls[k]; v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	if len(parts) == 0 {
		return "(empty)"
	}
	return strings.Join(parts, " ")
}
