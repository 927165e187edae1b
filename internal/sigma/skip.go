package sigma

import "fmt"

// Reason says why a Sigma rule was not imported.
type Reason string

// The reasons a Sigma rule is skipped. Each is a kind of rule tripline
// cannot run exactly as Sigma means it; the Skip message says what in the
// rule is at fault.
const (
	// ReasonAggregation: the condition aggregates events (`| count() by
	// ...`, `near`); tripline matches one event at a time.
	ReasonAggregation Reason = "aggregation"
	// ReasonCorrelation: a correlation rule (it links other rules' matches).
	ReasonCorrelation Reason = "correlation"
	// ReasonFilter: a Sigma filter (meta rule excluding events from other
	// rules), not a detection.
	ReasonFilter Reason = "filter"
	// ReasonTimeframe: the detection has a timeframe.
	ReasonTimeframe Reason = "timeframe"
	// ReasonLogsource: no mapping places the rule's logsource on a source
	// tripline reads.
	ReasonLogsource Reason = "logsource"
	// ReasonRegexp: a regular expression RE2 cannot run (lookaround,
	// backreference, possessive quantifier, ...).
	ReasonRegexp Reason = "regexp"
	// ReasonModifier: a value modifier, or a combination of modifiers,
	// the import does not support (neq, utf16, time modifiers, ...).
	ReasonModifier Reason = "modifier"
	// ReasonField: a field the mapping cannot place on the vendor
	// documents.
	ReasonField Reason = "field"
	// ReasonInvalid: the rule is not valid Sigma (YAML, missing detection,
	// unknown search identifier in the condition, ...).
	ReasonInvalid Reason = "invalid"
	// ReasonUntestable: no event can match the rule (its condition
	// contradicts itself), so it gets no matching test.
	ReasonUntestable Reason = "untestable"
)

// Skip is why one Sigma rule was not imported.
type Skip struct {
	Reason Reason
	Msg    string
}

// Error returns "reason: message".
func (s *Skip) Error() string { return fmt.Sprintf("%s: %s", s.Reason, s.Msg) }

// skipf returns a *Skip with the formatted message.
func skipf(r Reason, format string, args ...any) *Skip {
	return &Skip{Reason: r, Msg: fmt.Sprintf(format, args...)}
}
