package rules

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestHelpersAvoidReflection checks that no helper call compiles to expr's
// reflective call instruction.
func TestHelpersAvoidReflection(t *testing.T) {
	calls := []string{
		`in_cidr(src_ip, "10.0.0.0/8")`, `is_private_ip(src_ip)`, `is_public_ip(src_ip)`,
		`country_in(country, "l")`, `has_suffix(user_email, "x")`, `has_prefix(user_email, "x")`,
		`email_domain(user_email) == ""`, `glob("*@x", user_email)`, `len(list("l")) > 0`,
		`in_list(user_email, "l")`, `local_hour("UTC") > 1`, `risk_at_least("high")`,
		`hour_in("UTC", 1, 2)`, `weekday_in("UTC")`, `weekday_in("UTC", "mon", "sun")`, `count("k", "5m") > 2`,
	}
	var b strings.Builder
	b.WriteString("lists:\n  l: [a]\nrules:\n")
	for i, c := range calls {
		b.WriteString("  - id: r" + string(rune('a'+i)) + "\n    severity: low\n    action: none\n    when: '" + c + "'\n")
	}
	s, err := Load(fstest.MapFS{"a.yaml": {Data: []byte(b.String())}})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range s.rules {
		code := r.when.Disassemble()
		for _, line := range strings.Split(code, "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[1] == "OpCall" {
				t.Errorf("%s compiles to a reflective call:\n%s", calls[i], code)
			}
		}
	}
}
