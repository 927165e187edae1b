package rules

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/tripline-dev/tripline/internal/event"
)

// BenignDir is the directory, inside a rule directory, of the benign corpus:
// raw vendor documents (*.json) of ordinary sign-ins that no rule that acts
// may match.
const BenignDir = "testdata/benign"

// ErrBenignMatch is matched by the error of a load in which a rule that acts
// matched, or failed on, a sample of the benign corpus.
var ErrBenignMatch = errors.New("rule matches a benign sample")

// benignError is one rule's benign-corpus failure, as LoadChecked reports
// it: "file:line: rule id matches the benign sample …".
type benignError struct{ msg string }

func (e *benignError) Error() string { return e.msg }

// Unwrap returns ErrBenignMatch.
func (e *benignError) Unwrap() error { return ErrBenignMatch }

// BenignSample is one benign event a rule matched or failed on.
type BenignSample struct {
	File    string // sample file, relative to the rule directory: testdata/benign/x.json
	EventID string // the event's id, "" if it has none
	Index   int    // 1-based position of the event in its file (batches hold several)
	Error   string // the rule's runtime error on the event; "" when it matched
}

// String names the sample as "testdata/benign/x.json (event okta:…)".
func (b BenignSample) String() string {
	if b.EventID == "" {
		return fmt.Sprintf("%s (event #%d)", b.File, b.Index)
	}
	return fmt.Sprintf("%s (event %s)", b.File, b.EventID)
}

// BenignResult is the benign-corpus check of one rule that acts.
type BenignResult struct {
	RuleID  string
	File    string // rule file, relative to the rule directory
	Line    int    // line of the rule's id
	Samples int    // benign events evaluated
	// Hits are the benign events the rule matched or failed on, in corpus
	// order. The rule passes when there are none.
	Hits []BenignSample
	Pass bool
}

// Problem returns the failure as one line, "" when r passed.
func (r BenignResult) Problem() string {
	if r.Pass {
		return ""
	}
	if len(r.Hits) == 0 {
		return fmt.Sprintf("rule %s was checked against no benign sample", r.RuleID)
	}
	first, more := r.Hits[0], ""
	if n := len(r.Hits) - 1; n > 0 {
		more = fmt.Sprintf(" and %d more", n)
	}
	if first.Error != "" {
		return fmt.Sprintf("rule %s fails on the benign sample %s%s: %s: a rule that acts must handle ordinary sign-ins", r.RuleID, first, more, first.Error)
	}
	return fmt.Sprintf("rule %s matches the benign sample %s%s: a rule that acts must not match ordinary sign-ins", r.RuleID, first, more)
}

// benignEvent is one event of the benign corpus.
type benignEvent struct {
	file  string
	index int
	ev    event.Event
}

// CheckBenign evaluates every rule that acts (RuleInfo.Acts) against every
// event of the benign corpus in dir/testdata/benign, and returns one result
// per such rule, in rule order. Each *.json file there holds one raw vendor
// document, which decode turns into one event or, for a batch, several.
// Each rule runs alone, against a fresh State, over the events in file-name
// then document order; a rule fails if it matches any of them or fails on
// any of them at runtime.
//
// The error reports problems with the corpus itself, as *LoadError values:
// a file that cannot be read or decoded (or no decoder), and, when some
// rule acts, a corpus that is missing or holds no event. The results are
// still returned for the events that could be decoded.
func (s *Set) CheckBenign(dir string, decode DecodeFunc) ([]BenignResult, error) {
	var acting []*rule
	for _, r := range s.rules {
		if r.info.Acts() {
			acting = append(acting, r)
		}
	}
	events, problems := readBenign(dir, decode)
	if len(acting) > 0 && len(events) == 0 && len(problems) == 0 {
		problems = append(problems, &LoadError{File: BenignDir, Msg: fmt.Sprintf(
			"rules that act need a benign corpus in %s (copy rules/testdata/benign from the tripline repository)",
			filepath.Join(dir, filepath.FromSlash(BenignDir)))})
	}
	var out []BenignResult
	for _, r := range acting {
		res := BenignResult{RuleID: r.info.ID, File: r.info.File, Line: r.info.Line, Samples: len(events)}
		cat := *s.cat
		cat.state = NewState(1000)
		e := newEvaluator(&cat).(*evaluator)
		rules := []*rule{r}
		for _, b := range events {
			ev := b.ev
			got := evaluate(e, rules, &ev, true)
			hit := BenignSample{File: b.file, EventID: b.ev.EventID, Index: b.index}
			switch {
			case len(got.Decisions) > 0:
				res.Hits = append(res.Hits, hit)
			case len(got.Errors) > 0:
				if !errors.Is(got.Errors[0].Err, ErrNoUser) { // ErrNoUser: it matched
					hit.Error = got.Errors[0].Err.Error()
				}
				res.Hits = append(res.Hits, hit)
			}
		}
		res.Pass = len(res.Hits) == 0 && res.Samples > 0
		out = append(out, res)
	}
	return out, errors.Join(problems...)
}

// readBenign decodes every *.json file of dir/testdata/benign. A missing
// directory is no corpus, not an error.
func readBenign(dir string, decode DecodeFunc) ([]benignEvent, []error) {
	entries, err := os.ReadDir(filepath.Join(dir, filepath.FromSlash(BenignDir)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, []error{&LoadError{File: BenignDir, Msg: fmt.Sprintf("read benign corpus: %v", err)}}
	}
	var files []string
	for _, de := range entries {
		if !de.IsDir() && strings.HasSuffix(de.Name(), ".json") {
			files = append(files, path.Join(BenignDir, de.Name()))
		}
	}
	if len(files) > 0 && decode == nil {
		return nil, []error{&LoadError{File: BenignDir, Msg: "no event decoder to read the benign corpus"}}
	}
	var events []benignEvent
	var problems []error
	for _, f := range files {
		raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			problems = append(problems, &LoadError{File: f, Msg: fmt.Sprintf("benign sample: %v", err)})
			continue
		}
		evs, err := decode(raw)
		if err != nil {
			problems = append(problems, &LoadError{File: f, Msg: fmt.Sprintf("benign sample: %v", err)})
			continue
		}
		if len(evs) == 0 {
			problems = append(problems, &LoadError{File: f, Msg: "benign sample: the decoder returned no event"})
			continue
		}
		for i, ev := range evs {
			events = append(events, benignEvent{file: f, index: i + 1, ev: ev})
		}
	}
	return events, problems
}
