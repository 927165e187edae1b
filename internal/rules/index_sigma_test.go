package rules_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"go.yaml.in/yaml/v3"

	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/rules"
	"github.com/tripline-dev/tripline/internal/sigma"
)

// sigmaTestdata is internal/sigma's conformance corpus.
const sigmaTestdata = "../sigma/testdata"

// TestValueIndexOnImportedSigmaRules imports every rule of internal/sigma's
// conformance corpus (with the corpus's placeholder lists), adds them to
// the shipped rules, and evaluates the corpus's vendor documents and the
// sample events of every source three times over, through the source and
// value indexes and evaluating every rule: the same decisions in the same
// order (see sameDecisions). The comparison means something only if the
// imported rules match, and if the value index both runs and skips many
// of them.
func TestValueIndexOnImportedSigmaRules(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(sigmaTestdata, "corpus.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var corpus struct {
		Lists map[string][]string `yaml:"lists"`
	}
	if err := yaml.Unmarshal(data, &corpus); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(sigmaTestdata, "rules", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus rules: %v", err)
	}
	inputs, err := sigma.ReadInputs(files)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := sigma.ShippedMappings()
	if err != nil {
		t.Fatal(err)
	}
	im := &sigma.Importer{Mappings: ms, Lists: corpus.Lists}
	res, err := im.Import(inputs)
	if err != nil {
		t.Fatal(err)
	}
	fsys := rules.ShippedFS(t, "rules: []\n")
	imported := map[string]bool{}
	for _, o := range res.Outcomes {
		if o.Skip != nil {
			t.Errorf("%s: rule %d skipped: %v", o.File, o.Index, o.Skip)
			continue
		}
		imported[o.RuleID] = true
	}
	for name, content := range res.Files {
		fsys["zz_sigma_"+name] = &fstest.MapFile{Data: content}
	}

	dec, err := event.NewDecoder(event.Config{})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := filepath.Glob(filepath.Join(sigmaTestdata, "events", "*.json"))
	if err != nil || len(docs) == 0 {
		t.Fatalf("no corpus events: %v", err)
	}
	var events []event.Event
	for _, f := range docs {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := dec.Decode(bytes.TrimSpace(raw), event.FormatAuto)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for i := range evs {
			evs[i].EventID = fmt.Sprintf("%s/%d", filepath.Base(f), i)
		}
		events = append(events, evs...)
	}
	events = append(events, rules.CorpusEvents(t)...)

	st := rules.SameDecisions(t, fsys, events, 3)
	matched, indexed := 0, 0
	for id := range imported {
		if st.Matched[id] > 0 {
			matched++
		}
		if st.ValueRuns[id] > 0 && st.ValueSkips[id] > 0 {
			indexed++
		}
	}
	t.Logf("%d imported rules: %d matched, %d both run and skipped by the value index", len(imported), matched, indexed)
	if matched < len(imported)*3/4 {
		t.Errorf("only %d of %d imported rules matched", matched, len(imported))
	}
	if indexed < 10 {
		t.Errorf("only %d imported rules were both run and skipped by the value index", indexed)
	}
}
