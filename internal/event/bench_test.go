package event

import (
	"os"
	"testing"
)

// BenchmarkNormalize decodes one sample per format, auto-detected.
func BenchmarkNormalize(b *testing.B) {
	samples := []struct{ name, file string }{
		{"ocsf", "ocsf-auth-3002-failure"},
		{"ocsf-2004", "ocsf-2004-detection-finding"},
		{"ecs", "ecs-auth-failure"},
		{"elastic-alert", "elastic-alert"},
		{"okta", "okta-session-start-risky"},
		{"entra", "entra-risky-signin"},
		{"1password", "onepassword-signinattempt-mfa-failed"},
		{"gws", "gws-suspicious-login"},
		{"cloudtrail", "cloudtrail-consolelogin"},
		{"guardduty", "guardduty-finding"},
		{"generic", "generic-splunk-webhook"},
	}
	dec := newTestDecoder(b)
	for _, s := range samples {
		in, err := os.ReadFile("testdata/" + s.file + ".json")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				if _, err := dec.Decode(in, FormatAuto); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
