package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/dlq"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/pipeline"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// deadLetterOne runs the consumer, parking off, while the simulator
// answers every suspend with 503, so the risky sign-in of email is
// dead-lettered.
func deadLetterOne(t *testing.T, email string) *e2e {
	t.Helper()
	e := newE2E(t, "signins", opsim.Seed{})
	e.cfg.Kafka.RetryTopic = ""
	e.cfg.Retry.MaxElapsed = time.Second
	e.cfg.Retry.MaxAttempts = 3
	e.sb.Sim().SetFaults(opsim.Faults{"suspend": {Rate503: 1}})
	e.produce("signins", kafka.Message{Value: oktaSignIn("r1", email, "HIGH")})
	m, stop := e.run()
	waitFor(t, "the message to be committed", func() bool { return m.Stats().Committed >= 1 && m.Stats().DeadLettered >= 1 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	return e
}

// replayDLQ runs `consumer dlq replay` in-process against the sandbox.
func (e *e2e) replayDLQ(execute bool) (dlq.Summary, string) {
	e.t.Helper()
	return e.replay(app.ReplayOptions{Group: "tripline-dlq-replay", Execute: execute, Progress: 1})
}

// replayDLQAccepting is replayDLQ with --accept-unsigned.
func (e *e2e) replayDLQAccepting(execute bool) (dlq.Summary, string) {
	e.t.Helper()
	return e.replay(app.ReplayOptions{Group: "tripline-dlq-replay", Execute: execute, Progress: 1, AcceptUnsigned: true})
}

func (e *e2e) replay(f app.ReplayOptions) (dlq.Summary, string) {
	e.t.Helper()
	var out, errw bytes.Buffer
	ctx, cancel := context.WithTimeout(e.t.Context(), 60*time.Second)
	defer cancel()
	f.Out, f.Err = &out, &errw
	sum, err := app.ReplayDLQ(ctx, e.cfg, f, app.Options{Log: io.Discard, Lookup: func(string) (string, bool) { return "", false }})
	if err != nil {
		e.t.Fatalf("dlq replay: %v\nstderr:\n%s", err, errw.String())
	}
	e.t.Logf("dlq replay (execute=%v):\n%s%s", f.Execute, out.String(), errw.String())
	return sum, out.String() + errw.String()
}

func TestDLQReplayDryRunThenExecuteAfterTheFaultClears(t *testing.T) {
	const email = "user00005@example.com"
	e := deadLetterOne(t, email)
	e.sb.Sim().SetFaults(opsim.Faults{})
	calls := len(e.suspendCalls())

	sum, out := e.replayDLQ(false)
	if sum != (dlq.Summary{Replayed: 1, Acted: 1}) || !strings.Contains(out, "signins/") || !strings.Contains(out, "would_act") || !strings.Contains(out, "dry run") {
		t.Errorf("dry run: summary %+v, output:\n%s", sum, out)
	}
	if n := len(e.suspendCalls()); n != calls || e.state(email) != "ACTIVE" {
		t.Fatalf("dry run made %d suspend calls, user is %s", n-calls, e.state(email))
	}

	sum, out = e.replayDLQ(true)
	if sum != (dlq.Summary{Replayed: 1, Acted: 1}) || !strings.Contains(out, "replayed 1: acted 1, still failing 0, nothing to do 0, refused 0") {
		t.Errorf("execute: summary %+v, output:\n%s", sum, out)
	}
	if e.state(email) != "SUSPENDED" {
		t.Errorf("user is %s after the replay", e.state(email))
	}
	if sum, _ := e.replayDLQ(true); sum.Replayed != 0 {
		t.Errorf("second run replayed %d records, want 0 (the group continues where it left off)", sum.Replayed)
	}
}

func TestDLQReplayStillFailingReturnsWithMoreAttempts(t *testing.T) {
	e := deadLetterOne(t, "user00006@example.com")
	sum, _ := e.replayDLQ(true)
	if sum != (dlq.Summary{Replayed: 1, StillFailing: 1}) {
		t.Fatalf("summary %+v", sum)
	}
	recs := e.deadLetters(2)
	first, again := recs[0], recs[1]
	if pipeline.HeaderValue(first, pipeline.HeaderAttempts) != "3" {
		first, again = again, first
	}
	want := map[string]string{
		pipeline.HeaderAttempts:        "6",
		pipeline.HeaderErrorClass:      remediate.ClassRetriesExhausted,
		pipeline.HeaderSourceTopic:     "signins",
		pipeline.HeaderSourcePartition: pipeline.HeaderValue(first, pipeline.HeaderSourcePartition),
		pipeline.HeaderSourceOffset:    pipeline.HeaderValue(first, pipeline.HeaderSourceOffset),
		pipeline.HeaderFirstFailure:    pipeline.HeaderValue(first, pipeline.HeaderFirstFailure),
	}
	for k, v := range want {
		if got := pipeline.HeaderValue(again, k); got != v {
			t.Errorf("replayed record header %s = %q, want %q", k, got, v)
		}
	}
}

func TestDLQHelp(t *testing.T) {
	var out bytes.Buffer
	if code := cmdDLQ(t.Context(), []string{"replay", "--help"}, streams{out: &out, err: io.Discard}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--execute", "--group", "already_suspended", "replayed N: acted A, still failing F, nothing to do Z, refused R"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
	if code := cmdDLQ(t.Context(), nil, streams{out: io.Discard, err: io.Discard}); code != 2 {
		t.Errorf("no subcommand: exit %d, want 2", code)
	}
}

// TestDLQReplayRefusesForgedRecords writes suspension orders into the DLQ
// by hand, as anyone with write access to it could: an unsigned one and one
// with a made-up signature. The replay refuses and lists both and acts on
// neither; --accept-unsigned admits the unsigned one only.
func TestDLQReplayRefusesForgedRecords(t *testing.T) {
	e := newE2E(t, "signins", opsim.Seed{})
	forged := func(email, sig string) kafka.Message {
		m := kafka.Message{Value: oktaSignIn("forged-"+email, email, "HIGH"), Headers: []kafka.Header{
			{Key: pipeline.HeaderSourceTopic, Value: []byte("signins")}, {Key: pipeline.HeaderErrorClass, Value: []byte("retries_exhausted")}}}
		if sig != "" {
			m.Headers = append(m.Headers, kafka.Header{Key: pipeline.HeaderSignature, Value: []byte(sig)})
		}
		return m
	}
	if err := e.sb.Broker().CreateTopic(e.cfg.Kafka.DLQTopic, 1); err != nil {
		t.Fatal(err)
	}
	e.produce(e.cfg.Kafka.DLQTopic, forged("user00008@example.com", ""), forged("user00009@example.com", "v1=00ff"))
	sum, out := e.replayDLQ(true)
	if sum.Refused != 2 || sum.Acted != 0 || !strings.Contains(out, "refused unsigned") || !strings.Contains(out, "refused bad_signature") {
		t.Errorf("summary %+v:\n%s", sum, out)
	}
	for _, u := range []string{"user00008@example.com", "user00009@example.com"} {
		if e.state(u) != "ACTIVE" {
			t.Errorf("%s was suspended by a forged record", u)
		}
	}
	e.produce(e.cfg.Kafka.DLQTopic, forged("user00008@example.com", ""), forged("user00009@example.com", "v1=00ff"))
	sum, out = e.replayDLQAccepting(true)
	if sum.Acted != 1 || sum.Refused != 1 || e.state("user00008@example.com") != "SUSPENDED" || e.state("user00009@example.com") != "ACTIVE" {
		t.Errorf("--accept-unsigned: summary %+v, states %s %s:\n%s", sum, e.state("user00008@example.com"), e.state("user00009@example.com"), out)
	}
}
