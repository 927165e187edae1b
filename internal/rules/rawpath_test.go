package rules

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rawDoc decodes a JSON document as the event decoder gives raw.
func rawDoc(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestRawValues(t *testing.T) {
	t.Parallel()
	doc := rawDoc(t, `{
		"eventType": "user.session.start",
		"EventType": "shadowed by the exact key",
		"Outcome": {"Result": "SUCCESS"},
		"target": [
			{"type": "User", "displayName": "Ann"},
			{"type": "AppInstance", "displayName": "Okta Admin Console"},
			{"type": "Group"}
		],
		"reasons": ["a", ["b", "c"]],
		"empty": [],
		"nothing": null,
		"kibana.alert.rule.name": "dotted",
		"kibana": {"alert.rule": {"name": "half dotted"}},
		"events": [
			{"name": "CHANGE", "parameters": [
				{"name": "SETTING_NAME", "value": "ContextAwareAccess"},
				{"name": "NEW_VALUE", "value": "false"},
				{"name": "OLD_VALUE", "value": "true"}
			]},
			{"name": "OTHER", "parameters": [{"name": "new_value", "value": "x"}]}
		],
		"Folded": {"A": 1},
		"folded": {"a": 2}
	}`)
	tests := []struct {
		name, path string
		want       []any
	}{
		{"exact key", "eventType", []any{"user.session.start"}},
		{"exact key wins over a folded one", "eventType", []any{"user.session.start"}},
		{"case-insensitive fallback", "outcome.result", []any{"SUCCESS"}},
		{"array crossed, each element", "target.displayName", []any{"Ann", "Okta Admin Console"}},
		{"terminal array flattened", "reasons", []any{"a", "b", "c"}},
		{"empty array gives nothing", "empty", nil},
		{"null is a value", "nothing", []any{nil}},
		{"missing", "no.such.path", nil},
		{"through a scalar", "eventType.x", nil},
		{"dotted key as one key", "kibana.alert.rule.name", []any{"half dotted", "dotted"}},
		{"filter segment", "events.parameters[name=NEW_VALUE].value", []any{"false", "x"}},
		{"filter on another name", "events.parameters[name=SETTING_NAME].value", []any{"ContextAwareAccess"}},
		{"object as is", "Outcome", []any{map[string]any{"Result": "SUCCESS"}}},
		{"folded keys in sorted order", "FOLDED.a", []any{1.0, 2.0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := RawValues(doc, tc.path)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("RawValues(%q) (-want +got):\n%s", tc.path, d)
			}
		})
	}
	if got := RawValues(nil, "a"); got != nil {
		t.Errorf("nil document: %v", got)
	}
}
