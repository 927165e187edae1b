package rules

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tripline-dev/tripline/internal/event"
)

// EventExplanation is the explanation of one event: each rule asked
// about, in rule order (see Explainer.Explain).
type EventExplanation struct {
	// Line is the input line the event's document starts on, 0 when
	// unknown.
	Line  int
	Event *event.Event
	Rules []Explanation
}

// Marks of the text output.
const (
	markNotEvaluated = "not evaluated"
	markErrorBelow   = "error (below)"
)

// WriteText writes the explanation as `consumer rules explain` prints it:
// a line naming the event, then for each rule a line with its id and MATCH
// or NO MATCH, and the tree of its `when`, one clause per line, indented
// under the clause it belongs to:
//
//	CLAUSE [SELECTION]  VALUE  (FIELD = VALUE, ...)
//
// && and || chains print only their operator; their operands follow. VALUE
// is the clause's value, "not evaluated" (a short-circuit skipped it; its
// own clauses are not printed), "error: MESSAGE" on the clause that raised a
// runtime error or "error (below)" on the clauses above it. Values are
// bounded (see compactValue). An empty line follows each event.
func (ee *EventExplanation) WriteText(w io.Writer) error {
	var sb strings.Builder
	sb.WriteString(eventTitle(ee.Line, ee.Event))
	sb.WriteByte('\n')
	for i := range ee.Rules {
		writeRuleText(&sb, &ee.Rules[i])
	}
	sb.WriteByte('\n')
	_, err := io.WriteString(w, sb.String())
	return err
}

// eventTitle names an event: its id, where it came from, its source,
// kind, user and time.
func eventTitle(line int, ev *event.Event) string {
	id := ev.EventID
	if id == "" {
		id = "(no id)"
	}
	var where []string
	if line > 0 {
		where = append(where, fmt.Sprintf("line %d", line))
	}
	if ev.Item > 0 {
		where = append(where, fmt.Sprintf("item %d", ev.Item))
	}
	title := "event " + id
	if len(where) > 0 {
		title += " (" + strings.Join(where, ", ") + ")"
	}
	user := counterIdentity(ev)
	if user == "" {
		user = "no user"
	}
	return fmt.Sprintf("%s: %s %s, %s, %s, outcome %s, risk %s", title, ev.Source, ev.Kind, user,
		ev.Time.UTC().Format(time.RFC3339Nano), ev.Outcome, ev.Risk)
}

// writeRuleText writes one rule's line and tree.
func writeRuleText(sb *strings.Builder, x *Explanation) {
	status := "NO MATCH"
	if x.Match {
		status = "MATCH"
	}
	fmt.Fprintf(sb, "  %s  %s", x.RuleID, status)
	var notes []string
	if !x.Enabled {
		notes = append(notes, "disabled: the consumer does not run it; explained as if enabled")
	}
	if x.Skipped != "" {
		notes = append(notes, x.Skipped)
	}
	if x.Error != "" {
		notes = append(notes, "error: "+x.Error)
	}
	if d := x.Decision; d != nil {
		notes = append(notes, fmt.Sprintf("decision: %s/%s %s", d.Mode, d.Action, d.User))
	}
	if len(notes) > 0 {
		sb.WriteString("  (" + strings.Join(notes, "; ") + ")")
	}
	sb.WriteByte('\n')
	if x.Tree != nil {
		writeNodeText(sb, x.Tree, 2)
	}
}

// writeNodeText writes n at depth (two spaces each) and, when it was
// evaluated, its children below it.
func writeNodeText(sb *strings.Builder, n *ExplainNode, depth int) {
	sb.WriteString(strings.Repeat("  ", depth))
	if n.Op != "" && n.Op != "!" && n.Op != "not" && n.Op != "??" {
		sb.WriteString(n.Op)
	} else {
		sb.WriteString(n.Expr)
	}
	if n.Selection != "" {
		sb.WriteString("  [" + n.Selection + "]")
	}
	sb.WriteString("  ")
	switch {
	case !n.Evaluated:
		sb.WriteString(markNotEvaluated)
		sb.WriteByte('\n')
		return
	case n.Failed && n.Error != "":
		sb.WriteString("error: " + n.Error)
	case n.Failed:
		sb.WriteString(markErrorBelow)
	default:
		sb.WriteString(compactValue(n.Value))
	}
	var notes []string
	if c := n.Count; c != nil {
		if c.User == "" {
			notes = append(notes, "no user to count by")
		} else {
			events := "events"
			if c.Count == 1 {
				events = "event"
			}
			notes = append(notes, fmt.Sprintf("%d %s of %s within %s, this one included", c.Count, events, c.User, c.Window))
		}
	}
	for _, f := range n.Fields {
		v := "<missing>"
		if !f.Missing {
			v = compactValue(f.Value)
		}
		notes = append(notes, f.Path+" = "+v)
	}
	if len(notes) > 0 {
		sb.WriteString("  (" + strings.Join(notes, ", ") + ")")
	}
	sb.WriteByte('\n')
	for _, c := range n.Children {
		writeNodeText(sb, c, depth+1)
	}
}
