// Package eventtest holds fixtures shared by tests that push sign-in events
// through the pipeline: a compact Okta sign-in builder, the simulator's
// generated user emails, and a one-rule policy that suspends on a risky
// successful sign-in. Only tests import it.
package eventtest

import "fmt"

// RiskyRule is a rules file with one enforce rule, risky_success, that
// suspends the user of a successful sign-in rated high or critical risk,
// with the inline tests every rule needs to load.
const RiskyRule = `
rules:
  - id: risky_success
    description: successful sign-in with high or critical risk
    severity: high
    mode: enforce
    when: outcome == "success" && risk in ["high", "critical"]
    action: suspend
    reason: "risky sign-in"
    tests:
      - name: risky
        event: {user_email: a@example.com, outcome: success, risk: high}
        expect: {match: true}
      - name: benign
        event: {user_email: a@example.com, outcome: success, risk: low}
        expect: {match: false}
`

// OktaSignIn is an Okta System Log user.session.start of email that
// succeeded, with the given risk level (LOW, MEDIUM, HIGH, CRITICAL); id
// becomes its uuid, so its event id is "okta:<id>".
func OktaSignIn(id, email, level string) []byte {
	return fmt.Appendf(nil, `{"uuid":%q,"published":"2026-11-28T10:00:00Z","eventType":"user.session.start",`+
		`"actor":{"id":"00u%s","type":"User","alternateId":%q},"client":{"ipAddress":"203.0.113.7"},`+
		`"outcome":{"result":"SUCCESS"},"debugContext":{"debugData":{"risk":"{reasons=Anomalous Device, level=%s}"}}}`, id, id, email, level)
}

// UserEmail is the nth user the simulator generates (opsim.Config.Generate).
func UserEmail(n int) string { return fmt.Sprintf("user%05d@example.com", n) }
