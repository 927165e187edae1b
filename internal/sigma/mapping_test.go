package sigma

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestShippedMappingsPlace(t *testing.T) {
	t.Parallel()
	ms := shippedMappings(t)
	tests := []struct {
		product, service, field string
		paths                   []string
		skip                    Reason
	}{
		{"okta", "okta", "debugContext.debugData.requestUri", []string{"debugContext.debugData.requestUri"}, ""},
		{"okta", "", "eventType", []string{"eventType"}, ""},
		{"azure", "signinlogs", "ResultType", []string{"resultType", "properties.status.errorCode"}, ""},
		{"azure", "signinlogs", "resulttype", []string{"resultType", "properties.status.errorCode"}, ""},
		{"azure", "signinlogs", "AuthenticationRequirement", []string{"properties.authenticationRequirement"}, ""},
		{"azure", "signinlogs", "DeviceDetail.trusttype", []string{"properties.deviceDetail.trusttype"}, ""},
		{"azure", "signinlogs", "HomeTenantId", []string{"HomeTenantId", "properties.HomeTenantId"}, ""},
		{"azure", "signinlogs", "properties.appId", []string{"properties.appId"}, ""},
		{"azure", "riskdetection", "riskEventType", []string{"riskEventType", "properties.riskEventType"}, ""},
		{"azure", "signinlogs", "ActivityDetails", nil, ReasonField},
		{"aws", "cloudtrail", "userIdentity.sessionContext.sessionIssuer.type", []string{"userIdentity.sessionContext.sessionIssuer.type"}, ""},
		{"gcp", "google_workspace.login", "protoPayload.Servicename", []string{"id.applicationName"}, ""},
		{"gcp", "google_workspace.login", "protoPayload.metadata.event.eventName", []string{"events.name"}, ""},
		{"gcp", "google_workspace.login", "protoPayload.metadata.event.parameter.name", []string{"events.parameters.name"}, ""},
		{"gcp", "google_workspace.admin", "setting_name", []string{"events.parameters[name=SETTING_NAME].value"}, ""},
		{"gcp", "google_workspace.login", "protoPayload.resourceName", nil, ReasonField},
	}
	for _, tc := range tests {
		m, ls := ms.find(map[string]string{"product": tc.product, "service": tc.service})
		if m == nil || ls == nil {
			t.Errorf("%s/%s: no mapping", tc.product, tc.service)
			continue
		}
		pl, sk := m.place(tc.field)
		if tc.skip != "" {
			if sk == nil || sk.Reason != tc.skip {
				t.Errorf("%s: skip %v, want %s", tc.field, sk, tc.skip)
			}
			continue
		}
		if sk != nil {
			t.Errorf("%s: %v", tc.field, sk)
			continue
		}
		if d := cmp.Diff(tc.paths, pl.paths); d != "" {
			t.Errorf("%s/%s %s paths (-want +got):\n%s", tc.product, tc.service, tc.field, d)
		}
	}
	if m, _ := ms.find(map[string]string{"product": "okta", "service": "okta", "category": "x"}); m != nil {
		t.Error("a logsource with a category no mapping names was placed")
	}
}

// TestMappingAdd checks that a user's mapping extends a shipped one of the
// same name (fields and logsources added or replaced) or adds a new one.
func TestMappingAdd(t *testing.T) {
	t.Parallel()
	ms := shippedMappings(t)
	err := ms.Add("mine.yaml", []byte(`name: entra
logsources:
  - product: azure
    service: auditlogs
    format: entra
    kind: activity
fields:
  ResultType: properties.status.errorCode
  Custom:
    paths: [properties.custom]
    values:
      yes: {value: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	m, ls := ms.find(map[string]string{"product": "azure", "service": "auditlogs"})
	if m == nil || ls.Kind != "activity" {
		t.Fatalf("added logsource not found: %v %+v", m, ls)
	}
	pl, _ := m.place("ResultType")
	if d := cmp.Diff([]string{"properties.status.errorCode"}, pl.paths); d != "" {
		t.Errorf("overridden field (-want +got):\n%s", d)
	}
	pl, _ = m.place("AuthenticationRequirement")
	if d := cmp.Diff([]string{"properties.authenticationRequirement"}, pl.paths); d != "" {
		t.Errorf("kept field (-want +got):\n%s", d)
	}
	pl, _ = m.place("Custom")
	if vm := pl.values["yes"]; vm.Value != true {
		t.Errorf("value mapping %+v", pl.values)
	}
	if _, ls := ms.find(map[string]string{"product": "azure", "service": "signinlogs"}); ls == nil {
		t.Error("the shipped logsources were lost")
	}
}

// TestMappingErrors checks that a bad mapping file is refused with every
// problem and its line.
func TestMappingErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, src, want string }{
		{"unknown key", "name: x\nlogsource: []\n", "field logsource not found"},
		{"no name", "logsources:\n  - product: p\n    format: okta\n", "name is required"},
		{"new without logsources", "name: brand_new\nfields:\n  a: b\n", "must list logsources"},
		{"bad format", "name: x\nlogsources:\n  - product: p\n    format: splunk\n", `format "splunk" is not a tripline format`},
		{"no format", "name: x\nlogsources:\n  - product: p\n", "format (or formats) is required"},
		{"bad kind", "name: x\nlogsources:\n  - product: p\n    format: okta\n    kind: login\n", `kind "login" is not signin, alert or activity`},
		{"empty logsource", "name: x\nlogsources:\n  - format: okta\n", "product, service or category is required"},
		{"bad when", "name: x\nlogsources:\n  - product: p\n    format: okta\n    when:\n      a|neq: 1\n", "when: a|neq: the modifier neq is not supported"},
		{"bad unmapped", "name: x\nlogsources:\n  - product: p\n    format: okta\nunmapped:\n  action: guess\n", `unmapped.action: "guess" is not keep, prefix or refuse`},
		{"prefix without prefixes", "name: x\nlogsources:\n  - product: p\n    format: okta\nunmapped:\n  action: prefix\n", "action prefix needs prefixes"},
		{"bad path", "name: x\nlogsources:\n  - product: p\n    format: okta\nfields:\n  A: a..b\n", `line 6: fields.A: "a..b" is not a document path`},
		{"value without value", "name: x\nlogsources:\n  - product: p\n    format: okta\nfields:\n  A:\n    paths: [a]\n    values:\n      v: {path: b}\n", "values.v: value is required"},
		{"empty field", "name: x\nlogsources:\n  - product: p\n    format: okta\nfields:\n  A: {}\n", "paths, values or refuse is required"},
		{"not yaml", "name: [x\n", "mapping bad.yaml"},
	}
	for _, tc := range tests {
		ms := shippedMappings(t)
		err := ms.Add("bad.yaml", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "mapping bad.yaml") {
			t.Errorf("%s: err = %v, want it to name the file and contain %q", tc.name, err, tc.want)
		}
	}
	ms := shippedMappings(t)
	err := ms.Add("bad.yaml", []byte("name: x\nlogsources:\n  - product: p\n    format: nope\nunmapped:\n  action: guess\n"))
	if err == nil || !strings.Contains(err.Error(), "nope") || !strings.Contains(err.Error(), "guess") {
		t.Errorf("err = %v, want every problem at once", err)
	}
}

func TestMappingLogsources(t *testing.T) {
	t.Parallel()
	got := shippedMappings(t).Logsources()
	want := []string{"aws/cloudtrail (cloudtrail)", "azure/riskdetection (entra)", "azure/signinlogs (entra)",
		"gcp/google_workspace.admin (gws)", "gcp/google_workspace.login (gws)", "okta (okta)", "okta/okta (okta)"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("logsources (-want +got):\n%s", d)
	}
}
