package event

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// liberalView is what TestLiberalValues checks of an event.
type liberalView struct {
	Email, Name, UserID, Outcome, Risk string
	Score                              string // "" when nil
	Time                               string // RFC 3339 with nanoseconds, "" when zero
	Reasons                            string // joined with "|"
	IP, Country                        string
	HashedID                           bool // the event id is the hash of the document
}

func viewOf(e Event) liberalView {
	v := liberalView{Email: e.UserEmail, Name: e.UserName, UserID: e.UserID, Outcome: e.Outcome, Risk: e.Risk,
		Reasons: strings.Join(e.Reasons, "|"), IP: e.SrcIP, Country: e.Country,
		HashedID: strings.HasPrefix(e.EventID, e.Source+":sha256-")}
	if e.RiskScore != nil {
		v.Score = strconv.Itoa(*e.RiskScore)
	}
	if !e.Time.IsZero() {
		v.Time = e.Time.Format(time.RFC3339Nano)
	}
	return v
}

const (
	t0    = "2025-10-14T08:41:17Z"
	t0ms  = "2025-10-14T08:41:17.512Z"
	t0s   = "1760431277"
	t0msN = "1760431277512"
)

// TestLiberalValues checks that a vendor value outside what tripline
// expects is read, clamped or mapped, and the event kept (with the value in
// Raw), never refused: numbers as strings, booleans as strings, risk
// scores out of range, risk words tripline does not know, times in other
// layouts or epoch units, a value of another type where a string is
// expected. Only identity fields are strict (TestMalformed).
func TestLiberalValues(t *testing.T) {
	t.Parallel()
	okta := func(over map[string]string) string { return oktaWith(over) }
	oktaBase := liberalView{Email: "a@example.com", UserID: "00u1", Outcome: OutcomeSuccess, Risk: RiskUnknown,
		Time: t0, Reasons: "user.session.start", IP: "192.0.2.1"}
	with := func(v liberalView, fn func(*liberalView)) liberalView { fn(&v); return v }

	entra := func(props string) string {
		return `{"records":[{"category":"SignInLogs","time":"2025-10-14T08:41:17Z","properties":{"id":"e1","userPrincipalName":"a@example.com"` + props + `}}]}`
	}
	entraBase := liberalView{Email: "a@example.com", Outcome: OutcomeUnknown, Risk: RiskUnknown, Time: t0}

	ocsf := func(fields string) string {
		return `{"class_uid":3002,"metadata":{"version":"1.3.0","uid":"o1"},"time":1760431277512` + fields + `}`
	}
	ocsfBase := liberalView{Email: "a@example.com", Name: "", Outcome: OutcomeUnknown, Risk: RiskUnknown, Time: t0ms}

	ecs := func(fields string) string {
		return `{"@timestamp":"2025-10-14T08:41:17Z","event":{"kind":"event","id":"x1"` + fields + `},"user":{"email":"a@example.com"}}`
	}
	ecsBase := liberalView{Email: "a@example.com", Outcome: OutcomeUnknown, Risk: RiskUnknown, Time: t0}

	elastic := func(fields string) string {
		return `{"@timestamp":"2025-10-14T08:46:31Z","kibana.alert.uuid":"k1","kibana.alert.original_time":"2025-10-14T08:41:17Z","user":{"email":"a@example.com"}` + fields + `}`
	}
	elasticBase := liberalView{Email: "a@example.com", Outcome: OutcomeUnknown, Risk: RiskUnknown, Time: t0}

	onePassword := func(fields string) string {
		return `{"uuid":"p1","target_user":{"uuid":"U1","email":"a@example.com"},"timestamp":"2025-10-14T08:41:17Z","category":"success","type":"credentials_ok"` + fields + `}`
	}
	opBase := liberalView{Email: "a@example.com", UserID: "U1", Outcome: OutcomeSuccess, Risk: RiskNone, Time: t0, Reasons: "success|credentials_ok"}

	gws := func(params string) string {
		return `{"kind":"admin#reports#activity","id":{"time":"2025-10-14T08:41:17Z","uniqueQualifier":"1","applicationName":"login"},` +
			`"actor":{"email":"a@example.com"},"events":[{"name":"login_success","parameters":[` + params + `]}]}`
	}
	gwsBase := liberalView{Email: "a@example.com", Outcome: OutcomeSuccess, Risk: RiskNone, Time: t0, Reasons: "login_success"}

	cloudtrail := func(fields string) string {
		return `{"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","eventID":"c1","userIdentity":{"type":"IAMUser","userName":"bob"}` + fields + `}`
	}
	ctBase := liberalView{Name: "bob", Outcome: OutcomeUnknown, Risk: RiskUnknown, Reasons: "ConsoleLogin"}

	guardduty := func(sev string) string {
		return `{"schemaVersion":"2.0","id":"g1","type":"Recon:IAMUser/TorIPCaller","resource":{"accessKeyDetails":{"userName":"bob"}},"service":{"archived":false},"severity":` + sev + `,"updatedAt":"2025-10-14T08:41:17Z"}`
	}
	gdBase := liberalView{Name: "bob", Outcome: OutcomeUnknown, Time: t0, Reasons: "Recon:IAMUser/TorIPCaller"}

	splunk := func(result string) string {
		return `{"sid":"s1","results_link":"x","result":{"user":"a@example.com"` + result + `}}`
	}
	splunkBase := liberalView{Email: "a@example.com", Outcome: OutcomeUnknown, Risk: RiskUnknown}

	tests := []struct {
		name string
		in   string
		want liberalView
	}{
		// Okta
		{"okta time with a space", okta(map[string]string{"published": `"2025-10-14 08:41:17"`}), oktaBase},
		{"okta time without zone", okta(map[string]string{"published": `"2025-10-14T08:41:17"`}), oktaBase},
		{"okta time with offset", okta(map[string]string{"published": `"2025-10-14T10:41:17+02:00"`}), oktaBase},
		{"okta time with offset without colon", okta(map[string]string{"published": `"2025-10-14T10:41:17.512+0200"`}), with(oktaBase, func(v *liberalView) { v.Time = t0ms })},
		{"okta epoch seconds", okta(map[string]string{"published": t0s}), oktaBase},
		{"okta epoch seconds in a string", okta(map[string]string{"published": `"` + t0s + `"`}), oktaBase},
		{"okta epoch milliseconds in a string", okta(map[string]string{"published": `"` + t0msN + `"`}), with(oktaBase, func(v *liberalView) { v.Time = t0ms })},
		{"okta epoch seconds with a fraction", okta(map[string]string{"published": `"1760431277.512"`}), with(oktaBase, func(v *liberalView) { v.Time = t0ms })},
		{"okta RFC 1123 time", okta(map[string]string{"published": `"Tue, 14 Oct 2025 08:41:17 GMT"`}), oktaBase},
		{"okta unreadable time", okta(map[string]string{"published": `"yesterday"`}), with(oktaBase, func(v *liberalView) { v.Time = "" })},
		{"okta time of another type", okta(map[string]string{"published": `{}`}), with(oktaBase, func(v *liberalView) { v.Time = "" })},
		{"okta outcome of another type", okta(map[string]string{"outcome": `{"result":true}`}), with(oktaBase, func(v *liberalView) { v.Outcome = OutcomeUnknown })},
		{"okta unknown risk word", okta(map[string]string{"debugContext": `{"debugData":{"risk":"{level=ELEVATED}"}}`}), oktaBase},
		{"okta risk of another type", okta(map[string]string{"debugContext": `{"debugData":{"risk":12}}`}), oktaBase},
		{"okta risk level in lower case", okta(map[string]string{"debugContext": `{"debugData":{"risk":"{level=high}"}}`}), with(oktaBase, func(v *liberalView) { v.Risk = RiskHigh })},
		{"okta booleans as strings", okta(map[string]string{"securityContext": `{"isProxy":"true"}`, "debugContext": `{"debugData":{"threatSuspected":"yes"}}`}),
			with(oktaBase, func(v *liberalView) { v.Reasons = "user.session.start|isProxy|threatSuspected" })},
		{"okta unknown boolean word", okta(map[string]string{"securityContext": `{"isProxy":"maybe"}`}), oktaBase},
		{"okta logOnlySecurityData not JSON", okta(map[string]string{"debugContext": `{"debugData":{"logOnlySecurityData":"{nope"}}`}), oktaBase},
		{"okta address in a list", okta(map[string]string{"client": `{"ipAddress":["192.0.2.9"],"geographicalContext":{"country":"Romania"}}`}),
			with(oktaBase, func(v *liberalView) { v.IP, v.Country = "192.0.2.9", "RO" })},
		{"okta address and country of other types", okta(map[string]string{"client": `{"ipAddress":{"v4":"192.0.2.9"},"geographicalContext":{"country":7}}`}),
			with(oktaBase, func(v *liberalView) { v.IP = "" })},
		{"okta numeric login", okta(map[string]string{"actor": `{"id":"00u1","type":"User","alternateId":42}`}),
			with(oktaBase, func(v *liberalView) { v.Email, v.Name = "", "42" })},
		{"okta numeric user id", okta(map[string]string{"actor": `{"id":1234,"type":"User","alternateId":"a@example.com"}`}),
			with(oktaBase, func(v *liberalView) { v.UserID = "1234" })},
		{"okta event id of another type", okta(map[string]string{"uuid": `{"x":1}`}), with(oktaBase, func(v *liberalView) { v.HashedID = true })},
		{"okta outcome reason as a number", okta(map[string]string{"outcome": `{"result":"FAILURE","reason":401}`}),
			with(oktaBase, func(v *liberalView) { v.Outcome, v.Reasons = OutcomeFailure, "user.session.start|401" })},

		// Entra
		{"entra error code as a string", entra(`,"status":{"errorCode":"50126"}`), with(entraBase, func(v *liberalView) { v.Outcome, v.Reasons = OutcomeFailure, "50126" })},
		{"entra error code unreadable, resultType used", `{"records":[{"category":"SignInLogs","time":"2025-10-14T08:41:17Z","resultType":"0","properties":{"id":"e1","userPrincipalName":"a@example.com","status":{"errorCode":"n/a"}}}]}`,
			with(entraBase, func(v *liberalView) { v.Outcome = OutcomeSuccess })},
		{"entra unknown risk word", entra(`,"riskLevelDuringSignIn":"veryHigh"`), entraBase},
		{"entra risk word in upper case", entra(`,"riskLevelDuringSignIn":"HIGH"`), with(entraBase, func(v *liberalView) { v.Risk = RiskHigh })},
		{"entra time without zone, 7 digits", entra(`,"createdDateTime":"2025-10-14T08:41:17.5120000"`), with(entraBase, func(v *liberalView) { v.Time = t0ms })},
		{"entra time with a space", entra(`,"createdDateTime":"2025-10-14 08:41:17"`), entraBase},
		{"entra unreadable time falls back to time", entra(`,"createdDateTime":"x"`), entraBase},
		{"entra reasons with numbers and junk", entra(`,"riskEventTypes_v2":[1,"x",true,{"a":1},null]`), with(entraBase, func(v *liberalView) { v.Reasons = "1|x" })},
		{"entra country of another type", entra(`,"location":{"countryOrRegion":["RO"]}`), with(entraBase, func(v *liberalView) { v.Country = "RO" })},

		// OCSF
		{"ocsf numbers as strings", `{"class_uid":"3002","metadata":{"version":"1.3.0","uid":"o1"},"time":"1760431277512","status_id":"2","user":{"email_addr":"a@example.com","uid":12345,"risk_level_id":"3","risk_score":"85"}}`,
			with(ocsfBase, func(v *liberalView) { v.UserID, v.Outcome, v.Risk, v.Score = "12345", OutcomeFailure, RiskHigh, "85" })},
		{"ocsf risk score above 100", ocsf(`,"user":{"email_addr":"a@example.com","risk_score":150}`), with(ocsfBase, func(v *liberalView) { v.Score, v.Risk = "100", RiskCritical })},
		{"ocsf negative risk score", ocsf(`,"user":{"email_addr":"a@example.com","risk_score":-5}`), with(ocsfBase, func(v *liberalView) { v.Score, v.Risk = "0", RiskNone })},
		{"ocsf risk score not a number", ocsf(`,"user":{"email_addr":"a@example.com","risk_score":"high"}`), ocsfBase},
		{"ocsf epoch seconds where milliseconds are documented", `{"class_uid":3002,"metadata":{"version":"1.3.0","uid":"o1"},"time":1760431277,"user":{"email_addr":"a@example.com"}}`,
			with(ocsfBase, func(v *liberalView) { v.Time = t0 })},
		{"ocsf unreadable time falls back to time_dt", `{"class_uid":3002,"metadata":{"version":"1.3.0","uid":"o1"},"time":"soon","time_dt":"2025-10-14T08:41:17Z","user":{"email_addr":"a@example.com"}}`,
			with(ocsfBase, func(v *liberalView) { v.Time = t0 })},
		{"ocsf unknown risk level id", ocsf(`,"severity_id":4,"user":{"email_addr":"a@example.com","risk_level_id":7}`), with(ocsfBase, func(v *liberalView) { v.Risk = RiskHigh })},
		{"ocsf unknown risk label", ocsf(`,"user":{"email_addr":"a@example.com","risk_level_id":99,"risk_level":"Elevated"}`), ocsfBase},

		// ECS
		{"ecs risk score as a string", ecs(`,"risk_score_norm":"73"`), with(ecsBase, func(v *liberalView) { v.Score, v.Risk = "73", RiskHigh })},
		{"ecs risk score above 100", ecs(`,"risk_score_norm":250`), with(ecsBase, func(v *liberalView) { v.Score, v.Risk = "100", RiskCritical })},
		{"ecs risk score a word", ecs(`,"risk_score_norm":"high"`), ecsBase},
		{"ecs outcome in upper case", ecs(`,"outcome":"SUCCESS"`), with(ecsBase, func(v *liberalView) { v.Outcome = OutcomeSuccess })},
		{"ecs outcome of another type", ecs(`,"outcome":1`), ecsBase},
		{"ecs epoch milliseconds", `{"@timestamp":1760431277512,"event":{"kind":"event","id":"x1"},"user":{"email":"a@example.com"}}`, with(ecsBase, func(v *liberalView) { v.Time = t0ms })},
		{"ecs reasons as a list", ecs(`,"action":["user.session.start","x"],"reason":7`), with(ecsBase, func(v *liberalView) { v.Reasons = "user.session.start|x|7" })},

		// Elastic alert
		{"elastic risk score as a string, unknown severity", elastic(`,"kibana.alert.risk_score":"73","kibana.alert.severity":"Sev-2"`),
			with(elasticBase, func(v *liberalView) { v.Score, v.Risk = "73", RiskHigh })},
		{"elastic negative risk score", elastic(`,"kibana.alert.risk_score":-20`), with(elasticBase, func(v *liberalView) { v.Score, v.Risk = "0", RiskNone })},
		{"elastic time with an offset", `{"@timestamp":"2025-10-14T08:46:31Z","kibana.alert.uuid":"k1","kibana.alert.original_time":"2025-10-14T10:41:17+02:00","user":{"email":"a@example.com"}}`, elasticBase},
		{"elastic workflow status of another type", elastic(`,"kibana.alert.severity":"high","kibana.alert.workflow_status":["open"]`), with(elasticBase, func(v *liberalView) { v.Risk = RiskHigh })},

		// 1Password
		{"1password time with an offset", onePassword(`,"timestamp":"2025-10-14T10:41:17.512+02:00"`), with(opBase, func(v *liberalView) { v.Time = t0ms })},
		{"1password epoch seconds", onePassword(`,"timestamp":` + t0s), opBase},
		{"1password category of another type", onePassword(`,"category":5,"type":null`), with(opBase, func(v *liberalView) { v.Outcome, v.Risk, v.Reasons = OutcomeUnknown, RiskUnknown, "5" })},
		{"1password country as a name", onePassword(`,"location":{"country":"Romania"}`), with(opBase, func(v *liberalView) { v.Country = "RO" })},

		// Google Workspace
		{"gws suspicious as a string", gws(`{"name":"is_suspicious","boolValue":"true"}`), with(gwsBase, func(v *liberalView) { v.Risk, v.Reasons = RiskHigh, "login_success|is_suspicious" })},
		{"gws unknown boolean word", gws(`{"name":"is_suspicious","boolValue":"maybe"}`), gwsBase},
		{"gws login time in milliseconds", gws(`{"name":"login_timestamp","intValue":"` + t0msN + `"}`), with(gwsBase, func(v *liberalView) { v.Time = t0ms })},
		{"gws login time as a number", gws(`{"name":"login_timestamp","intValue":1760431277512000}`), with(gwsBase, func(v *liberalView) { v.Time = t0ms })},
		{"gws login time unreadable", gws(`{"name":"login_timestamp","intValue":"soon"}`), gwsBase},
		{"gws failure type as a number", `{"kind":"admin#reports#activity","id":{"time":"2025-10-14T08:41:17Z","uniqueQualifier":"1","applicationName":"login"},"actor":{"email":"a@example.com"},"events":[{"name":"login_failure","parameters":[{"name":"login_failure_type","value":3}]}]}`,
			with(gwsBase, func(v *liberalView) { v.Outcome, v.Reasons = OutcomeFailure, "login_failure|3" })},

		// CloudTrail
		{"cloudtrail time with a space", cloudtrail(`,"eventTime":"2025-10-14 08:41:17"`), with(ctBase, func(v *liberalView) { v.Time = t0 })},
		{"cloudtrail outcome in upper case", cloudtrail(`,"responseElements":{"ConsoleLogin":"FAILURE"}`), with(ctBase, func(v *liberalView) { v.Outcome = OutcomeFailure })},
		{"cloudtrail error message as a number", cloudtrail(`,"errorMessage":403`), with(ctBase, func(v *liberalView) { v.Reasons = "ConsoleLogin|403" })},
		{"cloudtrail numeric event id", `{"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","eventID":12,"userIdentity":{"type":"IAMUser","userName":"bob"}}`, ctBase},

		// GuardDuty
		{"guardduty severity as a string", guardduty(`"5.0"`), with(gdBase, func(v *liberalView) { v.Score, v.Risk = "50", RiskMedium })},
		{"guardduty severity above 10", guardduty(`12`), with(gdBase, func(v *liberalView) { v.Score, v.Risk = "100", RiskCritical })},
		{"guardduty negative severity", guardduty(`-1`), with(gdBase, func(v *liberalView) { v.Score, v.Risk = "0", RiskNone })},
		{"guardduty severity a word", guardduty(`"HIGH"`), with(gdBase, func(v *liberalView) { v.Risk = RiskUnknown })},
		{"guardduty archived as a string", `{"schemaVersion":"2.0","id":"g1","type":"Recon:IAMUser/TorIPCaller","resource":{"accessKeyDetails":{"userName":"bob"}},"service":{"archived":"true"},"severity":8,"updatedAt":"2025-10-14T08:41:17Z"}`,
			with(gdBase, func(v *liberalView) { v.Score, v.Risk = "80", RiskNone })},

		// Generic (Splunk)
		{"splunk score above 100, unknown urgency", splunk(`,"risk_score":"120","urgency":"urgent"`), with(splunkBase, func(v *liberalView) { v.Score, v.Risk = "100", RiskCritical })},
		{"splunk epoch time with a fraction", splunk(`,"_time":"1760431277.512"`), with(splunkBase, func(v *liberalView) { v.Time = t0ms })},
		{"splunk outcome of another type", splunk(`,"action":true`), splunkBase},
		{"splunk risk as a number", splunk(`,"urgency":3`), splunkBase},
	}
	dec := newTestDecoder(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := dec.Decode([]byte(tt.in), FormatAuto)
			if err != nil || len(evs) != 1 {
				t.Fatalf("%d events, %v; want one event", len(evs), err)
			}
			if diff := cmp.Diff(tt.want, viewOf(evs[0])); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
			if evs[0].Raw == nil {
				t.Error("no Raw: the vendor's values must be kept")
			}
		})
	}
}

// TestParseISO checks the ISO 8601 reader against time.Parse, and the
// values it must refuse.
func TestParseISO(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"2025-10-14T08:41:17Z", t0},
		{"2025-10-14t08:41:17z", t0},
		{"2025-10-14 08:41:17", t0},
		{"2025-10-14T08:41:17.5", "2025-10-14T08:41:17.5Z"},
		{"2025-10-14T08:41:17,512", t0ms},
		{"2025-10-14T08:41:17.5120000+00:00", t0ms},
		{"2025-10-14T08:41:17.123456789123Z", "2025-10-14T08:41:17.123456789Z"},
		{"2025-10-14T10:41:17+02", t0},
		{"2025-10-14T03:41:17-0500", t0},
		{"2025-10-14 08:41:17 UTC", t0},
		{"2025-10-14 10:41:17 +02:00", t0},
		{"2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"},
	} {
		got, ok := parseISO(tt.in)
		if !ok || got.Format(time.RFC3339Nano) != tt.want || got.Location() != time.UTC {
			t.Errorf("parseISO(%q) = %v, %v; want %s", tt.in, got, ok, tt.want)
		}
	}
	for _, in := range []string{
		"", "2025-10-14", "2025-10-14T08:41", "2025-13-14T08:41:17Z", "2025-02-30T08:41:17Z", "2025-10-14T24:00:00Z",
		"2025-10-14T08:60:00Z", "2025-10-14T08:41:60Z", "2025-10-14X08:41:17Z", "2025-10-14T08:41:17.Z", "2025-10-14T08:41:17+2",
		"2025-10-14T08:41:17+02:0", "2025-10-14T08:41:17+25:00", "2025-10-14T08:41:17 PST", "20a5-10-14T08:41:17Z", "2025-10-14T08:41:17Zjunk",
	} {
		if got, ok := parseISO(in); ok {
			t.Errorf("parseISO(%q) = %v, want a refusal", in, got)
		}
	}
}

// TestLookupNestedMatchesLookup checks the shortcut fields.get takes for
// documents without a dotted key: for every path of every sample (and
// paths that are not there), lookupNested finds what lookup finds.
func TestLookupNestedMatchesLookup(t *testing.T) {
	t.Parallel()
	for _, s := range compareSamples(t) {
		doc, err := parseDocument(s.in, DefaultMaxDepth, DefaultMaxItems)
		if err != nil {
			t.Fatal(err)
		}
		m := doc.value.(map[string]any)
		if doc.dotted != hasDottedKey(m) {
			t.Errorf("%s: dotted %v, want %v", s.name, doc.dotted, !doc.dotted)
		}
		if doc.dotted {
			continue
		}
		var paths []string
		var walk func(prefix string, v any)
		walk = func(prefix string, v any) {
			paths = append(paths, prefix, prefix+".nope", prefix+"x")
			if vm, ok := v.(map[string]any); ok {
				for k, x := range vm {
					walk(strings.TrimPrefix(prefix+"."+k, "."), x)
				}
			}
		}
		walk("", m)
		for _, p := range paths {
			want, _ := lookup(m, p)
			if got := lookupNested(m, p); !cmp.Equal(got, want) {
				t.Errorf("%s: path %q: lookupNested %v, lookup %v", s.name, p, got, want)
			}
		}
	}
}
