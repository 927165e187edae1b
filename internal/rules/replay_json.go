package rules

import (
	"strconv"
	"unicode/utf8"
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
		b = appendJSONString(b, f.v)
	}
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string, as encoding/json does
// without HTML escaping: invalid UTF-8 becomes U+FFFD, U+2028 and U+2029
// are escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
