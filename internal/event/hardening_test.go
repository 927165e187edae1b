package event

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"
)

// oktaWith returns a minimal Okta LogEvent with the members of over
// replacing or adding to the defaults (raw JSON values by key).
func oktaWith(over map[string]string) string {
	fields := []string{"uuid", "published", "eventType", "actor", "outcome", "client"}
	vals := map[string]string{
		"uuid": `"u1"`, "published": `"2025-10-14T08:41:17Z"`, "eventType": `"user.session.start"`,
		"actor":   `{"id":"00u1","type":"User","alternateId":"a@example.com"}`,
		"outcome": `{"result":"SUCCESS"}`, "client": `{"ipAddress":"192.0.2.1"}`,
	}
	for k, v := range over {
		if _, ok := vals[k]; !ok {
			fields = append(fields, k)
		}
		vals[k] = v
	}
	var b strings.Builder
	b.WriteString("{")
	for i, k := range fields {
		if vals[k] == "" {
			continue
		}
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "%q:%s", k, vals[k])
	}
	return b.String() + "}"
}

func decodeOne(t *testing.T, in string, f Format) (Event, error) {
	t.Helper()
	evs, err := newTestDecoder(t).Decode([]byte(in), f)
	if err != nil {
		return Event{}, err
	}
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	return evs[0], nil
}

// TestFieldCaps checks each cap at its limit (accepted) and one byte past
// it (bad_field naming the field, its length and the cap).
func TestFieldCaps(t *testing.T) {
	t.Parallel()
	emailOf := func(n int) string { return strings.Repeat("a", n-len("@example.com")) + "@example.com" }
	idOf := func(n int) string { return strings.Repeat("7", n) }
	ipOf := func(n int) string { return strings.Repeat("1", n) }
	geoOf := func(n int) string { return strings.Repeat("z", n) }
	tests := []struct {
		name   string
		in     func(n int) string
		format Format
		limit  int
		field  string // the field the error names
		what   string
	}{
		{"okta email", func(n int) string {
			return oktaWith(map[string]string{"actor": fmt.Sprintf(`{"type":"User","alternateId":%q}`, emailOf(n))})
		}, FormatOkta, MaxIdentityLen, "actor.alternateId", "an identity"},
		{"okta user id", func(n int) string {
			return oktaWith(map[string]string{"actor": fmt.Sprintf(`{"type":"User","id":%q}`, idOf(n))})
		}, FormatOkta, MaxIdentityLen, "actor.id", "an identity"},
		{"okta target login", func(n int) string {
			return oktaWith(map[string]string{"actor": `{"type":"SystemPrincipal"}`,
				"target": fmt.Sprintf(`[{"type":"User","alternateId":%q}]`, idOf(n))})
		}, FormatOkta, MaxIdentityLen, "target[0].alternateId", "an identity"},
		{"okta event id", func(n int) string {
			return oktaWith(map[string]string{"uuid": fmt.Sprintf("%q", strings.Repeat("<", n))})
		}, FormatOkta, MaxIdentityLen, "uuid", "an event id"},
		{"okta ip", func(n int) string {
			return oktaWith(map[string]string{"client": fmt.Sprintf(`{"ipAddress":%q}`, ipOf(n))})
		}, FormatOkta, MaxIPLen, "client.ipAddress", "an IP address"},
		{"okta city", func(n int) string {
			return oktaWith(map[string]string{"client": fmt.Sprintf(`{"geographicalContext":{"city":%q}}`, geoOf(n))})
		}, FormatOkta, MaxGeoLen, "client.geographicalContext.city", "a country or city"},
		{"okta country", func(n int) string {
			return oktaWith(map[string]string{"client": fmt.Sprintf(`{"geographicalContext":{"country":%q}}`, geoOf(n))})
		}, FormatOkta, MaxGeoLen, "client.geographicalContext.country", "a country or city"},
		{"entra upn", func(n int) string {
			return fmt.Sprintf(`{"category":"SignInLogs","properties":{"userPrincipalName":%q}}`, emailOf(n))
		}, FormatEntra, MaxIdentityLen, "properties.userPrincipalName", "an identity"},
		{"entra user id", func(n int) string {
			return fmt.Sprintf(`{"category":"SignInLogs","properties":{"userId":%q}}`, idOf(n))
		}, FormatEntra, MaxIdentityLen, "properties.userId", "an identity"},
		{"1password op user id", func(n int) string {
			return fmt.Sprintf(`{"uuid":"E1","category":"success","target_user":{"uuid":%q}}`, idOf(n))
		}, FormatOnePassword, MaxIdentityLen, "target_user.uuid", "an identity"},
		{"1password email", func(n int) string {
			return fmt.Sprintf(`{"uuid":"E1","category":"success","target_user":{"uuid":"U1","email":%q}}`, emailOf(n))
		}, FormatOnePassword, MaxIdentityLen, "target_user.email", "an identity"},
		{"ecs user name", func(n int) string {
			return fmt.Sprintf(`{"@timestamp":"2025-10-14T08:41:17Z","event":{"kind":"event"},"user":{"name":%q}}`, idOf(n))
		}, FormatECS, MaxIdentityLen, "user.name", "an identity"},
		{"ecs ip", func(n int) string {
			return fmt.Sprintf(`{"@timestamp":"2025-10-14T08:41:17Z","event":{"kind":"event"},"user":{"name":"x"},"source":{"ip":%q}}`, ipOf(n))
		}, FormatECS, MaxIPLen, "source.ip", "an IP address"},
		{"gws affected email", func(n int) string {
			return fmt.Sprintf(`{"kind":"admin#reports#activity","id":{"applicationName":"login"},"actor":{"email":"a@example.com"},`+
				`"events":[{"name":"account_disabled_hijacked","parameters":[{"name":"affected_email_address","value":%q}]}]}`, emailOf(n))
		}, FormatGWS, MaxIdentityLen, `parameters["affected_email_address"].value`, "an identity"},
		{"cloudtrail arn", func(n int) string {
			return fmt.Sprintf(`{"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","userIdentity":{"type":"IAMUser","arn":%q}}`,
				"arn:aws:iam::1:user/"+idOf(n-len("arn:aws:iam::1:user/")))
		}, FormatCloudTrail, MaxIdentityLen, "userIdentity.arn", "an identity"},
		{"cloudtrail event id", func(n int) string {
			return fmt.Sprintf(`{"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","userIdentity":{"userName":"bob"},"eventID":%q}`, idOf(n))
		}, FormatCloudTrail, MaxIdentityLen, "eventID", "an event id"},
		{"guardduty user name", func(n int) string {
			return fmt.Sprintf(`{"schemaVersion":"2.0","type":"t","service":{},"resource":{"accessKeyDetails":{"userName":%q}}}`, idOf(n))
		}, FormatGuardDuty, MaxIdentityLen, "resource.accessKeyDetails.userName", "an identity"},
		{"ocsf numeric id is not capped by digits alone", func(n int) string {
			return fmt.Sprintf(`{"class_uid":3002,"metadata":{"version":"1"},"user":{"uid":%q}}`, idOf(n))
		}, FormatOCSF, MaxIdentityLen, "user.uid", "an identity"},
		{"generic user", func(n int) string {
			return fmt.Sprintf(`{"sid":"1","results_link":"x","result":{"user":%q}}`, emailOf(n))
		}, FormatGeneric, MaxIdentityLen, "result.user", "an identity"},
		{"generic event id", func(n int) string {
			return fmt.Sprintf(`{"user_email":"a@example.com","event_id":%q}`, idOf(n))
		}, FormatGeneric, MaxIdentityLen, "event_id", "an event id"},
		// Backstop: a composed id is checked in finish, by its normalized name.
		{"gws composed event id", func(n int) string {
			name := strings.Repeat("n", n-len("U1:2025-10-14T08:41:17Z:"))
			return fmt.Sprintf(`{"kind":"admin#reports#activity","id":{"applicationName":"login","uniqueQualifier":"U1","time":"2025-10-14T08:41:17Z"},`+
				`"actor":{"email":"a@example.com"},"events":[{"name":%q}]}`, name)
		}, FormatGWS, MaxIdentityLen, "event_id", "an event id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := decodeOne(t, tt.in(tt.limit), tt.format); err != nil {
				t.Fatalf("at the cap: %v", err)
			}
			_, err := decodeOne(t, tt.in(tt.limit+1), tt.format)
			if Reason(err) != ReasonBadField {
				t.Fatalf("past the cap: reason %q (%v), want bad_field", Reason(err), err)
			}
			want := fmt.Sprintf("field %q: %d bytes, more than the %d allowed for %s", tt.field, tt.limit+1, tt.limit, tt.what)
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message %q does not say %q", err, want)
			}
		})
	}
}

// TestHugeValueMessagesStayShort checks that error messages quote at most
// a clipped part of a huge value.
func TestHugeValueMessagesStayShort(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("<", 900_000)
	for name, in := range map[string]string{
		"user":       oktaWith(map[string]string{"actor": `{"type":"User","alternateId":"` + huge + `"}`}),
		"key":        `{"` + huge + `":1}`,
		"category":   `{"records":[{"category":"` + huge + `"}]}`,
		"event id":   oktaWith(map[string]string{"uuid": `"` + huge + `"`}),
		"actor type": oktaWith(map[string]string{"actor": `{"type":"` + huge + `","alternateId":"a@example.com"}`}),
	} {
		_, err := newTestDecoder(t).Decode([]byte(in), FormatAuto)
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		if n := len(err.Error()); n > 400 {
			t.Errorf("%s: message of %d bytes: %.200s", name, n, err)
		}
	}
}

func TestReasonsCapped(t *testing.T) {
	t.Parallel()
	var list []string
	for i := range 100 {
		list = append(list, fmt.Sprintf("%q", fmt.Sprint("r", i)))
	}
	// Repeats of kept and of left-out reasons.
	list = append(list, `"r1"`, `"r99"`, `"r99"`)
	long := strings.Repeat("é", 200) // 400 bytes
	in := oktaWith(map[string]string{"securityContext": `{"risk":{"reasons":[` + strings.Join(list, ",") + `]}}`})
	e, err := decodeOne(t, in, FormatOkta)
	if err != nil {
		t.Fatal(err)
	}
	// eventType, then r0..r62: 64. Left out: r63..r99 (37) and the two r99.
	if len(e.Reasons) != MaxReasons || e.Reasons[0] != "user.session.start" || e.Reasons[63] != "r62" || e.ReasonsTruncated != 39 {
		t.Errorf("%d reasons (last %q), %d truncated; want %d, r62, 39", len(e.Reasons), e.Reasons[len(e.Reasons)-1], e.ReasonsTruncated, MaxReasons)
	}

	in = oktaWith(map[string]string{"outcome": fmt.Sprintf(`{"result":"FAILURE","reason":%q}`, long)})
	e, err = decodeOne(t, in, FormatOkta)
	if err != nil {
		t.Fatal(err)
	}
	cut := e.Reasons[len(e.Reasons)-1]
	if len(cut) != MaxReasonLen || !utf8.ValidString(cut) || !strings.HasPrefix(long, cut) || e.ReasonsTruncated != 1 {
		t.Errorf("long reason kept as %d bytes (valid %v), %d truncated; want %d bytes, 1", len(cut), utf8.ValidString(cut), e.ReasonsTruncated, MaxReasonLen)
	}

	// A complete list says so.
	e, err = decodeOne(t, oktaWith(nil), FormatOkta)
	if err != nil || e.ReasonsTruncated != 0 || len(e.Reasons) != 1 {
		t.Errorf("plain event: %v, %v, %d truncated", err, e.Reasons, e.ReasonsTruncated)
	}
}

// TestReasonSet checks the set past the scanned list: order, once each.
func TestReasonSet(t *testing.T) {
	t.Parallel()
	var rs reasonSet
	for i := range 3 * MaxReasons {
		rs.add(fmt.Sprint(i % 40))
		rs.add(" ")
	}
	if rs.len() != 40 || rs.truncated != 0 || rs.list[0] != "0" || rs.list[39] != "39" {
		t.Errorf("list %v, truncated %d", rs.list, rs.truncated)
	}
}

func TestAmbiguousIdentity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, login string
		reason      string
		field       string // named by the error
		email, user string // the accepted event's user_email and user_name
	}{
		{"kelvin sign", "\u212a.admin@example.com", ReasonAmbiguousIdentity, "user_email", "", ""},
		{"dotted capital I", "\u0130nfo@example.com", ReasonAmbiguousIdentity, "user_email", "", ""},
		{"full-width letters", "ＢｒｅａｋＧｌａｓｓ@example.com", ReasonAmbiguousIdentity, "user_email", "", ""},
		{"full-width at sign", "breakglass＠example.com", ReasonAmbiguousIdentity, "user_name", "", ""},
		{"long s", "\u017fvc@example.com", ReasonAmbiguousIdentity, "user_email", "", ""},
		{"ligature", "\ufb00@example.com", ReasonAmbiguousIdentity, "user_email", "", ""},
		{"decomposed accent", "jose\u0301@example.com", ReasonAmbiguousIdentity, "user_email", "", ""},
		{"upper-case accented letter", "JOS\u00c9@example.com", ReasonAmbiguousIdentity, "user_email", "", ""},
		{"no-break space", "a\u00a0b@example.com", ReasonAmbiguousIdentity, "user_email", "", ""},
		{"NFC lower-case accent", "jos\u00e9@example.com", "", "", "jos\u00e9@example.com", ""},
		{"ascii upper case", "Dana.Reyes@Example.COM", "", "", "dana.reyes@example.com", ""},
		{"non-email login", "dana", "", "", "", "dana"},
		{"non-ascii name without at sign", "ＤＡＮＡ", "", "", "", "ＤＡＮＡ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := oktaWith(map[string]string{"actor": fmt.Sprintf(`{"type":"User","alternateId":%q}`, tt.login)})
			e, err := decodeOne(t, in, FormatOkta)
			if Reason(err) != tt.reason {
				t.Fatalf("reason %q (%v), want %q", Reason(err), err, tt.reason)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.field) || !strings.Contains(err.Error(), "ambiguous") {
					t.Errorf("message %q does not name %s", err, tt.field)
				}
				return
			}
			if e.UserEmail != tt.email || e.UserName != tt.user {
				t.Errorf("user_email %q user_name %q, want %q %q", e.UserEmail, e.UserName, tt.email, tt.user)
			}
		})
	}
	// Every format reaches the check: 1Password, ECS user.name, generic.
	for name, in := range map[string]string{
		"1password": `{"uuid":"E1","category":"success","target_user":{"uuid":"U1","email":"\u212a@example.com"}}`,
		"ecs name":  `{"@timestamp":"2025-10-14T08:41:17Z","event":{"kind":"event"},"user":{"name":"ＡＤＭＩＮ＠corp"}}`,
		"generic":   `{"sid":"1","results_link":"x","result":{"user":"\u0130nfo@example.com"}}`,
	} {
		if _, err := newTestDecoder(t).Decode([]byte(in), FormatAuto); Reason(err) != ReasonAmbiguousIdentity {
			t.Errorf("%s: reason %q (%v), want ambiguous_identity", name, Reason(err), err)
		}
	}
}

// TestRepeatedAndDottedIdentityKeys checks that the sender cannot choose
// which of two values of an identity field counts, in every format.
func TestRepeatedAndDottedIdentityKeys(t *testing.T) {
	t.Parallel()
	ecs := func(user string) string {
		return `{"@timestamp":"2025-10-14T08:41:17Z","event":{"kind":"event"},` + user + `}`
	}
	gws := func(params string) string {
		return `{"kind":"admin#reports#activity","id":{"applicationName":"login"},"actor":{"email":"a@example.com"},` +
			`"events":[{"name":"account_disabled_hijacked","parameters":[` + params + `]}]}`
	}
	tests := []struct {
		name   string
		in     string
		format Format
		field  string // "" when the event is accepted
		email  string // the accepted user_email
	}{
		{"okta repeated email", oktaWith(map[string]string{"actor": `{"type":"User","alternateId":"a@x.io","alternateId":"b@y.io"}`}),
			FormatOkta, "actor.alternateId", ""},
		{"okta repeated actor", strings.Replace(oktaWith(nil), `"actor":`, `"actor":{"alternateId":"b@y.io"},"actor":`, 1),
			FormatOkta, "actor.type", ""}, // the first field read through "actor"
		{"okta dotted and nested", oktaWith(map[string]string{"actor.alternateId": `"a@x.io"`, "actor": `{"alternateId":"b@y.io"}`}),
			FormatOkta, "actor.alternateId", ""},
		{"okta dotted null and nested", oktaWith(map[string]string{"actor.alternateId": `null`, "actor": `{"alternateId":"b@y.io"}`}),
			FormatOkta, "actor.alternateId", ""},
		{"okta dotted alone", oktaWith(map[string]string{"actor": "", "actor.alternateId": `"a@x.io"`}),
			FormatOkta, "", "a@x.io"},
		{"okta repeated actor type", oktaWith(map[string]string{"actor": `{"type":"User","type":"System","alternateId":"a@x.io"}`}),
			FormatOkta, "actor.type", ""},
		{"okta repeated target", oktaWith(map[string]string{"actor": `{"type":"System"}`,
			"target": `[{"type":"User","alternateId":"a@x.io"}],"target":[{"type":"User","alternateId":"b@y.io"}]`}),
			FormatOkta, "target", ""},
		{"okta repeated target login", oktaWith(map[string]string{"actor": `{"type":"System"}`,
			"target": `[{"type":"User","alternateId":"a@x.io","alternateId":"b@y.io"}]`}),
			FormatOkta, "target[0].alternateId", ""},
		{"okta hook repeated events", `{"eventType":"com.okta.event_hook","data":{"events":[` + oktaWith(nil) + `],"events":[` + oktaWith(nil) + `]}}`,
			FormatOkta, "data.events", ""},
		{"okta hook dotted and nested events", `{"eventType":"com.okta.event_hook","data.events":[` + oktaWith(nil) + `],"data":{"events":[` + oktaWith(nil) + `]}}`,
			FormatOkta, "data.events", ""},
		{"okta eventbridge repeated detail", `{"detail-type":"x","source":"okta","detail":` + oktaWith(nil) + `,"detail":` + oktaWith(nil) + `}`,
			FormatOkta, "detail", ""},
		{"entra repeated upn", `{"records":[{"category":"SignInLogs","properties":{"userPrincipalName":"a@x.io","userPrincipalName":"b@y.io"}}]}`,
			FormatEntra, "properties.userPrincipalName", ""},
		{"entra repeated records", `{"records":[{"category":"SignInLogs","properties":{"userPrincipalName":"a@x.io"}}],"records":[]}`,
			FormatEntra, "records", ""},
		{"1password repeated email", `{"uuid":"E1","category":"success","target_user":{"uuid":"U1","email":"a@x.io","email":"b@y.io"}}`,
			FormatOnePassword, "target_user.email", ""},
		{"1password dotted and nested uuid", `{"uuid":"E1","category":"success","target_user.uuid":"U2","target_user":{"uuid":"U1"}}`,
			FormatOnePassword, "target_user.uuid", ""},
		{"gws repeated parameter", gws(`{"name":"affected_email_address","value":"a@x.io"},{"name":"affected_email_address","value":"b@y.io"}`),
			FormatGWS, "parameters", ""},
		{"gws repeated value", gws(`{"name":"affected_email_address","value":"a@x.io","value":"b@y.io"}`),
			FormatGWS, `parameters["affected_email_address"].value`, ""},
		{"gws repeated actor email", `{"kind":"admin#reports#activity","id":{"applicationName":"login"},"actor":{"email":"a@x.io","email":"b@y.io"},"events":[{"name":"login_success"}]}`,
			FormatGWS, "actor.email", ""},
		{"cloudtrail repeated user name", `{"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","userIdentity":{"userName":"a","userName":"b"}}`,
			FormatCloudTrail, "userIdentity.userName", ""},
		{"cloudtrail repeated detail", `{"detail-type":"AWS Console Sign In via CloudTrail","source":"aws.signin","detail":{"eventName":"ConsoleLogin","userIdentity":{"userName":"a"}},"detail":{"eventName":"ConsoleLogin","userIdentity":{"userName":"b"}}}`,
			FormatCloudTrail, "detail", ""},
		{"cloudtrail activity repeated type", `{"eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"type":"Root","type":"IAMUser","userName":"a@x.io"}}`,
			FormatCloudTrail, "userIdentity.type", ""},
		{"cloudtrail activity dotted and nested issuer", `{"eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"type":"AssumedRole",` +
			`"principalId":"AROA:a@x.io","arn":"arn:aws:sts::1:assumed-role/AWSReservedSSO_A_1/a@x.io",` +
			`"sessionContext.sessionIssuer.arn":"arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_A_1","sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::1:role/ci"}}}}`,
			FormatCloudTrail, "userIdentity.sessionContext.sessionIssuer.arn", ""},
		{"cloudtrail activity repeated on-behalf-of user", `{"eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"type":"IdentityCenterUser","onBehalfOf":{"userId":"u1","userId":"u2"}}}`,
			FormatCloudTrail, "userIdentity.onBehalfOf.userId", ""},
		{"cloudtrail activity sso session dotted alone", `{"eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"type":"AssumedRole",` +
			`"principalId":"AROA:a@x.io","arn":"arn:aws:sts::1:assumed-role/AWSReservedSSO_A_1/a@x.io",` +
			`"sessionContext.sessionIssuer.arn":"arn:aws:iam::1:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_A_1"}}`,
			FormatCloudTrail, "", "a@x.io"},
		{"gws admin repeated actor email", `{"kind":"admin#reports#activity","id":{"applicationName":"admin"},"actor":{"email":"a@x.io","email":"b@y.io"},"events":[{"name":"CREATE_USER"}]}`,
			FormatGWS, "actor.email", ""},
		{"guardduty dotted and nested", `{"schemaVersion":"2.0","type":"t","service":{},"resource":{"accessKeyDetails":{"userName":"a"}},"resource.accessKeyDetails.userName":"b"}`,
			FormatGuardDuty, "resource.accessKeyDetails.userName", ""},
		{"ocsf repeated email", `{"class_uid":3002,"metadata":{"version":"1"},"user":{"email_addr":"a@x.io","email_addr":"b@y.io"}}`,
			FormatOCSF, "user.email_addr", ""},
		{"ecs dotted and nested email", ecs(`"user.email":"a@x.io","user":{"email":"b@y.io"}`), FormatECS, "user.email", ""},
		{"ecs partly dotted and nested", ecs(`"source.user":{"email":"a@x.io"},"source":{"user":{"email":"b@y.io"}}`), FormatECS, "source.user.email", ""},
		{"ecs repeated user", ecs(`"user":{"email":"a@x.io"},"user":{"email":"b@y.io"}`), FormatECS, "user.email", ""},
		{"ecs dotted alone", ecs(`"user.email":"a@x.io"`), FormatECS, "", "a@x.io"},
		{"ecs nested alone", ecs(`"user":{"email":"b@y.io"}`), FormatECS, "", "b@y.io"},
		{"generic repeated user", `{"sid":"1","results_link":"x","result":{"user":"a@x.io","user":"b@y.io"}}`, FormatGeneric, "result.user", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			evs, err := newTestDecoder(t).Decode([]byte(tt.in), tt.format)
			if tt.field == "" {
				if err != nil || len(evs) != 1 || evs[0].UserEmail != tt.email {
					t.Fatalf("got %v, %+v; want %s", err, evs, tt.email)
				}
				return
			}
			if Reason(err) != ReasonBadField || len(evs) != 0 {
				t.Fatalf("reason %q (%v), %d events; want bad_field", Reason(err), err, len(evs))
			}
			if want := fmt.Sprintf("field %q", tt.field); !strings.Contains(err.Error(), want) {
				t.Errorf("message %q does not name %s", err, want)
			}
		})
	}
}

// TestNonIdentityRepeatsKeepLast documents what other fields do: the last
// of repeated keys counts, and a literal dotted key beats the nested path.
func TestNonIdentityRepeatsKeepLast(t *testing.T) {
	t.Parallel()
	in := oktaWith(map[string]string{
		"outcome":          `{"result":"FAILURE","result":"SUCCESS"}`,
		"client.ipAddress": `"198.51.100.1"`,
	})
	e, err := decodeOne(t, in, FormatOkta)
	if err != nil {
		t.Fatal(err)
	}
	if e.Outcome != OutcomeSuccess || e.SrcIP != "198.51.100.1" {
		t.Errorf("outcome %q src_ip %q, want success (last) and 198.51.100.1 (literal dotted key)", e.Outcome, e.SrcIP)
	}
}

// TestBatchItemRaw checks, for every batch format, that each failed item
// carries a copy of its own bytes, exactly as sent, which decodes alone
// to the same failure.
func TestBatchItemRaw(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		format        Format
		head, tail    string
		good, bad     string
		single        Format // the format to decode a bad item alone with
		badReason     string
		noSingleCheck bool
	}{
		{"okta event hook", FormatOkta, `{"eventType":"com.okta.event_hook","data":{"events":[`, `]}}`,
			oktaWith(nil), ` { "uuid" : "u2", "published":"yesterday",  "actor":{"alternateId":true}}`, FormatOkta, ReasonBadField, false},
		{"cloudtrail records", FormatCloudTrail, `{"Records":[`, `]}`,
			`{"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","userIdentity":{"userName":"bob"}}`,
			`{"eventSource":"s3.amazonaws.com","eventName":"GetObject","userIdentity":{"type":"IAMUser","userName":["b\u00f6b"]}}`, FormatCloudTrail, ReasonBadField, false},
		{"entra records", FormatEntra, `{"records":[`, `]}`,
			`{"category":"SignInLogs","properties":{"userPrincipalName":"a@example.com"}}`,
			"{\"category\":\"SignInLogs\",\n\t\"properties\":{\"createdDateTime\":\"x\",\"userPrincipalName\":[\"b@example.com\"]}}", FormatEntra, ReasonBadField, false},
		{"1password items", FormatOnePassword, `{"cursor":"c","has_more":false,"items":[`, `]}`,
			`{"uuid":"A","category":"success","target_user":{"uuid":"U1"}}`,
			`{"uuid":"B","category":"success","target_user":{"email":"\u212a@example.com"}}`, FormatOnePassword, ReasonAmbiguousIdentity, false},
		{"gws items", FormatGWS, `{"kind":"admin#reports#activities","items":[`, `]}`,
			`{"kind":"admin#reports#activity","id":{"applicationName":"login"},"actor":{"email":"a@example.com"},"events":[{"name":"login_success"}]}`,
			`{"kind":"admin#reports#activity","id":{"applicationName":"drive"},"actor":{"email":"b@example.com"},"events":[{"name":"view"}]}`, FormatGWS, ReasonUnknownFormat, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			junk := `"junk \"item\""`
			in := []byte(tt.head + tt.good + ",  " + tt.bad + " ,\n" + junk + "," + tt.good + tt.tail)
			dec := newTestDecoder(t)
			evs, err := dec.Decode(in, tt.format)
			var e *Error
			if !errors.As(err, &e) || e.Reason != ReasonPartial || len(evs) != 2 {
				t.Fatalf("%d events, %v; want 2 and partial", len(evs), err)
			}
			if len(e.Items) != 2 || e.Items[0].Index != 1 || e.Items[1].Index != 2 {
				t.Fatalf("items %+v, want indexes 1 and 2", e.Items)
			}
			want := []string{strings.TrimSpace(tt.bad), junk}
			for i, it := range e.Items {
				if string(it.Raw) != want[i] {
					t.Errorf("item %d raw %q, want %q", it.Index, it.Raw, want[i])
				}
			}
			if it := e.Items[0]; it.Err.Reason != tt.badReason {
				t.Errorf("item 1 reason %q, want %q", it.Err.Reason, tt.badReason)
			}
			// The item alone decodes to the same failure.
			if _, err := dec.Decode(e.Items[0].Raw, tt.single); Reason(err) != tt.badReason {
				t.Errorf("item 1 alone: reason %q (%v), want %q", Reason(err), err, tt.badReason)
			}
			// Raw is a copy: changing the message does not change it.
			saved := string(e.Items[0].Raw)
			for i := range in {
				in[i] = 'X'
			}
			if string(e.Items[0].Raw) != saved {
				t.Errorf("item raw changed with the message: %q", e.Items[0].Raw)
			}
		})
	}
}

func TestMaxItems(t *testing.T) {
	t.Parallel()
	const limit = 10
	dec, err := NewDecoder(Config{MaxItems: limit})
	if err != nil {
		t.Fatal(err)
	}
	repeat := func(s string, n int) string { return strings.TrimSuffix(strings.Repeat(s+",", n), ",") }
	items := func(n int) string {
		return `{"records":[` + repeat(`{"category":"SignInLogs","properties":{"userPrincipalName":"a@example.com"}}`, n) + `]}`
	}
	if evs, err := dec.Decode([]byte(items(limit)), FormatAuto); err != nil || len(evs) != limit {
		t.Errorf("%d items: %d events, %v", limit, len(evs), err)
	}
	keys := func(n int) string {
		var ks []string
		for i := range n {
			ks = append(ks, fmt.Sprintf(`"k%d":1`, i))
		}
		return "{" + strings.Join(ks, ",") + "}"
	}
	activity := func(n int) string {
		return `{"kind":"admin#reports#activity","id":{"applicationName":"login"},"actor":{"email":"a@example.com"},"events":[` + repeat(`{}`, n) + `]}`
	}
	// An activity of a page is deeper than the parser limits: the activity
	// itself is checked before its events are read.
	page := `{"kind":"admin#reports#activities","items":[` + activity(limit+1) + `]}`
	if _, err := dec.Decode([]byte(page), FormatAuto); Reason(err) != ReasonTooLarge || !strings.Contains(err.Error(), "activity has 11 events") {
		t.Errorf("page with a big activity: %v, want too_large for the activity", err)
	}
	for name, in := range map[string]string{
		"batch":          items(limit + 1),
		"object keys":    oktaWith(map[string]string{"debugContext": keys(limit + 1)}),
		"deep keys":      oktaWith(map[string]string{"debugContext": `{"a":{"b":{"c":` + keys(limit+1) + `}}}`}),
		"gws events":     activity(limit + 1),
		"gws page total": `{"kind":"admin#reports#activities","items":[` + activity(6) + "," + activity(6) + `]}`,
	} {
		if _, err := dec.Decode([]byte(in), FormatAuto); Reason(err) != ReasonTooLarge {
			t.Errorf("%s: reason %q (%v), want too_large", name, Reason(err), err)
		}
	}
	// Deeper arrays are lists of values, not batches: not limited.
	in := oktaWith(map[string]string{"securityContext": `{"risk":{"reasons":[` + repeat(`"r"`, 3*limit) + `]}}`})
	if _, err := dec.Decode([]byte(in), FormatAuto); err != nil {
		t.Errorf("%d reasons with MaxItems %d: %v", 3*limit, limit, err)
	}
	if _, err := NewDecoder(Config{MaxItems: -1}); err == nil {
		t.Error("negative MaxItems accepted")
	}
}

// TestStringsDoNotAliasTheMessage checks that the strings an event keeps
// are copies: none points into the message, and the normalized ones share
// one small buffer of their own.
func TestStringsDoNotAliasTheMessage(t *testing.T) {
	t.Parallel()
	in := []byte(`{"eventType":"com.okta.event_hook","data":{"events":[` + oktaWith(nil) + `,` +
		oktaWith(map[string]string{"uuid": `"u2"`, "debugContext": `{"debugData":{"risk":"{reasons=Anomalous Device, level=HIGH}"}}`}) + `]}}`)
	evs, err := newTestDecoder(t).Decode(in, FormatAuto)
	if err != nil || len(evs) != 2 {
		t.Fatal(err)
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(in)))
	hi := lo + uintptr(len(in))
	inMessage := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		return len(s) > 0 && p >= lo && p < hi
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			if inMessage(v) {
				t.Errorf("raw string %q points into the message", v)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			for k, x := range v {
				walk(k)
				walk(x)
			}
		}
	}
	for _, e := range evs {
		walk(e.Raw)
		kept := append([]string{e.UserEmail, e.UserID, e.SrcIP, e.EventID}, e.Reasons...)
		base := uintptr(unsafe.Pointer(unsafe.StringData(e.UserEmail)))
		total := 0
		for _, s := range kept {
			total += len(s)
		}
		for _, s := range kept {
			p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
			if inMessage(s) || p < base || p+uintptr(len(s)) > base+uintptr(total)+uintptr(len(e.UserName)+len(e.OPUserID)+len(e.Country)+len(e.City)) {
				t.Errorf("%q is not in the event's own buffer", s)
			}
		}
	}
}

// TestSmallStringKeepsLittleAlive checks that keeping one event of a large
// batch (its normalized fields and its raw item) keeps a few KiB alive,
// not the megabyte message. It measures the heap, so it does not run in
// parallel.
func TestSmallStringKeepsLittleAlive(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	item := oktaWith(map[string]string{"displayMessage": `"` + strings.Repeat("m", 900) + `"`})
	in := []byte(`{"eventType":"com.okta.event_hook","data":{"events":[` + strings.TrimSuffix(strings.Repeat(item+",", 900), ",") + `]}}`)
	dec := newTestDecoder(t)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	evs, err := dec.Decode(in, FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	email, raw := evs[450].UserEmail, evs[450].Raw
	evs = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	kept := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	runtime.KeepAlive(email)
	runtime.KeepAlive(raw)
	if kept > 256<<10 {
		t.Errorf("keeping one event of a %d-byte batch keeps %d bytes alive", len(in), kept)
	}
	if !bytes.Contains(in, []byte(email)) {
		t.Fatal("unexpected email")
	}
}

// TestGWSEventIDs checks that the events of a Google activity without a
// uniqueQualifier get distinct ids, the first one the hash ids have always
// been.
func TestGWSEventIDs(t *testing.T) {
	t.Parallel()
	in := `{"kind":"admin#reports#activity","id":{"applicationName":"login","time":"2025-10-14T08:41:17Z"},` +
		`"actor":{"email":"a@example.com"},"events":[{"name":"login_failure"},{"name":"login_failure"},{"name":"login_success"}]}`
	evs, err := newTestDecoder(t).Decode([]byte(in), FormatGWS)
	if err != nil || len(evs) != 3 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	v, err := parseJSON([]byte(in), DefaultMaxDepth)
	if err != nil {
		t.Fatal(err)
	}
	first := hashID("gws", v)
	if evs[0].EventID != first || evs[1].EventID != first+"-1" || evs[2].EventID != first+"-2" {
		t.Errorf("ids %q %q %q, want %s, -1, -2", evs[0].EventID, evs[1].EventID, evs[2].EventID, first)
	}
}

func TestBatchEventsKnowTheirItem(t *testing.T) {
	t.Parallel()
	dec, err := NewDecoder(Config{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/okta-event-hook-batch.json")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := dec.Decode(raw, FormatAuto)
	var de *Error
	if !errors.As(err, &de) || len(de.Items) != 1 || len(evs) != 2 {
		t.Fatalf("Decode = %d events, %v; want the sample's 2 good items and 1 failed", len(evs), err)
	}
	// Items 1 and 3 decode; item 2 (index 1) fails.
	for i, ev := range evs {
		if want := []int{1, 3}[i]; ev.Item != want || len(ev.ItemRaw) == 0 {
			t.Fatalf("event %d: item %d, %d raw bytes; want item %d", i, ev.Item, len(ev.ItemRaw), want)
		}
		alone, err := dec.Decode(ev.ItemRaw, FormatOkta)
		if err != nil || len(alone) != 1 || alone[0].EventID != ev.EventID || alone[0].Item != 0 {
			t.Errorf("item %d alone: %+v, %v", ev.Item, alone, err)
		}
	}
	single, _ := dec.Decode(evs[0].ItemRaw, FormatAuto)
	if single[0].Item != 0 || single[0].ItemRaw != nil {
		t.Error("an event that is not from a batch has an item")
	}
}
