package event

import (
	"errors"
	"strings"
	"testing"
)

// cloudTrailCall is a CloudTrail record of an API call by userIdentity
// (a JSON object) with the extra top-level fields more (each with a leading
// comma).
func cloudTrailCall(userIdentity, more string) string {
	return `{"eventVersion":"1.09","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"c1",` +
		`"eventTime":"2025-10-14T09:00:00Z","sourceIPAddress":"203.0.113.5","userIdentity":` + userIdentity + more + `}`
}

// ssoIssuer is the sessionContext of a session issued for an IAM Identity
// Center permission set.
const ssoIssuer = `"sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROASSO",` +
	`"arn":"arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123abcd","userName":"AWSReservedSSO_Admin_0123abcd"}}`

// TestCloudTrailActivityUser checks who an API call is attributed to, for
// each userIdentity shape, and that an email is read only where AWS (or an
// IAM administrator) chose it: never from a session name the caller of
// AssumeRole or GetFederationToken chose.
func TestCloudTrailActivityUser(t *testing.T) {
	t.Parallel()
	const ssoARN = `arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0123abcd/`
	assumed := func(session, role, issuer string) string {
		return `{"type":"AssumedRole","principalId":"AROASSO:` + session + `",` +
			`"arn":"arn:aws:sts::111122223333:assumed-role/` + role + `/` + session + `",` + issuer + `}`
	}
	type who struct{ Email, UserID, Name string }
	tests := []struct {
		name, identity string
		want           who
	}{
		{"iam user", `{"type":"IAMUser","principalId":"AIDA1","arn":"arn:aws:iam::111122223333:user/bob","userName":"bob"}`,
			who{"", "arn:aws:iam::111122223333:user/bob", "bob"}},
		{"iam user named by an email", `{"type":"IAMUser","principalId":"AIDA2","arn":"arn:aws:iam::111122223333:user/Li.Wei@example.com","userName":"Li.Wei@example.com"}`,
			who{"li.wei@example.com", "arn:aws:iam::111122223333:user/Li.Wei@example.com", ""}},
		{"iam user without arn", `{"type":"IAMUser","principalId":"AIDA3","userName":"carol"}`, who{"", "AIDA3", "carol"}},
		{"identity center session with an email",
			assumed("Dana.Reyes@example.com", "AWSReservedSSO_Admin_0123abcd", ssoIssuer),
			who{"dana.reyes@example.com", ssoARN + "Dana.Reyes@example.com", ""}},
		{"identity center session in a regional path",
			assumed("dana.reyes@example.com", "AWSReservedSSO_Admin_0123abcd", strings.Replace(ssoIssuer, "sso.amazonaws.com/", "sso.amazonaws.com/eu-west-1/", 1)),
			who{"dana.reyes@example.com", ssoARN + "dana.reyes@example.com", ""}},
		{"identity center session that is not an email",
			assumed("dreyes", "AWSReservedSSO_Admin_0123abcd", ssoIssuer),
			who{"", ssoARN + "dreyes", "dreyes"}},
		{"session name chosen by the caller of AssumeRole",
			assumed("ceo@example.com", "ci-deploy", `"sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/ci-deploy"}}`),
			who{"", "arn:aws:sts::111122223333:assumed-role/ci-deploy/ceo@example.com", ""}},
		{"role named AWSReservedSSO_ outside the reserved path",
			assumed("ceo@example.com", "AWSReservedSSO_Admin_0123abcd", `"sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/AWSReservedSSO_Admin_0123abcd"}}`),
			who{"", ssoARN + "ceo@example.com", ""}},
		{"role in the reserved path not named AWSReservedSSO_",
			assumed("ceo@example.com", "Admin", `"sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/Admin"}}`),
			who{"", "arn:aws:sts::111122223333:assumed-role/Admin/ceo@example.com", ""}},
		{"identity center issuer of another role",
			assumed("ceo@example.com", "ci-deploy", ssoIssuer),
			who{"", "arn:aws:sts::111122223333:assumed-role/ci-deploy/ceo@example.com", ""}},
		{"principalId naming another session",
			`{"type":"AssumedRole","principalId":"AROASSO:ceo@example.com","arn":"` + ssoARN + `dana.reyes@example.com",` + ssoIssuer + `}`,
			who{"", ssoARN + "dana.reyes@example.com", ""}},
		{"identity center session without principalId",
			`{"type":"AssumedRole","arn":"` + ssoARN + `dana.reyes@example.com",` + ssoIssuer + `}`,
			who{"", ssoARN + "dana.reyes@example.com", ""}},
		{"identity center user", `{"type":"IdentityCenterUser","accountId":"111122223333","onBehalfOf":{"userId":"544894e8-80c1-707f-60e3-3ba6510dfac1","identityStoreArn":"arn:aws:identitystore::111122223333:identitystore/d-9067642ac7"},"credentialId":"X"}`,
			who{"", "544894e8-80c1-707f-60e3-3ba6510dfac1", ""}},
		{"propagated identity center user on a role session",
			`{"type":"AssumedRole","principalId":"AROAAPP:example-user-1","arn":"arn:aws:sts::111122223333:assumed-role/DataAnalystRole/example-user-1","onBehalfOf":{"userId":"94d00cd8-e9e6-4810-b177-b08e84775435"}}`,
			who{"", "94d00cd8-e9e6-4810-b177-b08e84775435", ""}},
		{"federated user named by an email", `{"type":"FederatedUser","principalId":"111122223333:ceo@example.com","arn":"arn:aws:sts::111122223333:federated-user/ceo@example.com"}`,
			who{"", "arn:aws:sts::111122223333:federated-user/ceo@example.com", ""}},
		{"saml user", `{"type":"SAMLUser","principalId":"SAMPLE=:dana.reyes@example.com","userName":"dana.reyes@example.com","identityProvider":"SAMPLE="}`,
			who{"", "SAMPLE=:dana.reyes@example.com", ""}},
		{"web identity user", `{"type":"WebIdentityUser","principalId":"accounts.google.com:1234","userName":"1234","identityProvider":"accounts.google.com"}`,
			who{"", "accounts.google.com:1234", "1234"}},
		{"another account", `{"type":"AWSAccount","principalId":"AIDAOTHER","accountId":"444455556666"}`, who{"", "AIDAOTHER", ""}},
		{"root", `{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","userName":"root@example.com"}`, who{}},
		{"aws service", `{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}`, who{}},
		{"empty user identity", `{}`, who{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := decodeOne(t, cloudTrailCall(tt.identity, ""), FormatAuto)
			if err != nil {
				t.Fatal(err)
			}
			if got := (who{e.UserEmail, e.UserID, e.UserName}); got != tt.want {
				t.Errorf("user %+v, want %+v", got, tt.want)
			}
			if e.Kind != KindActivity || e.Source != "cloudtrail" || e.EventID != "cloudtrail:c1" {
				t.Errorf("kind %q, source %q, event id %q", e.Kind, e.Source, e.EventID)
			}
		})
	}
}

// TestCloudTrailActivityFields checks the outcome, reasons and address of
// an API call, and that a ConsoleLogin record stays a sign-in.
func TestCloudTrailActivityFields(t *testing.T) {
	t.Parallel()
	const bob = `{"type":"IAMUser","arn":"arn:aws:iam::111122223333:user/bob","userName":"bob"}`
	tests := []struct {
		name, in                   string
		kind, outcome, reasons, ip string
	}{
		{"success", cloudTrailCall(bob, ""), KindActivity, OutcomeSuccess, "GetObject", "203.0.113.5"},
		{"error code", cloudTrailCall(bob, `,"errorCode":"AccessDenied","errorMessage":"User: arn:aws:iam::111122223333:user/bob is not authorized"`),
			KindActivity, OutcomeFailure, "GetObject|AccessDenied", "203.0.113.5"},
		{"empty error code", cloudTrailCall(bob, `,"errorCode":""`), KindActivity, OutcomeSuccess, "GetObject", "203.0.113.5"},
		{"service name as address", strings.Replace(cloudTrailCall(bob, ""), "203.0.113.5", "ec2.amazonaws.com", 1), KindActivity, OutcomeSuccess, "GetObject", ""},
		{"AWS Internal as address", strings.Replace(cloudTrailCall(bob, ""), "203.0.113.5", "AWS Internal", 1), KindActivity, OutcomeSuccess, "GetObject", ""},
		{"IPv6 address", strings.Replace(cloudTrailCall(bob, ""), "203.0.113.5", "2001:db8::7", 1), KindActivity, OutcomeSuccess, "GetObject", "2001:db8::7"},
		{"address with a zone", strings.Replace(cloudTrailCall(bob, ""), "203.0.113.5", "fe80::1%eth0", 1), KindActivity, OutcomeSuccess, "GetObject", ""},
		{"address with spaces", strings.Replace(cloudTrailCall(bob, ""), "203.0.113.5", " 203.0.113.5 ", 1), KindActivity, OutcomeSuccess, "GetObject", "203.0.113.5"},
		{"long address", strings.Replace(cloudTrailCall(bob, ""), "203.0.113.5", strings.Repeat("x", 100), 1), KindActivity, OutcomeSuccess, "GetObject", ""},
		{"console login stays a sign-in", strings.Replace(cloudTrailCall(bob, `,"responseElements":{"ConsoleLogin":"Failure"}`), `"GetObject"`, `"ConsoleLogin"`, 1),
			KindSignIn, OutcomeFailure, "ConsoleLogin", "203.0.113.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := decodeOne(t, tt.in, FormatAuto)
			if err != nil {
				t.Fatal(err)
			}
			if e.Kind != tt.kind || e.Outcome != tt.outcome || strings.Join(e.Reasons, "|") != tt.reasons || e.SrcIP != tt.ip || e.Risk != RiskUnknown {
				t.Errorf("kind %q outcome %q reasons %q src_ip %q risk %q, want %q %q %q %q unknown",
					e.Kind, e.Outcome, strings.Join(e.Reasons, "|"), e.SrcIP, e.Risk, tt.kind, tt.outcome, tt.reasons, tt.ip)
			}
		})
	}
}

// TestCloudTrailActivityEnvelopeID checks that an API call delivered by
// EventBridge without an eventID takes the envelope's id.
func TestCloudTrailActivityEnvelopeID(t *testing.T) {
	t.Parallel()
	in := `{"version":"0","id":"env-1","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","detail":` +
		`{"eventSource":"s3.amazonaws.com","eventName":"PutBucketAcl","userIdentity":{"type":"IAMUser","userName":"bob"}}}`
	e, err := decodeOne(t, in, FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	if e.EventID != "cloudtrail:env-1" || e.Kind != KindActivity || e.UserName != "bob" {
		t.Errorf("event id %q, kind %q, user name %q", e.EventID, e.Kind, e.UserName)
	}
}

// TestGWSAdminActivity checks that an admin activity is attributed to its
// actor, the administrator, never to a user a parameter names (the login
// application's affected_email_address included), and that an activity
// without any user is kept while a login without one is not.
func TestGWSAdminActivity(t *testing.T) {
	t.Parallel()
	activity := func(app, actor, events string) string {
		return `{"kind":"admin#reports#activity","id":{"time":"2025-10-14T11:00:00Z","uniqueQualifier":"42","applicationName":"` + app + `"},` +
			`"actor":` + actor + `,"ipAddress":"198.51.100.23","events":` + events + `}`
	}
	const admin = `{"callerType":"USER","email":"Li.Wei@example.com","profileId":"1182"}`
	evs, err := newTestDecoder(t).Decode([]byte(activity("admin", admin,
		`[{"type":"USER_SETTINGS","name":"CHANGE_PASSWORD","parameters":[{"name":"USER_EMAIL","value":"ceo@example.com"},{"name":"affected_email_address","value":"ceo@example.com"}]},`+
			`{"type":"USER_SETTINGS","name":"SUSPEND_USER","parameters":[{"name":"USER_EMAIL","value":"ceo@example.com"}]}]`)), FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ reasons, id string }{
		{"CHANGE_PASSWORD|USER_SETTINGS", "gws:42:2025-10-14T11:00:00Z:CHANGE_PASSWORD"},
		{"SUSPEND_USER|USER_SETTINGS", "gws:42:2025-10-14T11:00:00Z:SUSPEND_USER"},
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events, want %d", len(evs), len(want))
	}
	for i, e := range evs {
		if e.UserEmail != "li.wei@example.com" || e.UserID != "1182" || e.Kind != KindActivity || e.Outcome != OutcomeSuccess ||
			e.Risk != RiskUnknown || strings.Join(e.Reasons, "|") != want[i].reasons || e.EventID != want[i].id || e.SrcIP != "198.51.100.23" {
			t.Errorf("event %d: %+v", i, e)
		}
	}

	// A system actor: no user, still an activity rules can see.
	evs, err = newTestDecoder(t).Decode([]byte(activity("admin", `{"callerType":"KEY","key":"SYSTEM"}`, `[{"type":"LICENSES_SETTINGS","name":"USER_LICENSE_REVOKE"}]`)), FormatAuto)
	if err != nil || len(evs) != 1 || evs[0].UserEmail != "" || evs[0].UserID != "" || evs[0].Kind != KindActivity {
		t.Errorf("system actor: %v, %+v", err, evs)
	}
	// The same activity of the login application is a sign-in, and a
	// sign-in needs a user.
	if _, err := newTestDecoder(t).Decode([]byte(activity("login", `{"callerType":"KEY","key":"SYSTEM"}`, `[{"type":"login","name":"login_success"}]`)), FormatAuto); Reason(err) != ReasonNoUser {
		t.Errorf("login without a user: reason %q (%v), want no_user", Reason(err), err)
	}
}

// TestOtherGWSApplicationsRefused checks that activities of applications
// other than login and admin stay unknown_format, naming the ones read,
// alone and in a page next to ones that are read.
func TestOtherGWSApplicationsRefused(t *testing.T) {
	t.Parallel()
	for _, app := range []string{"drive", "token", "saml", "Admin", "groups"} {
		in := `{"kind":"admin#reports#activity","id":{"applicationName":"` + app + `"},"actor":{"email":"a@example.com"},"events":[{"name":"view"}]}`
		_, err := newTestDecoder(t).Decode([]byte(in), FormatAuto)
		if Reason(err) != ReasonUnknownFormat || !strings.Contains(err.Error(), "(login, admin)") {
			t.Errorf("%s: %v, want unknown_format naming login, admin", app, err)
		}
	}
	page := `{"kind":"admin#reports#activities","items":[` +
		`{"kind":"admin#reports#activity","id":{"applicationName":"drive"},"actor":{"email":"a@example.com"},"events":[{"name":"download"}]},` +
		`{"kind":"admin#reports#activity","id":{"applicationName":"admin"},"actor":{"email":"b@example.com"},"events":[{"name":"CREATE_USER"}]}]}`
	evs, err := newTestDecoder(t).Decode([]byte(page), FormatAuto)
	var de *Error
	if !errors.As(err, &de) || de.Reason != ReasonPartial || len(de.Items) != 1 || de.Items[0].Index != 0 ||
		de.Items[0].Err.Reason != ReasonUnknownFormat || len(evs) != 1 || evs[0].UserEmail != "b@example.com" {
		t.Errorf("page: %d events, %v", len(evs), err)
	}
}

// TestActivityWithoutUserOnlyForActivities checks that finish lets an
// activity without any user through and still refuses a sign-in or an
// alert without one.
func TestActivityWithoutUserOnlyForActivities(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{KindSignIn, KindAlert, KindActivity} {
		e := Event{Source: "test", Kind: kind, EventID: "test:1"}
		d := (&document{}).fields(map[string]any{}, FormatGeneric)
		err := finish(&e, d, map[string]any{})
		if kind == KindActivity && err != nil {
			t.Errorf("%s without a user: %v, want accepted", kind, err)
		}
		if kind != KindActivity && (err == nil || err.Reason != ReasonNoUser) {
			t.Errorf("%s without a user: %v, want no_user", kind, err)
		}
	}
}
