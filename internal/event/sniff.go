package event

import "strings"

// sniff recognises the format of a decoded message from its top-level keys,
// in the order of the event-formats reference: Entra records, CloudTrail
// Records, EventBridge envelopes, OCSF, Elastic alert, ECS, Okta, 1Password,
// Google Workspace, then single CloudTrail records, raw GuardDuty findings
// and the Splunk and Panther webhook shapes (generic). It returns FormatAuto
// when nothing matches.
func sniff(m map[string]any) Format {
	if _, ok := m["records"].([]any); ok {
		return FormatEntra
	}
	if _, ok := m["Records"].([]any); ok {
		return FormatCloudTrail
	}
	if f, ok := sniffEventBridge(m); ok {
		return f
	}
	if isOCSF(m) {
		return FormatOCSF
	}
	if isElasticAlert(m) {
		return FormatElasticAlert
	}
	if isECS(m) {
		return FormatECS
	}
	if isOkta(m) {
		return FormatOkta
	}
	if isOnePassword(m) {
		return FormatOnePassword
	}
	if isGWS(m) {
		return FormatGWS
	}
	if has(m, "eventSource") && has(m, "eventName") && has(m, "userIdentity") {
		return FormatCloudTrail
	}
	if isGuardDutyFinding(m) {
		return FormatGuardDuty
	}
	if webhookSource(m) != "" {
		return FormatGeneric
	}
	return FormatAuto
}

func has(m map[string]any, path string) bool {
	v, ok := lookup(m, path)
	return ok && v != nil
}

func strAt(m map[string]any, path string) string {
	s, _ := lookup(m, path)
	str, _ := s.(string)
	return str
}

// sniffEventBridge routes an EventBridge envelope by its source.
func sniffEventBridge(m map[string]any) (Format, bool) {
	if !has(m, "detail-type") || !has(m, "source") {
		return "", false
	}
	detail, ok := m["detail"].(map[string]any)
	if !ok {
		return "", false
	}
	src := strAt(m, "source")
	switch {
	case src == "aws.guardduty":
		return FormatGuardDuty, true
	case strings.Contains(strings.ToLower(src), "okta"):
		return FormatOkta, true
	case has(detail, "eventName") || src == "aws.signin":
		return FormatCloudTrail, true
	}
	return "", false
}

func isOCSF(m map[string]any) bool {
	_, num := number(m["class_uid"])
	return num && has(m, "metadata.version")
}

func isElasticAlert(m map[string]any) bool {
	if has(m, "kibana.alert.uuid") {
		return true
	}
	_, ok := lookup(m, "kibana.alert")
	return ok
}

func isECS(m map[string]any) bool {
	return has(m, "@timestamp") && (has(m, "event.category") || has(m, "event.kind"))
}

func isOkta(m map[string]any) bool {
	et := strAt(m, "eventType")
	if et == "com.okta.event_hook" {
		return true
	}
	return et != "" && has(m, "uuid") && has(m, "published") && has(m, "actor")
}

func isOnePassword(m map[string]any) bool {
	if _, ok := m["items"].([]any); ok && (has(m, "cursor") || has(m, "has_more")) {
		return true
	}
	return has(m, "uuid") && has(m, "category") && has(m, "target_user")
}

// isGWS recognises a Reports API page, and an activity that names its
// application: the gws format reads login and admin activities and refuses
// the others as unknown_format, naming the applications it reads.
func isGWS(m map[string]any) bool {
	switch strAt(m, "kind") {
	case "admin#reports#activity":
		return strAt(m, "id.applicationName") != ""
	case "admin#reports#activities":
		return true
	}
	return false
}

func isGuardDutyFinding(m map[string]any) bool {
	return strings.Contains(strAt(m, "arn"), ":guardduty:") ||
		(has(m, "schemaVersion") && has(m, "type") && has(m, "resource") && has(m, "service"))
}

// webhookSource names the SIEM webhook shape of m: "splunk", "panther" or
// "" when it is neither.
func webhookSource(m map[string]any) string {
	switch {
	case has(m, "sid") && has(m, "results_link") && has(m, "result"):
		return "splunk"
	case has(m, "alertId") && has(m, "type") && has(m, "createdAt"):
		return "panther"
	}
	return ""
}
