package rules

import (
	"testing"

	"github.com/tripline-dev/tripline/internal/event"
)

// TestEnvFields checks that the bit constants follow dataNames and that a
// partial fill sets exactly the entries asked for.
func TestEnvFields(t *testing.T) {
	bits := map[string]envFields{
		"user_email": fUserEmail, "user_id": fUserID, "user_name": fUserName, "op_user_id": fOPUserID,
		"outcome": fOutcome, "risk": fRisk, "risk_score": fRiskScore, "has_risk_score": fHasRiskScore,
		"risk_rank": fRiskRank, "reasons": fReasons, "src_ip": fSrcIP, "country": fCountry, "city": fCity,
		"time": fTime, "event_id": fEventID, "source": fSource, "kind": fKind, "raw": fRaw, "identity": fIdentity,
		"reasons_truncated": fReasonsTruncated,
	}
	if len(bits) != len(dataNames) {
		t.Fatalf("%d bits for %d names", len(bits), len(dataNames))
	}
	var all envFields
	for i, name := range dataNames {
		if bits[name] != 1<<i || envFieldOf(name) != 1<<i {
			t.Errorf("%s: bit %b, envFieldOf %b, want %b", name, bits[name], envFieldOf(name), 1<<i)
		}
		all |= 1 << i
	}
	if all != allEnvFields {
		t.Errorf("allEnvFields = %b, want %b", allEnvFields, all)
	}
	score := 3
	ev := &event.Event{UserEmail: "a@example.com", Outcome: "success", RiskScore: &score, Source: "okta"}
	for _, name := range dataNames {
		e := env{}
		e.fill(ev, envFieldOf(name))
		if _, ok := e[name]; !ok {
			t.Errorf("fill of %s did not set it", name)
		}
		if n := len(e); n != 1 && !(n == 2 && (name == "risk_score" || name == "has_risk_score")) {
			t.Errorf("fill of %s set %d entries", name, n)
		}
	}
}
