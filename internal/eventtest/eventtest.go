// Package eventtest holds fixtures shared by tests that push sign-in events
// through the pipeline: a compact Okta sign-in builder, the simulator's
// generated user emails, a one-rule policy that suspends on a risky
// successful sign-in, and WriteRulesDir, which writes a rule directory the
// consumer accepts. Only tests import it.
package eventtest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// RiskyRule is a rules file with one enforce rule, risky_success, that
// suspends the user of a successful sign-in rated high or critical risk,
// with the inline tests a rule that acts needs to load (one that matches,
// one that does not). A directory holding it also needs a benign corpus:
// write it with WriteRulesDir.
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
// succeeded just now, with the given risk level (LOW, MEDIUM, HIGH,
// CRITICAL); id becomes its uuid, so its event id is "okta:<id>".
func OktaSignIn(id, email, level string) []byte {
	return fmt.Appendf(nil, `{"uuid":%q,"published":%q,"eventType":"user.session.start",`+
		`"actor":{"id":"00u%s","type":"User","alternateId":%q},"client":{"ipAddress":"203.0.113.7"},`+
		`"outcome":{"result":"SUCCESS"},"debugContext":{"debugData":{"risk":"{reasons=Anomalous Device, level=%s}"}}}`,
		id, time.Now().UTC().Format(time.RFC3339Nano), id, email, level)
}

// UserEmail is the nth user the simulator generates (opsim.Config.Generate).
func UserEmail(n int) string { return fmt.Sprintf("user%05d@example.com", n) }

// BenignOkta returns the benign corpus WriteRulesDir writes, by file name:
// ordinary Okta sign-ins (successful, risk LOW) of a few users, with the
// event ids okta:benign-1 to okta:benign-3. No rule that acts may match them
// (see rules.LoadChecked).
func BenignOkta() map[string][]byte {
	return map[string][]byte{
		"okta-low-1.json": OktaSignIn("benign-1", "li.wei@example.com", "LOW"),
		"okta-low-2.json": OktaSignIn("benign-2", "maria.santos@example.com", "LOW"),
		"okta-low-3.json": OktaSignIn("benign-3", UserEmail(1), "LOW"),
	}
}

// ProtectNobody is a protected.yaml that protects nobody on purpose
// (allow_empty: true): the consumer refuses a rule directory without a
// protected.yaml, or with an empty one that does not say so.
const ProtectNobody = "# Nobody is protected in this test.\nallow_empty: true\n"

// WriteRulesDir makes dir a rule directory the consumer accepts at start and
// on reload (rules.NewWatcher): it writes rulesYAML to dir/rules.yaml, the
// BenignOkta corpus to dir/testdata/benign/ and, unless dir already has
// one, ProtectNobody to dir/protected.yaml (a test that protects someone
// writes its own, before or after). dir must exist. The rules' acting rules
// must not match the corpus; RiskyRule does not.
func WriteRulesDir(dir, rulesYAML string) error {
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(rulesYAML), 0o644); err != nil {
		return fmt.Errorf("write rules dir: %w", err)
	}
	protected := filepath.Join(dir, "protected.yaml")
	if _, err := os.Stat(protected); errors.Is(err, fs.ErrNotExist) {
		if err := os.WriteFile(protected, []byte(ProtectNobody), 0o644); err != nil {
			return fmt.Errorf("write rules dir: %w", err)
		}
	}
	benign := filepath.Join(dir, "testdata", "benign")
	if err := os.MkdirAll(benign, 0o755); err != nil {
		return fmt.Errorf("write rules dir: %w", err)
	}
	for name, doc := range BenignOkta() {
		if err := os.WriteFile(filepath.Join(benign, name), doc, 0o644); err != nil {
			return fmt.Errorf("write rules dir: %w", err)
		}
	}
	return nil
}
