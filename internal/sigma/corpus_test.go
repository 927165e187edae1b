package sigma

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/rules"
)

// corpus is testdata/corpus.yaml.
type corpus struct {
	Lists map[string][]string `yaml:"lists"`
	Cases []struct {
		File    string                 `yaml:"file"`
		Match   []string               `yaml:"match"`
		NoMatch []string               `yaml:"no_match"`
		Rules   map[string]expectation `yaml:"rules"`
	} `yaml:"cases"`
	Skips map[string]Reason `yaml:"skips"`
}

// expectation is what one imported rule must do on the corpus events.
type expectation struct {
	Match   []string `yaml:"match"`
	NoMatch []string `yaml:"no_match"`
}

func loadCorpus(t *testing.T) corpus {
	t.Helper()
	data, err := os.ReadFile("testdata/corpus.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c corpus
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

func shippedMappings(t testing.TB) *Mappings {
	t.Helper()
	ms, err := ShippedMappings()
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func decoder(t testing.TB) rules.DecodeFunc {
	t.Helper()
	dec, err := event.NewDecoder(event.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return func(raw []byte) ([]event.Event, error) { return dec.Decode(raw, event.FormatAuto) }
}

// importFiles imports the named testdata files with the corpus lists.
func importFiles(t testing.TB, lists map[string][]string, files ...string) *Result {
	t.Helper()
	var inputs []Input
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, Input{Name: f, Data: data})
	}
	im := &Importer{Mappings: shippedMappings(t), Lists: maps.Clone(lists)}
	res, err := im.Import(inputs)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// writeDir writes the files of res into a new directory.
func writeDir(t testing.TB, res *Result) string {
	t.Helper()
	dir := t.TempDir()
	if err := Write(dir, res); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestCorpus imports every rule of the corpus, loads the output as the
// consumer does (rules.LoadChecked: compiled, inline tests run), and
// replays every corpus document through the event decoder and the
// imported rules (rules.Replay): each rule matches exactly the documents
// the corpus says.
func TestCorpus(t *testing.T) {
	t.Parallel()
	c := loadCorpus(t)
	want := map[string]expectation{} // by rule id
	var files []string
	for _, cs := range c.Cases {
		f := filepath.Join("testdata/rules", cs.File)
		files = append(files, f)
		res := importFiles(t, c.Lists, f)
		var ids []string
		for _, o := range res.Outcomes {
			if o.Skip != nil {
				t.Errorf("%s: rule %d skipped: %v", cs.File, o.Index, o.Skip)
				continue
			}
			ids = append(ids, o.RuleID)
		}
		if cs.Rules == nil {
			if len(ids) != 1 {
				t.Errorf("%s: imported %v, want one rule", cs.File, ids)
				continue
			}
			want[ids[0]] = expectation{Match: cs.Match, NoMatch: cs.NoMatch}
			continue
		}
		for id, x := range cs.Rules {
			if !slices.Contains(ids, id) {
				t.Errorf("%s: imported %v, want %s among them", cs.File, ids, id)
			}
			want[id] = x
		}
	}
	res := importFiles(t, c.Lists, files...)
	dir := writeDir(t, res)
	decode := decoder(t)
	set, err := rules.LoadChecked(dir, decode)
	if err != nil {
		t.Fatalf("the imported corpus does not load and pass its inline tests:\n%v", err)
	}
	if n := len(set.Rules()); n != len(want) {
		t.Errorf("loaded %d rules, want %d", n, len(want))
	}

	// Replay every document, one line each.
	events, err := filepath.Glob("testdata/events/*.json")
	if err != nil || len(events) == 0 {
		t.Fatalf("no corpus events: %v", err)
	}
	var in bytes.Buffer
	for _, f := range events {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, data); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		in.Write(compact.Bytes())
		in.WriteByte('\n')
	}
	var out, errs bytes.Buffer
	sum, err := rules.Replay(context.Background(), rules.ReplayConfig{Set: set, Decode: decode, Errors: &errs}, &in, &out)
	if err != nil || !sum.OK() {
		t.Fatalf("replay: %v %+v\n%s", err, sum, errs.String())
	}
	matched := map[string]map[string]bool{} // rule id -> event file
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if line == "" {
			continue
		}
		var d struct {
			Line   int    `json:"line"`
			RuleID string `json:"rule_id"`
			Mode   string `json:"mode"`
		}
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("decision %s: %v", line, err)
		}
		if d.Mode != "shadow" {
			t.Errorf("decision %s: an imported rule is not in shadow mode", line)
		}
		if matched[d.RuleID] == nil {
			matched[d.RuleID] = map[string]bool{}
		}
		matched[d.RuleID][filepath.Base(events[d.Line-1])] = true
	}
	for id, x := range want {
		for _, f := range x.Match {
			if !matched[id][f] {
				t.Errorf("rule %s does not match %s", id, f)
			}
		}
		for _, f := range x.NoMatch {
			if matched[id][f] {
				t.Errorf("rule %s matches %s", id, f)
			}
		}
	}
}

// TestCorpusSkips checks each skip reason on a rule that has it: the rule
// is skipped, with that reason, and nothing is written for it.
func TestCorpusSkips(t *testing.T) {
	t.Parallel()
	c := loadCorpus(t)
	seen := map[Reason]bool{}
	for file, reason := range c.Skips {
		res := importFiles(t, nil, filepath.Join("testdata/skip", file))
		if len(res.Outcomes) != 1 || res.Outcomes[0].Skip == nil {
			t.Errorf("%s: outcomes %+v, want one skip", file, res.Outcomes)
			continue
		}
		if got := res.Outcomes[0].Skip.Reason; got != reason {
			t.Errorf("%s: skipped for %s (%s), want %s", file, got, res.Outcomes[0].Skip.Msg, reason)
		}
		if len(res.Files) != 0 {
			t.Errorf("%s: wrote %v for a skipped rule", file, slices.Collect(maps.Keys(res.Files)))
		}
		seen[reason] = true
	}
	for _, r := range []Reason{ReasonAggregation, ReasonCorrelation, ReasonFilter, ReasonTimeframe, ReasonLogsource,
		ReasonRegexp, ReasonModifier, ReasonField, ReasonInvalid, ReasonUntestable} {
		if !seen[r] {
			t.Errorf("no corpus skip has the reason %s", r)
		}
	}
}

// TestCorpusReimport checks that importing the same files again gives
// the same bytes, and that the lists already filled in are kept.
func TestCorpusReimport(t *testing.T) {
	t.Parallel()
	c := loadCorpus(t)
	files, err := filepath.Glob("testdata/rules/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	first := importFiles(t, c.Lists, files...)
	second := importFiles(t, c.Lists, files...)
	if len(first.Files) == 0 {
		t.Fatal("nothing imported")
	}
	for name, data := range first.Files {
		if !bytes.Equal(data, second.Files[name]) {
			t.Errorf("%s differs between two imports", name)
		}
	}
	if len(first.Files) != len(second.Files) {
		t.Errorf("%d files, then %d", len(first.Files), len(second.Files))
	}
	lists, err := ParseLists(first.Files[PlaceholdersFile])
	if err != nil {
		t.Fatal(err)
	}
	if got := lists["sigma_blocked_countries"]; !slices.Equal(got, []string{"Romania"}) {
		t.Errorf("sigma_blocked_countries = %q, want the values given kept", got)
	}
}
