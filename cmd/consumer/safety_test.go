package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/pipeline"
	"github.com/tripline-dev/tripline/internal/remediate"
)

func riskyMessages(from, to int) []kafka.Message {
	var msgs []kafka.Message
	for i := from; i <= to; i++ {
		msgs = append(msgs, kafka.Message{Key: []byte(fmt.Sprint(i)), Value: oktaSignIn(fmt.Sprint("r", i), fmt.Sprintf("user%05d@example.com", i), "HIGH")})
	}
	return msgs
}

// TestEndToEndBreakerHoldsAcrossInstancesUntilReset: with a global cap of
// 3, five risky sign-ins suspend exactly three users and hold two in the
// DLQ (breaker_open); the trip survives a restart, is seen by a second
// instance (another group sharing the state topic) and holds a sixth
// decision; `breaker reset` re-arms it everywhere, and `dlq replay
// --execute` then acts on the held decisions, within the cap.
func TestEndToEndBreakerHoldsAcrossInstancesUntilReset(t *testing.T) {
	e := newE2E(t, "signins", opsim.Seed{})
	if err := e.sb.Broker().CreateTopic("idle", 1); err != nil {
		t.Fatal(err)
	}
	e.cfg.Breaker.Global = "3/10m"
	e.produce("signins", riskyMessages(1, 5)...)
	a, stopA := e.run()
	waitFor(t, "five messages committed", func() bool { return a.Stats().Committed >= 5 })
	if got := a.Ledger().OpenScopes(); fmt.Sprint(got) != "[global]" {
		t.Errorf("open scopes %v, want [global]", got)
	}
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	if n := len(e.suspendCalls()); n != 3 {
		t.Fatalf("%d suspend calls with a cap of 3", n)
	}
	held := e.deadLetters(2)
	for _, d := range held {
		if pipeline.HeaderValue(d, pipeline.HeaderErrorClass) != remediate.ClassBreakerOpen || pipeline.HeaderValue(d, pipeline.HeaderRuleID) != "risky_success" {
			t.Errorf("held decision headers %v", d.Headers)
		}
	}

	// A second instance (its own group and topic, the same state topic)
	// reads the trip at start.
	second := e.cfg
	second.Kafka.GroupID, second.Kafka.Topics = "second", []string{"idle"}
	b, stopB := (&e2e{t: t, sb: e.sb, cfg: second, spans: e.spans}).run()
	defer stopB()
	if got := b.Ledger().OpenScopes(); fmt.Sprint(got) != "[global]" {
		t.Errorf("second instance sees %v open, want [global]", got)
	}
	// A restarted first instance holds a new decision.
	e.produce("signins", riskyMessages(6, 6)...)
	a, stopA = e.run()
	waitFor(t, "the sixth message committed", func() bool { return a.Stats().Committed >= 1 && a.Stats().DeadLettered >= 1 })
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	if n := len(e.suspendCalls()); n != 3 {
		t.Errorf("the restarted instance suspended while the breaker was open (%d calls)", n)
	}

	// The operator re-arms it; the running second instance sees it.
	dir := t.TempDir()
	configFile := writeCLIConfig(t, dir, e.cfg)
	var out bytes.Buffer
	run := func(args ...string) int {
		out.Reset()
		return cmdBreaker(t.Context(), append(args, "--config", configFile), streams{out: &out, err: &out})
	}
	if code := run("status"); code != 0 || !regexpMatch(`global\s+OPEN`, out.String()) || !strings.Contains(out.String(), "3/3 in 10m0s") {
		t.Errorf("breaker status = %d:\n%s", code, out.String())
	}
	if code := run("reset", "--scope", "global", "--by", "alice"); code != 2 {
		t.Errorf("reset without --reason: exit %d, want 2", code)
	}
	if code := run("reset", "--scope", "rule:risky_success", "--by", "alice", "--reason", "x"); code != 1 || !strings.Contains(out.String(), "not open") {
		t.Errorf("reset of a scope that is not open: exit %d:\n%s", code, out.String())
	}
	// Without the instances' signing key, the CLI refuses to write a
	// re-arm every instance would refuse.
	key := os.Getenv("TRIPLINE_DLQ_SIGNING_KEY")
	t.Setenv("TRIPLINE_DLQ_SIGNING_KEY", "")
	if code := run("reset", "--scope", "global", "--by", "alice", "--reason", "reviewed the burst"); code != 1 || !strings.Contains(out.String(), "no signing key") {
		t.Errorf("reset without the signing key: exit %d:\n%s", code, out.String())
	}
	t.Setenv("TRIPLINE_DLQ_SIGNING_KEY", key)
	if code := run("reset", "--scope", "global", "--by", "alice", "--reason", "reviewed the burst"); code != 0 {
		t.Fatalf("breaker reset = %d:\n%s", code, out.String())
	}
	waitFor(t, "the second instance to see the re-arm", func() bool { return len(b.Ledger().OpenScopes()) == 0 })
	if code := run("status", "--json"); code != 0 || !strings.Contains(out.String(), `"by":"alice"`) || strings.Contains(out.String(), `"open":true`) {
		t.Errorf("breaker status --json = %d:\n%s", code, out.String())
	}

	// The held decisions act after review, within the cap again.
	sum, replayOut := e.replayDLQ(true)
	if sum.Acted != 3 || sum.StillFailing != 0 {
		t.Errorf("replay summary %+v:\n%s", sum, replayOut)
	}
	for i := 1; i <= 6; i++ {
		if s := e.state(fmt.Sprintf("user%05d@example.com", i)); s != "SUSPENDED" {
			t.Errorf("user %d is %s", i, s)
		}
	}
	if n := len(e.suspendCalls()); n != 6 {
		t.Errorf("%d suspend calls for 6 users, want 6", n)
	}
}

// writeCLIConfig writes the parts of cfg a CLI command needs to a YAML file;
// the client secret goes through the environment, as in production.
func writeCLIConfig(t *testing.T, dir string, cfg config.Config) string {
	t.Helper()
	o, k := cfg.OnePassword, cfg.Kafka
	yaml := fmt.Sprintf("kafka:\n  brokers: [%q]\n  topics: [%q]\n  dlq_topic: %q\n  state_topic: %q\n"+
		"onepassword:\n  base_url: %q\n  allow_insecure_loopback: true\n  account_id: %q\n  client_id: %q\n"+
		"breaker:\n  global: %q\n", k.Brokers[0], k.Topics[0], k.DLQTopic, k.StateTopic, o.BaseURL, o.AccountID, o.ClientID, cfg.Breaker.Global)
	path := filepath.Join(dir, "tripline.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TRIPLINE_OP_CLIENT_SECRET", o.ClientSecret.Reveal())
	t.Setenv("TRIPLINE_DLQ_SIGNING_KEY", k.DLQSigningKey.Reveal())
	return path
}

func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }

// TestEndToEndRedeliveryAfterSIGKILLMakesNoSecondCall runs the consumer as a
// process that commits nothing (a commit interval of an hour), SIGKILLs it
// mid-stream, and runs it again: every message is redelivered, yet each
// risky user is suspended exactly once; the events acted on before the kill
// come back as duplicates and make no call at all (the ledger), not even a
// read.
func TestEndToEndRedeliveryAfterSIGKILLMakesNoSecondCall(t *testing.T) {
	const users = 20 // the sandbox generates 20
	e := newE2E(t, "signins", opsim.Seed{})
	e.produce("signins", riskyMessages(1, users)...)
	e.sb.Sim().SetFaults(opsim.Faults{"suspend": {Latency: 60 * time.Millisecond}})
	env := cliEnv(e.cfg)
	start := func(commitInterval string) (*exec.Cmd, *syncBuffer) {
		cmd := exec.Command(os.Args[0], "run") // this binary, running main (TestMain)
		var logs syncBuffer
		cmd.Env = append(os.Environ(), env...)
		cmd.Env = append(cmd.Env, runConsumerEnv+"=1")
		cmd.Env = append(cmd.Env, "TRIPLINE_KAFKA_COMMIT_INTERVAL="+commitInterval, "TRIPLINE_KAFKA_COMMIT_BATCH=100000",
			"TRIPLINE_MAX_IN_FLIGHT=2") // so that the kill comes mid-stream
		cmd.Stderr, cmd.Stdout = &logs, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd, &logs
	}
	first, _ := start("1h")
	waitFor(t, "eight suspensions", func() bool { return len(e.suspendCalls()) >= 8 })
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	before := len(e.suspendCalls())
	if before >= users {
		t.Fatalf("the kill came after the last suspension (%d calls)", before)
	}
	bounds, err := e.sb.Conn().PartitionBounds(t.Context(), "signins", e.cfg.Kafka.GroupID)
	if err != nil {
		t.Fatal(err)
	}
	for p, b := range bounds {
		if b.Next != 0 {
			t.Fatalf("partition %d was committed to %d before the kill: nothing would be redelivered", p, b.Next)
		}
	}

	e.sb.Sim().SetFaults(opsim.Faults{})
	second, logs := start("100ms")
	waitFor(t, "every user suspended and every offset committed", func() bool {
		bounds, err := e.sb.Conn().PartitionBounds(t.Context(), "signins", e.cfg.Kafka.GroupID)
		if err != nil {
			return false
		}
		for _, b := range bounds {
			if b.Next < b.End {
				return false
			}
		}
		return true
	})
	second.Process.Signal(syscall.SIGTERM)
	second.Wait()
	// A call the kill cut off during the simulated latency never reached
	// the account (status 499); every call that did is counted.
	applied, cut := 0, 0
	for _, r := range e.suspendCalls() {
		switch r.Status {
		case 200:
			applied++
		case 499:
			cut++
		}
	}
	if applied != users || cut > 3 {
		t.Errorf("%d suspend calls applied for %d users (%d cut off by the kill, %d calls before it), want exactly %d", applied, users, cut, before, users)
	}
	results := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var line struct{ Msg, Result string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "audit" {
			results[line.Result]++
		}
	}
	// Every user whose suspension was recorded before the kill comes back
	// as a duplicate (all but those whose call was cut off or done but not
	// yet recorded: at most one per partition).
	if results["duplicate"] < before-3 || results["suspended"]+results["already_suspended"]+results["duplicate"] != users {
		t.Errorf("second run outcomes %v after %d suspensions before the kill", results, before)
	}
}

// cliEnv is cfg as the TRIPLINE_* environment of a consumer process.
func cliEnv(cfg config.Config) []string {
	k, o := cfg.Kafka, cfg.OnePassword
	return []string{
		"TRIPLINE_KAFKA_BROKERS=" + k.Brokers[0], "TRIPLINE_KAFKA_GROUP_ID=" + k.GroupID, "TRIPLINE_KAFKA_TOPICS=" + strings.Join(k.Topics, ","),
		"TRIPLINE_KAFKA_DLQ_TOPIC=" + k.DLQTopic, "TRIPLINE_KAFKA_STATE_TOPIC=" + k.StateTopic, "TRIPLINE_KAFKA_START_FROM_EARLIEST=true",
		"TRIPLINE_KAFKA_SESSION_TIMEOUT=6s", "TRIPLINE_RULES_DIR=" + cfg.Rules.Dir, "TRIPLINE_RULES_WATCH=false",
		"TRIPLINE_OP_BASE_URL=" + o.BaseURL, "TRIPLINE_OP_ALLOW_INSECURE_LOOPBACK=true", "TRIPLINE_OP_ACCOUNT_ID=" + o.AccountID,
		"TRIPLINE_OP_CLIENT_ID=" + o.ClientID, "TRIPLINE_OP_CLIENT_SECRET=" + o.ClientSecret.Reveal(),
		"TRIPLINE_BREAKER_GLOBAL=" + cfg.Breaker.Global, "TRIPLINE_HTTP_ADDR=", "TRIPLINE_LOG_FORMAT=json",
	}
}
