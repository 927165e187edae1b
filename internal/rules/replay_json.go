package rules

import (
	"strconv"

	"github.com/tripline-dev/tripline/internal/event"
)

// replayDecision is one decision line of a replay. Its json tags name the
// fields as appendDecision writes them.
type replayDecision struct {
	Line     int    `json:"line"`
	EventID  string `json:"event_id"`
	RuleID   string `json:"rule_id"`
	Mode     string `json:"mode"`
	Action   string `json:"action"`
	User     string `json:"user"`
	Reason   string `json:"reason"`
	Severity string `json:"severity"`
}

// appendDecision appends d as one JSON line, as encoding/json with
// SetEscapeHTML(false) writes it.
func appendDecision(b []byte, d replayDecision) []byte {
	b = append(b, `{"line":`...)
	b = strconv.AppendInt(b, int64(d.Line), 10)
	for _, f := range [...]struct{ name, v string }{
		{`,"event_id":`, d.EventID}, {`,"rule_id":`, d.RuleID}, {`,"mode":`, d.Mode}, {`,"action":`, d.Action},
		{`,"user":`, d.User}, {`,"reason":`, d.Reason}, {`,"severity":`, d.Severity},
	} {
		b = append(b, f.name...)
		b = event.AppendJSONString(b, f.v, false)
	}
	return append(b, "}\n"...)
}
