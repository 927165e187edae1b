package rules

import (
	"bytes"
	"encoding/json"
	"io"
)

// explainLine is one line of the JSON output: one rule on one event.
type explainLine struct {
	Line     int              `json:"line"`
	Item     int              `json:"item,omitempty"`
	EventID  string           `json:"event_id"`
	Source   string           `json:"source"`
	RuleID   string           `json:"rule_id"`
	Enabled  bool             `json:"enabled"`
	Match    bool             `json:"match"`
	Skipped  string           `json:"skipped,omitempty"`
	Error    string           `json:"error,omitempty"`
	Decision *explainDecision `json:"decision,omitempty"`
	Tree     *ExplainNode     `json:"tree"`
}

// explainDecision is the decision of a rule that matched.
type explainDecision struct {
	Mode   string `json:"mode"`
	Action string `json:"action"`
	User   string `json:"user"`
}

// WriteJSON writes the explanation as `consumer rules explain --json`
// prints it: one JSON object per line for each rule,
//
//	{"line":N,"item":K,"event_id":...,"source":...,"rule_id":...,
//	 "enabled":true,"match":false,"skipped":...,"error":...,
//	 "decision":{"mode":...,"action":...,"user":...},"tree":NODE}
//
// where item (the position in a batch), skipped, error and decision appear
// only when set, and each NODE (see ExplainNode.MarshalJSON) is
//
//	{"expr":...,"op":...,"selection":...,"evaluated":true,"value":...,
//	 "failed":true,"error":...,"fields":[{"path":...,"value":...,"missing":true}],
//	 "count":{"key":...,"window":...,"user":...,"count":N},"children":[NODE...]}
func (ee *EventExplanation) WriteJSON(w io.Writer) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := range ee.Rules {
		x := &ee.Rules[i]
		l := explainLine{
			Line: ee.Line, Item: ee.Event.Item, EventID: ee.Event.EventID, Source: ee.Event.Source,
			RuleID: x.RuleID, Enabled: x.Enabled, Match: x.Match, Skipped: x.Skipped, Error: x.Error, Tree: x.Tree,
		}
		if d := x.Decision; d != nil {
			l.Decision = &explainDecision{Mode: string(d.Mode), Action: string(d.Action), User: d.User}
		}
		if err := enc.Encode(l); err != nil {
			return err
		}
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// explainNodeJSON is the JSON form of an ExplainNode.
type explainNodeJSON struct {
	Expr      string             `json:"expr"`
	Op        string             `json:"op,omitempty"`
	Selection string             `json:"selection,omitempty"`
	Evaluated bool               `json:"evaluated"`
	Value     json.RawMessage    `json:"value,omitempty"`
	Failed    bool               `json:"failed,omitempty"`
	Error     string             `json:"error,omitempty"`
	Fields    []explainFieldJSON `json:"fields,omitempty"`
	Count     *explainCountJSON  `json:"count,omitempty"`
	Children  []*ExplainNode     `json:"children,omitempty"`
}

type explainFieldJSON struct {
	Path    string          `json:"path"`
	Value   json.RawMessage `json:"value,omitempty"`
	Missing bool            `json:"missing,omitempty"`
}

type explainCountJSON struct {
	Key    string `json:"key"`
	Window string `json:"window"`
	User   string `json:"user"`
	Count  int    `json:"count"`
}

// MarshalJSON encodes the node as WriteJSON documents it: "value" is
// present (null included) when the clause was evaluated without error,
// bounded as the text output is, with larger limits (see boundedJSON).
func (n *ExplainNode) MarshalJSON() ([]byte, error) {
	out := explainNodeJSON{
		Expr: n.Expr, Op: n.Op, Selection: n.Selection, Evaluated: n.Evaluated,
		Failed: n.Failed, Error: n.Error, Children: n.Children,
	}
	if n.Evaluated && !n.Failed {
		v, err := jsonValue(n.Value)
		if err != nil {
			return nil, err
		}
		out.Value = v
	}
	for _, f := range n.Fields {
		jf := explainFieldJSON{Path: f.Path, Missing: f.Missing}
		if !f.Missing {
			v, err := jsonValue(f.Value)
			if err != nil {
				return nil, err
			}
			jf.Value = v
		}
		out.Fields = append(out.Fields, jf)
	}
	if c := n.Count; c != nil {
		out.Count = &explainCountJSON{Key: c.Key, Window: c.Window, User: c.User, Count: c.Count}
	}
	return encodeJSON(out)
}

// jsonValue encodes v bounded (see boundedJSON), null for nil.
func jsonValue(v any) (json.RawMessage, error) { return encodeJSON(boundedJSON(v, 0)) }

// encodeJSON encodes v as json.Marshal does, without escaping <, > and &
// (expressions are full of &&).
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
