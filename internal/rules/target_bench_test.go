package rules

import (
	"os"
	"path"
	"testing"
	"testing/fstest"

	"github.com/tripline-dev/tripline/internal/event"
)

// targetExtraRules are twelve rules of the kind a deployment adds to the
// shipped ones, so that the target benchmark runs 20 rules.
const targetExtraRules = `lists:
  sanctioned_countries: [CU, IR, KP, SY, RU, BY]
  admins: [dana.reyes@example.com, li.wei@example.com, root@example.com]
rules:
  - id: sanctioned_country_success
    severity: high
    action: suspend
    when: kind == "signin" && outcome == "success" && country_in(country, "sanctioned_countries")
  - id: unusual_country
    severity: medium
    action: none
    when: >
      outcome == "success" && country != ""
      && country not in ["US", "CA", "GB", "DE", "FR", "NL", "IE", "ES", "IT", "SE", "PL", "PT"]
      && !in_cidr(src_ip, "trusted_networks")
  - id: admin_off_hours
    severity: medium
    action: none
    when: outcome == "success" && in_list(user_email, "admins") && !hour_in("Europe/Berlin", 7, 20)
  - id: contractor_weekend
    severity: low
    action: none
    when: glob("*@contractors.example.com", user_email) && weekday_in("Europe/Berlin", "sat", "sun")
  - id: high_risk_score_success
    severity: high
    action: suspend
    when: has_risk_score && risk_score >= 80 && outcome == "success"
  - id: threat_suspected
    severity: high
    action: none
    when: ("threatSuspected" in reasons || "suspiciousAPITraffic" in reasons) && !in_cidr(src_ip, "trusted_networks")
  - id: password_spray
    severity: high
    action: suspend
    when: outcome == "failure" && risk_at_least("medium") && count("signin_fail", "5m") >= 20
  - id: anomalous_device
    severity: low
    action: none
    when: >
      any(reasons, # contains "Anomalous") && risk_score >= 50
  - id: external_guest_public_ip
    severity: low
    action: none
    when: outcome == "success" && is_public_ip(src_ip) && email_domain(user_email) not in ["example.com", "example.org"]
  - id: service_account_interactive
    severity: medium
    action: none
    when: has_prefix(user_email, "svc-") && outcome == "success" && !is_private_ip(src_ip)
  - id: benchmark_net_signin
    severity: low
    action: none
    when: in_cidr(src_ip, "198.18.0.0/15") || in_cidr(src_ip, "2001:db8:ffff::/48")
  - id: legacy_auth_client
    severity: medium
    action: none
    when: >
      source == "entra"
      && (raw?.properties?.clientAppUsed ?? "") in ["Exchange ActiveSync", "IMAP4", "POP3", "SMTP", "Other clients"]
`

// Sign-in events of about 1 KiB, as the producers send them.
var targetEvents = []struct{ name, doc string }{
	// An Okta user.session.start through an anonymizing proxy, flagged
	// high risk: it matches several rules.
	{"okta", `{"uuid":"5c0e9a8e-a8d2-11f0-9b6d-3b1f6a2c7e10","published":"2025-10-14T08:41:17.512Z","eventType":"user.session.start","version":"0","severity":"INFO","displayMessage":"User login to Okta","actor":{"id":"00u9xq2b7hTQvZ3k5d7","type":"User","alternateId":"dana.reyes@example.com","displayName":"Dana Reyes"},"client":{"userAgent":{"rawUserAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36","os":"Windows 10","browser":"CHROME"},"device":"Computer","ipAddress":"203.0.113.77","geographicalContext":{"city":"Bucharest","state":"Bucuresti","country":"Romania","postalCode":null,"geolocation":{"lat":44.43,"lon":26.1}}},"outcome":{"result":"SUCCESS","reason":null},"securityContext":{"asNumber":64500,"asOrg":"example hosting srl","domain":"example-vpn.net","isProxy":true},"debugContext":{"debugData":{"requestId":"aQ7xLmN3pR2sT9uV1wXyZ0AAB2c","threatSuspected":"false","behaviors":"{New Geo-Location=POSITIVE, New Device=POSITIVE, New IP=POSITIVE, Velocity=POSITIVE}","risk":"{reasons=Anomalous Geo-Distance, Anomalous Device, level=HIGH}"}}}`},
	// A 1Password sign-in attempt with a wrong one-time code.
	{"1password", `{
  "uuid": "HXQ4VFK2RJBNHGTQZ6S3W5UY7M",
  "session_uuid": "K3P7WZ2QAMBD5RTN6YHXC4VJEL",
  "timestamp": "2025-10-14T08:41:17.512Z",
  "category": "mfa_failed",
  "type": "totp_bad",
  "country": "RO",
  "details": {"value": "totp"},
  "target_user": {
    "uuid": "RZ5M2KQ7XHVB3NDT8WPLA6FCEY",
    "name": "Dana Reyes",
    "email": "dana.reyes@example.com"
  },
  "client": {
    "app_name": "1Password Browser Extension",
    "app_version": "81101012",
    "platform_name": "Chrome",
    "platform_version": "129.0.6668.90",
    "os_name": "Windows",
    "os_version": "10.0.19045",
    "ip_address": "203.0.113.77"
  },
  "location": {
    "country": "RO",
    "region": "Bucuresti",
    "city": "Bucharest",
    "latitude": 44.43,
    "longitude": 26.1
  },
  "account_uuid": "VZ4XQ2B7HTQVZ3K5D7LMNPRSTU",
  "session": {
    "login_time": "2025-10-14T08:41:10.000Z",
    "device_uuid": "d7f3a2c5e8b4d1f6a9c2e7b0d5",
    "ip": "203.0.113.77"
  }
}`},
	// An ordinary Entra sign-in from the office, in an Event Hubs record.
	{"entra", `{"records":[{"time":"2025-10-14T08:41:17.5120000Z","operationName":"Sign-in activity","category":"SignInLogs","tenantId":"4f8c2a91-3b6d-4e7f-9a0c-1d2e3f4a5b6c","resultType":"0","callerIpAddress":"198.51.100.23","correlationId":"c2a5f7d0-91b3-4e88-a6c1-0d43e29b7f5a","identity":"Li Wei","Level":4,"location":"DE","properties":{"id":"7b3e9f10-4c2a-4d8e-b6f1-2a9c5e0d8b00","createdDateTime":"2025-10-14T08:41:17.5120000+00:00","userDisplayName":"Li Wei","userPrincipalName":"li.wei@example.com","userId":"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d","appDisplayName":"OfficeHome","ipAddress":"198.51.100.23","status":{"errorCode":0},"clientAppUsed":"Browser","userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36","deviceDetail":{"operatingSystem":"Windows10","browser":"Chrome 129.0.0","isCompliant":true,"isManaged":true,"trustType":"AzureAD"},"location":{"city":"Berlin","state":"Berlin","countryOrRegion":"DE"},"conditionalAccessStatus":"success","isInteractive":true,"riskDetail":"none","riskLevelAggregated":"none","riskLevelDuringSignIn":"none","riskState":"none","riskEventTypes_v2":[]}}]}`},
}

// BenchmarkTarget1KiB20Rules is the product target: normalize a sign-in
// event of about 1 KiB and evaluate it against 20 rules (the 8 shipped ones
// and targetExtraRules), on one core.
func BenchmarkTarget1KiB20Rules(b *testing.B) {
	fsys := fstest.MapFS{"zz_extra.yaml": {Data: []byte(targetExtraRules)}}
	for _, dir := range []string{".", "testdata"} {
		entries, err := os.ReadDir("../../rules/" + dir)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range entries {
			if !e.Type().IsRegular() {
				continue
			}
			name := path.Join(dir, e.Name())
			data, err := os.ReadFile("../../rules/" + name)
			if err != nil {
				b.Fatal(err)
			}
			fsys[name] = &fstest.MapFile{Data: data}
		}
	}
	s, err := Load(fsys)
	if err != nil {
		b.Fatal(err)
	}
	if n := len(s.Rules()); n != 20 {
		b.Fatalf("%d rules, want 20", n)
	}
	dec, err := event.NewDecoder(event.Config{})
	if err != nil {
		b.Fatal(err)
	}
	for _, te := range targetEvents {
		doc := []byte(te.doc)
		b.Run(te.name, func(b *testing.B) {
			evs, err := dec.Decode(doc, event.FormatAuto)
			if err != nil || len(evs) != 1 || evs[0].Source != te.name {
				b.Fatalf("decode: %v %+v", err, evs)
			}
			res := s.Evaluate(&evs[0])
			if len(res.Errors) != 0 {
				b.Fatal(res.Errors)
			}
			b.Logf("%d bytes, %d decisions", len(doc), len(res.Decisions))
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				evs, err := dec.Decode(doc, event.FormatAuto)
				if err != nil {
					b.Fatal(err)
				}
				s.Evaluate(&evs[0])
			}
		})
	}
}
