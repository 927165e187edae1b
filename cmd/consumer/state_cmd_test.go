package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tripline-dev/tripline/internal/ledger"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// TestStateResignMovesAnUnsignedTopicToSignedRecords: a state topic
// written without a key (an upgrade) is refused by an instance with one;
// `consumer state resign --dry-run` lists what it would sign and writes
// nothing, `consumer state resign` signs what tripline would accept, never
// a record dated ahead, and a signed ledger then loads it whole.
func TestStateResignMovesAnUnsignedTopicToSignedRecords(t *testing.T) {
	e := newE2E(t, "signins", opsim.Seed{})
	k := e.cfg.Kafka
	now := time.Now().UTC()
	unsigned, err := ledger.New(ledger.Config{Brokers: k.Brokers, Topic: k.StateTopic, Create: true}, func(string, []byte, string) {})
	if err != nil {
		t.Fatal(err)
	}
	if err := unsigned.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	put := func(key string, v any) {
		b, _ := json.Marshal(v)
		if err := unsigned.Put(t.Context(), key, b, ""); err != nil {
			t.Fatal(err)
		}
	}
	put("user/U1", remediate.UserEntry{UserID: "U1", Cooldowns: map[string]time.Time{"r1": now.Add(-time.Hour)}})
	put("breaker/global", remediate.BreakerEntry{Scope: "global", Open: true, At: now.Add(-time.Minute), Reason: "cap reached"})
	put("user/U2", remediate.UserEntry{UserID: "U2", Cooldowns: map[string]time.Time{"r1": now.Add(24 * 365 * time.Hour)}})

	load := func() *remediate.Ledger {
		keys, err := k.SigningKeys()
		if err != nil {
			t.Fatal(err)
		}
		led := remediate.NewLedger(nil, remediate.LedgerConfig{Keys: keys})
		tbl, err := ledger.New(ledger.Config{Brokers: k.Brokers, Topic: k.StateTopic}, led.Apply)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		if err := tbl.Load(ctx); err != nil {
			t.Fatal(err)
		}
		return led
	}
	if led := load(); led.RefusedCounts()[remediate.RefusedUnsigned] != 3 || len(led.OpenScopes()) != 0 {
		t.Fatalf("before resign: refused %v, open %v; want the 3 unsigned records refused", led.RefusedCounts(), led.OpenScopes())
	}

	cfgPath := writeCLIConfig(t, t.TempDir(), e.cfg)
	var out, errb bytes.Buffer
	run := func(args ...string) int {
		out.Reset()
		errb.Reset()
		return cmdState(t.Context(), append(args, "--config", cfgPath), streams{out: &out, err: &errb})
	}
	if code := run("resign", "--dry-run"); code != 0 || !strings.Contains(out.String(), "would sign 2 records") ||
		!strings.Contains(out.String(), "refused user/U2: future_time") {
		t.Fatalf("resign --dry-run: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if led := load(); led.RefusedCounts()[remediate.RefusedUnsigned] != 3 {
		t.Fatalf("a dry run wrote records: refused %v", led.RefusedCounts())
	}
	if code := run("resign"); code != 0 || !strings.Contains(out.String(), "signed 2 records") {
		t.Fatalf("resign: exit %d\n%s%s", code, out.String(), errb.String())
	}
	led := load()
	if _, ok := led.User("U1"); !ok || len(led.OpenScopes()) != 1 {
		t.Errorf("after resign: U1 %v, open scopes %v; want both accepted", ok, led.OpenScopes())
	}
	if _, ok := led.User("U2"); ok {
		t.Error("after resign: the record dated ahead was signed")
	}

	t.Setenv("TRIPLINE_DLQ_SIGNING_KEY", "")
	if code := run("resign"); code != 2 || !strings.Contains(errb.String(), "signing key is needed") {
		t.Errorf("resign without a key: exit %d\n%s", code, errb.String())
	}
}
