//go:build kafka

package kafka

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/deadletter"
	"github.com/tripline-dev/tripline/internal/eventtest"
	"github.com/tripline-dev/tripline/internal/kafkatest"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/pipeline"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/signing"
)

// hostileCase is one message produced to the source topic and the outcome
// it must get.
type hostileCase struct {
	name  string
	value []byte
	// The dead-letter record it must get: class (decode when only reason
	// is set) and reason; field, when set, must be named by the record's
	// error message. No class and no reason: nothing may be dead-lettered.
	class, reason, field string
	// dlqValue is the record's value when it is not the message's own (a
	// batch item's own bytes); omitted, the value must have been left out
	// (tripline.value.omitted=too_large) and the record must say it was cut
	// off while inflating.
	dlqValue []byte
	omitted  bool
	// batchIndex is the tripline.batch.index the record must carry.
	batchIndex string
	// suspend are the users the message must get suspended; spare, the
	// users it names who must stay ACTIVE.
	suspend, spare []string
	// staleEvent is the event id whose decision must be audited as stale.
	staleEvent string
	// zstd produces the message zstd-compressed; at, when set, is its
	// Kafka record timestamp.
	zstd bool
	at   time.Time
}

// dlqClass is the class of the dead-letter record the case must get ("":
// none).
func (c hostileCase) dlqClass() string {
	if c.class == "" && c.reason != "" {
		return pipeline.ClassDecode
	}
	return c.class
}

// outcome names the outcome the case must get, for the report.
func (c hostileCase) outcome() string {
	var parts []string
	if class := c.dlqClass(); class != "" {
		parts = append(parts, strings.TrimSuffix(class+"/"+c.reason, "/"))
	}
	if c.staleEvent != "" {
		parts = append(parts, "stale")
	}
	if len(c.suspend) > 0 {
		parts = append(parts, "suspended")
	}
	return strings.Join(parts, "+")
}

// oktaWith returns a valid Okta sign-in of user00001 with path (dotted)
// set to v; a nil v deletes the key.
func oktaWith(path string, v any) []byte {
	var m map[string]any
	if err := json.Unmarshal(oktaSignIn("h1", userEmail(1), "LOW"), &m); err != nil {
		panic(err)
	}
	parts := strings.Split(path, ".")
	cur := m
	for _, p := range parts[:len(parts)-1] {
		next, ok := cur[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			cur[p] = next
		}
		cur = next
	}
	if v == nil {
		delete(cur, parts[len(parts)-1])
	} else {
		cur[parts[len(parts)-1]] = v
	}
	out, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return out
}

// hostileCases are malformed messages, each to be dead-lettered as decode
// with its reason: broken JSON, deep nesting, invalid UTF-8, the wrong
// shape, the wrong type in every field the Okta normalizer reads, and a
// 2 MiB value. Since the decoder takes at most 10,000 items or keys per
// message, the three with 100,000 items at the top of a message are
// too_large.
func hostileCases() []hostileCase {
	valid := oktaSignIn("h0", userEmail(1), "LOW")
	deepArr := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	deepObj := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	hugeNums := "[" + strings.TrimSuffix(strings.Repeat("1,", 100000), ",") + "]"
	hugeNulls := `{"items":[` + strings.TrimSuffix(strings.Repeat("null,", 100000), ",") + `]}`
	cases := []hostileCase{
		{name: "truncated-json", value: []byte(`{"eventType": "user.session.start", `), reason: "invalid_json"},
		{name: "truncated-event", value: valid[:len(valid)/2], reason: "invalid_json"},
		{name: "trailing-data", value: append(append([]byte{}, valid...), []byte(` {"x":1}`)...), reason: "invalid_json"},
		{name: "nul-bytes", value: []byte("\x00\x00\x00"), reason: "invalid_json"},
		{name: "not-json", value: []byte("user.session.start user00001@example.com SUCCESS"), reason: "invalid_json"},
		{name: "nesting-10000-arrays", value: []byte(deepArr), reason: "too_deep"},
		{name: "nesting-10000-objects", value: []byte(deepObj), reason: "too_deep"},
		{name: "invalid-utf8-string", value: []byte("{\"eventType\":\"user.session.start\",\"actor\":{\"alternateId\":\"\xff\xfe\"}}"), reason: "invalid_utf8"},
		{name: "invalid-utf8-bare", value: []byte{0xc3, 0x28, 0xa0, 0xa1}, reason: "invalid_utf8"},
		{name: "empty", value: []byte{}, reason: "empty"},
		{name: "whitespace", value: []byte(" \n\t "), reason: "empty"},
		{name: "null", value: []byte("null"), reason: "not_object"},
		{name: "number", value: []byte("42"), reason: "not_object"},
		{name: "string", value: []byte(`"user00001@example.com"`), reason: "not_object"},
		{name: "array-100000", value: []byte(hugeNums), reason: "too_large"}, // past the 10,000 items of a message
		{name: "object-with-100000-nulls", value: []byte(hugeNulls), reason: "too_large"},
		{name: "unknown-format", value: []byte(`{"foo":"bar","user":"user00001@example.com"}`), reason: "unknown_format"},
		{name: "empty-object", value: []byte(`{}`), reason: "unknown_format"},
		{name: "okta-no-user", value: oktaWith("actor", map[string]any{"type": "User"}), reason: "no_user"},
		{name: "okta-empty-hook-batch", value: []byte(`{"eventType":"com.okta.event_hook","data":{"events":[]}}`), reason: "empty_batch"},
		{name: "okta-eventType-number", value: oktaWith("eventType", 7), reason: "unknown_format"},
		{name: "okta-outcome-reason-100000-numbers", value: oktaWith("outcome.reason", json.RawMessage(hugeNums)), reason: "too_large"},
		// Not needed to evaluate the event: ignored, the raw value kept.
		{name: "okta-logonly-not-json", value: oktaWith("debugContext.debugData.logOnlySecurityData", "{not json")},
	}
	// A wrong type in every field the Okta normalizer reads: only the
	// identity fields refuse it (bad_field); the others are read liberally
	// (a number as text, an unknown word as absent), the raw value kept,
	// and the event goes on.
	for _, f := range []struct {
		path string
		v    any
	}{
		{"actor.alternateId", 12345},
		{"actor.id", map[string]any{"id": 1}},
		{"actor.type", []any{"User"}},
		{"outcome.result", true},
		{"securityContext.risk.level", 3},
		{"securityContext.risk.reasons", map[string]any{}},
		{"securityContext.isProxy", "maybe"},
		{"securityContext.userBehaviors", "POSITIVE"},
		{"debugContext.debugData.risk", 9},
		{"debugContext.debugData.behaviors", []any{1}},
		{"debugContext.debugData.threatSuspected", "perhaps"},
		{"client.ipAddress", 203},
		{"client.geographicalContext.country", false},
		{"client.geographicalContext.city", []any{"x"}},
		{"published", true},
		{"uuid", map[string]any{}},
	} {
		c := hostileCase{name: "okta-wrong-type-" + f.path, value: oktaWith(f.path, f.v)}
		if f.path == "actor.id" || f.path == "actor.type" {
			c.reason, c.field = "bad_field", f.path
		}
		cases = append(cases, c)
	}
	// Past the decoder's 1 MiB (the topics take 4 MiB).
	big := fmt.Appendf(nil, `{"eventType":"user.session.start","pad":"%s"}`, bytes.Repeat([]byte("x"), 2<<20))
	return append(cases, hostileCase{name: "value-2MiB", value: big, reason: "too_large"})
}

// The hostile scenario's users: userEmail(n) for n up to hostileUsers, plus
// hostileSeed. Users 1-10 have one risky sign-in each and users 11-20 one
// benign sign-in or near miss each, produced after every hostile case;
// users 21-39 are named by the adversarial cases, the 100k-reasons event
// timed on its own (timedRiskyUser) and the forged records (25, 26, 39);
// user 40 by nothing.
const hostileUsers = 40

// timedRiskyUser is the user of the 100k-reasons event timed on its own.
const timedRiskyUser = 36

// The seeded users: the real users the look-alike addresses imitate, and
// two users whose emails fold to the same address.
const (
	kelvinTarget  = "k.admin@example.com"
	dottedITarget = "info@example.com"
	foldPair      = "kpair@example.com"
	foldPairWide  = "\uff4bpair@example.com" // full-width k
)

// hostileSeed is the simulator seed of the hostile scenario: the seeded users.
func hostileSeed() opsim.Seed {
	return opsim.Seed{Users: []opsim.UserSeed{{Email: kelvinTarget}, {Email: dottedITarget}, {Email: foldPair}, {Email: foldPairWide}}}
}

// hostileRules is RiskyRule, whose reason says how many reasons the event
// kept, plus a rule that acts on 1Password sign-ins that failed at MFA (the
// format that names a 1Password user id next to an email).
const hostileRules = `
rules:
  - id: risky_success
    description: successful sign-in with high or critical risk
    severity: high
    mode: enforce
    when: outcome == "success" && risk in ["high", "critical"]
    action: suspend
    reason: "risky sign-in ({{ len .reasons }} reasons kept)"
    tests:
      - name: risky
        event: {user_email: a@example.com, outcome: success, risk: high}
        expect: {match: true}
      - name: benign
        event: {user_email: a@example.com, outcome: success, risk: low}
        expect: {match: false}
  - id: onepassword_mfa_failed
    description: a 1Password sign-in that failed at MFA, so the password and Secret Key were right
    severity: high
    mode: enforce
    when: source == "1password" && outcome == "failure" && risk == "high"
    action: suspend
    reason: "1password sign-in failed at mfa"
    tests:
      - name: mfa failed
        event: {op_user_id: U1, user_email: a@example.com, source: 1password, outcome: failure, risk: high}
        expect: {match: true}
      - name: success
        event: {op_user_id: U1, user_email: a@example.com, source: 1password, outcome: success, risk: none}
        expect: {match: false}
`

// zstdBomb is the size the zstd-compressed value inflates to: past the
// consumer's kafka.max_bytes (10 MiB), and far past maxConsumerRSS, so a
// consumer that held it whole could not stay under that bound.
const zstdBomb = 256 << 20

// maxConsumerRSS bounds the hostile scenario's consumer's peak resident set
// (VmHWM). It peaks at about 60 MiB: the fetch and inflate limits
// (kafka.max_bytes) and the message buffer (kafka.buffer_bytes) hold it
// there, whatever the messages inflate to.
const maxConsumerRSS = 160 << 20

// hostileReasons is how many risk reasons the 100k-reasons events carry.
const hostileReasons = 100_000

// oktaManyReasons is a risky Okta sign-in of email with hostileReasons
// distinct risk reasons (about 900 KB, under the decoder's 1 MiB).
func oktaManyReasons(id, email string) []byte {
	b := fmt.Appendf(nil, `{"uuid":%q,"published":%q,"eventType":"user.session.start",`+
		`"actor":{"id":"00u%s","type":"User","alternateId":%q},"client":{"ipAddress":"203.0.113.7"},`+
		`"outcome":{"result":"SUCCESS"},"securityContext":{"risk":{"level":"HIGH","reasons":[`,
		id, time.Now().UTC().Format(time.RFC3339Nano), id, email)
	for i := range hostileReasons {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `"r%05d"`, i)
	}
	return append(b, "]}}}"...)
}

// onePasswordMFAFailed is a 1Password SignInAttempt that failed at MFA,
// naming the 1Password user userID and the email email.
func onePasswordMFAFailed(id, userID, email string) []byte {
	return fmt.Appendf(nil, `{"uuid":%q,"timestamp":%q,"category":"mfa_failed","type":"mfa_failed",`+
		`"target_user":{"uuid":%q,"email":%q,"name":"Target"},"client":{"ip_address":"203.0.113.9"}}`,
		id, time.Now().UTC().Format(time.RFC3339Nano), userID, email)
}

// adversarialCases are messages built to make tripline act on the wrong
// user, or not at all, or to exhaust it, each with the outcome it must get.
func adversarialCases(t *testing.T, s *sim, now time.Time) []hostileCase {
	t.Helper()
	u := userEmail
	idOf := func(email string) string {
		user, ok := s.UserByEmail(email)
		if !ok {
			t.Fatalf("no simulator user %s", email)
		}
		return user.ID
	}
	// An event id of 1,000,000 '<' (JSON encoders escape each one
	// six-fold), on an otherwise risky sign-in.
	lt := oktaSignIn("LT", u(38), "HIGH")
	lt = bytes.Replace(lt, []byte(`"uuid":"LT"`), []byte(`"uuid":"`+strings.Repeat("<", 1_000_000)+`"`), 1)
	// The same risky sign-in with actor.alternateId given twice, and given
	// as a literal dotted key next to the nested one: the victim first,
	// the attacker second.
	repeated := bytes.Replace(oktaSignIn("hostile-repeated", u(27), "HIGH"),
		[]byte(`"alternateId":"`+u(27)+`"`), []byte(`"alternateId":"`+u(27)+`","alternateId":"`+u(28)+`"`), 1)
	dotted := append([]byte(`{"actor.alternateId":"`+u(29)+`",`), oktaSignIn("hostile-dotted", u(30), "HIGH")[1:]...)
	// A risky sign-in padded to zstdBomb bytes: a few KiB once compressed.
	head := append(bytes.TrimSuffix(oktaSignIn("hostile-zstd", u(37), "HIGH"), []byte("}")), `,"pad":"`...)
	bomb := make([]byte, zstdBomb)
	n := copy(bomb, head)
	for i := n; i < len(bomb)-2; i++ {
		bomb[i] = 'A'
	}
	copy(bomb[len(bomb)-2:], `"}`)
	// An Okta event hook whose second item names no user.
	noUser := []byte(`{"uuid":"hostile-batch-1","eventType":"user.session.start","actor":{"type":"User"},"outcome":{"result":"SUCCESS"}}`)
	batch := fmt.Appendf(nil, `{"eventType":"com.okta.event_hook","data":{"events":[%s,%s,%s]}}`,
		oktaSignIn("hostile-batch-0", u(34), "HIGH"), noUser, oktaSignIn("hostile-batch-2", u(35), "LOW"))

	return []hostileCase{
		{name: "event-id-1MB-of-lt", value: lt, reason: "bad_field", field: "uuid", spare: []string{u(38)}},
		{name: "okta-100k-risk-reasons", value: oktaManyReasons("hostile-reasons", u(21)), suspend: []string{u(21)}},
		{name: "event-time-10y-ahead", value: oktaSignInAt("hostile-future", u(22), "HIGH", "SUCCESS", now.AddDate(10, 0, 0)),
			reason: pipeline.ReasonFutureTime, field: "event time", spare: []string{u(22)}},
		// 20 minutes: past the 5 minute clock skew, within the hour Kafka 4
		// accepts ahead by default (message.timestamp.after.max.ms).
		{name: "record-timestamp-20m-ahead", value: oktaSignIn("hostile-future-record", u(23), "HIGH"), at: now.Add(20 * time.Minute),
			reason: pipeline.ReasonFutureTime, field: "kafka record timestamp", spare: []string{u(23)}},
		{name: "event-time-years-old", value: oktaSignInAt("hostile-stale", u(24), "HIGH", "SUCCESS", time.Date(2019, 3, 1, 8, 0, 0, 0, time.UTC)),
			staleEvent: "okta:hostile-stale", spare: []string{u(24)}},
		{name: "lookalike-kelvin-sign", value: oktaSignIn("hostile-kelvin", "\u212a.admin@example.com", "HIGH"),
			reason: "ambiguous_identity", field: "user_email", spare: []string{kelvinTarget}},
		{name: "lookalike-full-width", value: oktaSignIn("hostile-fullwidth", "\uff4b.\uff41\uff44\uff4d\uff49\uff4e@example.com", "HIGH"),
			reason: "ambiguous_identity", field: "user_email", spare: []string{kelvinTarget}},
		{name: "lookalike-dotted-capital-i", value: oktaSignIn("hostile-dotted-i", "\u0130nfo@example.com", "HIGH"),
			reason: "ambiguous_identity", field: "user_email", spare: []string{dottedITarget}},
		{name: "repeated-alternateId", value: repeated, reason: "bad_field", field: "actor.alternateId", spare: []string{u(27), u(28)}},
		{name: "dotted-and-nested-alternateId", value: dotted, reason: "bad_field", field: "actor.alternateId", spare: []string{u(29), u(30)}},
		{name: "1password-uuid-and-email-of-two-users", value: onePasswordMFAFailed("hostile-mismatch", idOf(u(31)), u(32)),
			class: remediate.ClassIdentityMismatch, spare: []string{u(31), u(32)}},
		{name: "1password-uuid-and-email-of-one-user", value: onePasswordMFAFailed("hostile-1p", idOf(u(33)), u(33)), suspend: []string{u(33)}},
		{name: "account-users-folding-together", value: oktaSignIn("hostile-pair", foldPair, "HIGH"),
			class: remediate.ClassAmbiguous, spare: []string{foldPair, foldPairWide}},
		{name: "zstd-inflates-to-256MiB", value: bomb, zstd: true, reason: "too_large", omitted: true, spare: []string{u(37)}},
		{name: "okta-hook-batch-second-item-fails", value: batch, reason: "no_user", batchIndex: "1", dlqValue: noUser,
			suspend: []string{u(34)}, spare: []string{u(35)}},
	}
}

// forgedRecord is a record written straight into the DLQ, which `consumer
// dlq replay --execute` must refuse (unsigned or bad_signature), list and
// never act on: it names a risky sign-in of a user who must stay ACTIVE.
type forgedRecord struct {
	name, refusal, user string
	msg                 kafka.Message
}

// forgeDeadLetters builds an unsigned record that claims to be a held
// decision, and a copy of a genuine signed dead-letter record (signature
// and all) with its value swapped for another risky sign-in. Their
// tripline.source.offset (999001, 999002) finds them in the replay's output.
func forgeDeadLetters(w *world, genuine kafka.Message) []forgedRecord {
	u := userEmail
	h := func(k, v string) kafka.Header { return kafka.Header{Key: k, Value: []byte(v)} }
	unsigned := kafka.Message{Key: []byte("forged/unsigned"), Value: oktaSignIn("forged-unsigned", u(25), "HIGH"), Headers: []kafka.Header{
		h(deadletter.HeaderSourceTopic, w.topic), h(deadletter.HeaderSourcePartition, "0"), h(deadletter.HeaderSourceOffset, "999001"),
		h(deadletter.HeaderSourceTimestamp, time.Now().UTC().Format(time.RFC3339Nano)),
		h(deadletter.HeaderErrorClass, remediate.ClassBreakerOpen), h(deadletter.HeaderErrorReason, ""), h(deadletter.HeaderRuleID, "risky_success"),
		h(deadletter.HeaderAttempts, "1"), h(deadletter.HeaderRetryable, "false"),
	}}
	swapped := kafka.Message{Key: []byte("forged/bad-signature"), Value: oktaSignIn("forged-swapped", u(26), "HIGH")}
	for _, hd := range genuine.Headers {
		if hd.Key == deadletter.HeaderSourceOffset {
			hd.Value = []byte("999002")
		}
		swapped.Headers = append(swapped.Headers, hd)
	}
	return []forgedRecord{
		{name: "unsigned", refusal: "unsigned", user: u(25), msg: unsigned},
		{name: "copied-signature-other-value", refusal: "bad_signature", user: u(26), msg: swapped},
	}
}

// forgedParked is a record written straight into the world's retry topic,
// which the consumer group reads: the consumer must refuse it into the DLQ
// (class refused, with reason) and act on nothing.
type forgedParked struct {
	name, reason, user string
	msg                kafka.Message
}

// forgeParked builds an unsigned parked decision for a risky sign-in of
// user 39, due now; a genuine signed dead-letter record copied as is (no
// due time); and the same copy with a due time added.
func forgeParked(w *world, genuine kafka.Message) []forgedParked {
	h := func(k, v string) kafka.Header { return kafka.Header{Key: k, Value: []byte(v)} }
	now := time.Now().UTC().Format(time.RFC3339Nano)
	unsigned := kafka.Message{Key: []byte("forged-retry/unsigned"), Value: oktaSignIn("forged-retry-unsigned", userEmail(39), "HIGH"), Headers: []kafka.Header{
		h(deadletter.HeaderSourceTopic, w.topic), h(deadletter.HeaderSourcePartition, "0"), h(deadletter.HeaderSourceOffset, "999003"),
		h(deadletter.HeaderSourceTimestamp, now), h(deadletter.HeaderErrorClass, remediate.ClassRetriesExhausted), h(deadletter.HeaderErrorReason, ""),
		h(deadletter.HeaderRuleID, "risky_success"), h(deadletter.HeaderAttempts, "1"), h(deadletter.HeaderFirstFailure, now),
		h(deadletter.HeaderRetryable, "true"), h(deadletter.HeaderRetryDue, now), h(deadletter.HeaderRetryParks, "1"),
	}}
	copied := kafka.Message{Key: genuine.Key, Value: genuine.Value, Headers: slices.Clone(genuine.Headers)}
	due := copied
	due.Headers = append(slices.Clone(copied.Headers), h(deadletter.HeaderRetryDue, now), h(deadletter.HeaderRetryParks, "1"))
	return []forgedParked{
		{name: "unsigned", reason: "unsigned", user: userEmail(39), msg: unsigned},
		{name: "copied-dead-letter", reason: "refused", user: userEmail(22), msg: copied},
		{name: "copied-dead-letter-due-added", reason: "bad_signature", user: userEmail(22), msg: due},
	}
}

// TestReliabilityHostileInput produces every hostile case (hostileCases,
// then adversarialCases), then good events, on one partition (so the good
// ones come strictly after), to a topic and DLQ that accept 4 MiB records.
// The consumer process must not exit; each case must get its outcome (its
// dead-letter record, signed, with its class, reason, value and headers; a
// stale audit; the suspension of its risky user) and spare every other user
// it names; the good events' risky users must be suspended and no other
// user. While the consumer still runs, one more 100k-reasons event is timed
// on its own, and decisions forged into the retry topic (which the group
// reads) must be refused into the DLQ. Then records forged into the DLQ
// must be refused by `consumer dlq replay --execute`, which must act on
// nothing: neither on them nor on anything tripline dead-lettered, the
// refused forgeries included.
func TestReliabilityHostileInput(t *testing.T) {
	const maxMessage, goodRisky, goodBenign = 4 << 20, 10, 10
	brokers := kafkatest.Brokers(t)
	s := startSim(t, hostileSeed(), hostileUsers)
	topic := kafkatest.TopicName(t)
	w := newWorldOnTopic(t, brokers, topic, 1, s)
	if err := eventtest.WriteRulesDir(w.rulesDir, hostileRules); err != nil {
		t.Fatal(err)
	}
	big := []kafka.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: fmt.Sprint(maxMessage)}}
	createTopic(t, w.client, kafka.TopicConfig{Topic: topic, NumPartitions: 1, ReplicationFactor: 1, ConfigEntries: big})
	createTopic(t, w.client, kafka.TopicConfig{Topic: w.dlq, NumPartitions: 3, ReplicationFactor: 1, ConfigEntries: big})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	legacy := hostileCases()
	cases := append(legacy, adversarialCases(t, s, time.Now())...)
	var risky, spared []string // users that must end SUSPENDED, users named by a case that must stay ACTIVE
	for _, c := range cases {
		risky = append(risky, c.suspend...)
		spared = append(spared, c.spare...)
	}
	var msgs []kafka.Message
	for _, c := range cases {
		msgs = append(msgs, kafka.Message{Key: []byte("hostile/" + c.name), Value: c.value, Time: c.at})
	}
	for i := 1; i <= goodRisky; i++ {
		risky = append(risky, userEmail(i))
		msgs = append(msgs, kafka.Message{Key: []byte("good"), Value: oktaSignIn(fmt.Sprint("g", i), userEmail(i), "HIGH")})
	}
	for i := 1; i <= goodBenign; i++ {
		b := userEmail(goodRisky + i)
		msgs = append(msgs, kafka.Message{Key: []byte("good"), Value: benignSignIn(fmt.Sprint("b", i), b, i-1)})
	}
	kw := w.writer(topic)
	kw.BatchBytes = 2 * maxMessage
	defer kw.Close()
	zw := w.writer(topic)
	zw.Compression, zw.BatchBytes = kafka.Zstd, 2*zstdBomb
	defer zw.Close()
	for i, m := range msgs { // one at a time, in order: a refused record names its case
		kwi := kw
		if i < len(cases) && cases[i].zstd {
			kwi = zw
		}
		if err := kwi.WriteMessages(ctx, m); err != nil {
			t.Fatalf("produce %s (%d bytes): %v", m.Key, len(m.Value), err)
		}
	}
	for i := range cases { // the zstdBomb value is no longer needed
		if cases[i].zstd {
			cases[i].value, msgs[i].Value = nil, nil
		}
	}

	p := w.start("consumer")
	relWait(t, 2*time.Minute, "every risky user suspended and the partition committed to its end", w.drained(risky), p)
	// One more 100k-reasons event, alone, while the consumer runs.
	timed := userEmail(timedRiskyUser)
	start := time.Now()
	w.produce(ctx, kafka.Message{Key: []byte("hostile/okta-100k-risk-reasons-timed"), Value: oktaManyReasons("hostile-reasons-timed", timed)})
	relWait(t, 30*time.Second, "the timed 100k-reasons event's user suspended", func() (bool, string) {
		st := s.state(timed)
		return st == opsim.StateSuspended, st
	}, p)
	reasonsLatency := time.Since(start)
	risky = append(risky, timed)
	relWait(t, 30*time.Second, "the partition committed to its end", w.drained(risky), p)

	// Decisions forged into the retry topic, while the consumer runs.
	var genuine kafka.Message
	for _, m := range w.deadLetters() {
		if string(m.Key) == "hostile/event-time-10y-ahead" {
			genuine = m
		}
	}
	if genuine.Key == nil {
		t.Fatal("no dead letter of event-time-10y-ahead to copy into the retry topic")
	}
	parked := forgeParked(w, genuine)
	rw := w.writer(w.retry)
	for _, fp := range parked {
		if err := rw.WriteMessages(ctx, fp.msg); err != nil {
			t.Fatalf("write the forged parked record %s: %v", fp.name, err)
		}
	}
	rw.Close()
	var refusedParked []kafka.Message
	relWait(t, 60*time.Second, "the forged parked records refused into the DLQ", func() (bool, string) {
		refusedParked = refusedParked[:0]
		for _, m := range w.deadLetters() {
			if deadLetterOf(m).Class == pipeline.ClassRefused {
				refusedParked = append(refusedParked, m)
			}
		}
		return len(refusedParked) >= len(parked), fmt.Sprintf("%d of %d refused", len(refusedParked), len(parked))
	}, p)
	peakRSS := vmHWM(t, p)
	p.stop(t, 30*time.Second)
	var parkedReasons []string
	for _, m := range refusedParked {
		parkedReasons = append(parkedReasons, deadLetterOf(m).Reason)
	}
	slices.Sort(parkedReasons)
	if want := []string{"bad_signature", "refused", "unsigned"}; !slices.Equal(parkedReasons, want) {
		t.Errorf("forged parked records refused with reasons %v, want %v", parkedReasons, want)
	}
	for _, fp := range parked {
		if st := s.state(fp.user); st != opsim.StateActive {
			t.Errorf("forged parked record %s: %s is %s", fp.name, fp.user, st)
		}
	}

	f := figures{events: len(msgs) + 1, risky: len(risky), suspended: s.suspended(risky)}
	f.committedAtEnd = w.assertCommittedAtEnd(int64(f.events))
	if f.suspended != len(risky) {
		t.Errorf("%d of %d risky users suspended", f.suspended, len(risky))
	}
	f.wronglySuspended = w.assertNoneWronglySuspended(risky)
	for _, e := range spared {
		if st := s.state(e); st != opsim.StateActive {
			t.Errorf("%s, named by a hostile case, is %s", e, st)
		}
	}
	c := s.calls()
	assertOneCallEach(t, c, f.suspended)
	f.callsPerRisky = c.perRisky(f.suspended)
	if peakRSS > maxConsumerRSS {
		t.Errorf("the consumer's peak RSS was %d MiB, want at most %d MiB (a %d MiB value inflated whole?)", peakRSS>>20, maxConsumerRSS>>20, zstdBomb>>20)
	}
	if reasonsLatency > 5*time.Second {
		t.Errorf("the 100k-reasons event took %s from produce to suspension, want at most 5s", reasonsLatency)
	}

	// Every case's outcome.
	audits := auditRecords(p)
	dl := w.deadLetters()
	f.dlq = len(dl)
	byKey := map[string]kafka.Message{}
	refusedDL := 0 // forged parked records: dead-lettered unsigned, so no replay trusts them
	keys, kerr := signing.NewKeyring([]byte(dlqSigningKey), nil)
	if kerr != nil {
		t.Fatal(kerr)
	}
	for _, m := range dl {
		err := deadletter.Verify(m, keys)
		if deadLetterOf(m).Class == pipeline.ClassRefused {
			refusedDL++
			if !errors.Is(err, signing.ErrUnsigned) {
				t.Errorf("refused record %s dead-lettered signed (%v): a replay would trust it", m.Key, err)
			}
			continue // a forged parked record, checked above
		}
		if err != nil {
			t.Errorf("dead-letter record %s: %v", m.Key, err)
		}
		if _, dup := byKey[string(m.Key)]; dup {
			t.Errorf("%s dead-lettered twice", m.Key)
		}
		byKey[string(m.Key)] = m
	}
	outcomes := map[string]int{}
	for _, c := range cases {
		if checkHostileCase(t, c, byKey, audits) {
			outcomes[c.outcome()]++
		}
		delete(byKey, "hostile/"+c.name)
	}
	for k := range byKey {
		t.Errorf("unexpected DLQ record %s", k)
	}
	if got := auditReason(audits, "okta:hostile-reasons"); !strings.Contains(got, fmt.Sprintf("(%d reasons kept)", 64)) {
		t.Errorf("the 100k-reasons event's audit reason is %q, want the 64 reasons kept", got)
	}

	// Forged dead letters and the replay.
	forged := forgeDeadLetters(w, genuine)
	fw := w.writer(w.dlq)
	for _, fr := range forged {
		if err := fw.WriteMessages(ctx, fr.msg); err != nil {
			t.Fatalf("write the forged dead letter %s: %v", fr.name, err)
		}
	}
	fw.Close()
	callsBefore := s.suspends.Load()
	out, errOut := w.mustCLI(ctx, "dlq", "replay", "--execute", "--group", w.topic+".replay")
	sum := replaySummary(t, errOut)
	refusedN := refusedCount(t, errOut)
	// Every record tripline dead-lettered fails again; the forged ones and
	// the forged parked records (dead-lettered unsigned) are refused;
	// nothing acts.
	if refusedN != len(forged)+refusedDL || sum.acted != 0 || sum.replayed != len(dl)+len(forged) || sum.stillFailing != len(dl)-refusedDL {
		t.Errorf("dlq replay --execute: replayed %d, acted %d, still failing %d, refused %d; want %d, 0, %d, %d\n%s\n%s",
			sum.replayed, sum.acted, sum.stillFailing, refusedN, len(dl)+len(forged), len(dl)-refusedDL, len(forged)+refusedDL, lastBytes(out, 4096), lastBytes(errOut, 2048))
	}
	for i, fr := range forged {
		line := replayLineFor(out, fmt.Sprintf("@%d ", 999001+i))
		if !strings.HasSuffix(line, "-> refused "+fr.refusal) {
			t.Errorf("forged dead letter %s: replay printed %q, want it refused %s", fr.name, line, fr.refusal)
		}
		if st := s.state(fr.user); st != opsim.StateActive {
			t.Errorf("forged dead letter %s: %s is %s", fr.name, fr.user, st)
		}
	}
	if n := s.suspends.Load() - callsBefore; n != 0 {
		t.Errorf("the replay made %d suspend calls, want none", n)
	}
	after := w.deadLetters()
	forgedAfter := 0
	for _, m := range after {
		if strings.HasPrefix(string(m.Key), "forged/") {
			forgedAfter++
		}
	}
	if want := 2*(len(dl)-refusedDL) + refusedDL + len(forged); forgedAfter != len(forged) || len(after) != want {
		t.Errorf("DLQ after the replay: %d records (%d forged), want %d: the %d signed dead letters twice, the %d refused ones and the %d forged ones once (refused, never written back)",
			len(after), forgedAfter, want, len(dl)-refusedDL, refusedDL, len(forged))
	}
	if n, some := s.wronglySuspended(risky); n != f.wronglySuspended {
		t.Errorf("the replay suspended %d more users who are not risky: %v", n-f.wronglySuspended, some)
		f.wronglySuspended = n
	}
	for _, fr := range forged {
		outcomes["replay_refused/"+fr.refusal]++
	}
	for _, r := range parkedReasons {
		outcomes["retry_topic_refused/"+r]++
	}
	for _, fp := range parked {
		if st := s.state(fp.user); st != opsim.StateActive {
			t.Errorf("after the replay, forged parked record %s: %s is %s", fp.name, fp.user, st)
		}
	}

	report(t, "hostile", f, "cases=%d legacy_cases=%d adversarial_cases=%d forged_dlq=%d forged_retry=%d good_events=%d outcomes=%s reasons_100k_latency=%s consumer_peak_rss_mib=%d replay=replayed:%d,acted:%d,still_failing:%d,refused:%d suspend_calls=%d consumer_exit=0",
		len(cases), len(legacy), len(cases)-len(legacy), len(forged), len(parked), goodRisky+goodBenign, countsString(outcomes), reasonsLatency.Round(time.Millisecond),
		peakRSS>>20, sum.replayed, sum.acted, sum.stillFailing, refusedN, c.received)
}

// checkHostileCase checks the outcome of one case against the dead-letter
// records by key and the audit records by event id; it reports whether the
// case got its outcome.
func checkHostileCase(t *testing.T, c hostileCase, byKey map[string]kafka.Message, audits map[string][]map[string]any) bool {
	t.Helper()
	ok := true
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s: "+format, append([]any{c.name}, args...)...)
		ok = false
	}
	m, dead := byKey["hostile/"+c.name]
	d, malformed := deadletter.Decode(m.Headers)
	switch want := c.dlqClass(); {
	case want == "" && dead:
		fail("dead-lettered (%s/%s: %s), want no dead letter", d.Class, d.Reason, d.Message)
	case want != "" && !dead:
		fail("not in the DLQ, want %s/%s", want, c.reason)
	case malformed != nil:
		fail("DLQ record: %v", malformed)
	case want != "":
		class, reason, msg := d.Class, d.Reason, d.Message
		if class != want || reason != c.reason {
			fail("class %q reason %q (%s), want %s/%s", class, reason, msg, want, c.reason)
		}
		if c.field != "" && !strings.Contains(msg, c.field) {
			fail("error message %q does not name %s", msg, c.field)
		}
		wantValue := c.value
		if c.dlqValue != nil {
			wantValue = c.dlqValue
		}
		if c.omitted {
			wantValue = nil
			if d.Omitted.Reason != "too_large" || d.Omitted.Size < zstdBomb || !strings.Contains(msg, "cut off while decompressing") {
				fail("value.omitted %q value.size %d message %q, want too_large, at least %d, cut off while decompressing",
					d.Omitted.Reason, d.Omitted.Size, msg, zstdBomb)
			}
		}
		if !bytes.Equal(m.Value, wantValue) {
			fail("DLQ value differs from the original (%d bytes, want %d)", len(m.Value), len(wantValue))
		}
		if got := batchIndex(d); got != c.batchIndex {
			fail("tripline.batch.index %q, want %q", got, c.batchIndex)
		}
	}
	if c.staleEvent != "" {
		recs := audits[c.staleEvent]
		if len(recs) != 1 || recs[0]["result"] != string(remediate.ResultStale) {
			fail("audit records of %s: %v, want one with result stale", c.staleEvent, recs)
		}
	}
	return ok
}

// auditRecords returns the process's audit log lines by event id.
func auditRecords(p *proc) map[string][]map[string]any {
	out := map[string][]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) != nil || rec["msg"] != "audit" {
			continue
		}
		id, _ := rec["event_id"].(string)
		out[id] = append(out[id], rec)
	}
	return out
}

// auditReason is the reason of the first audit record of the event.
func auditReason(audits map[string][]map[string]any, eventID string) string {
	if recs := audits[eventID]; len(recs) > 0 {
		r, _ := recs[0]["reason"].(string)
		return r
	}
	return ""
}

var refusedSummary = regexp.MustCompile(`replayed \d+: acted \d+, still failing \d+, nothing to do \d+, refused (\d+)`)

// refusedCount parses the refused count of the replay's summary.
func refusedCount(t *testing.T, stderr string) int {
	t.Helper()
	m := refusedSummary.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no refused count in the summary of consumer dlq replay:\n%s", lastBytes(stderr, 4096))
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// replayLineFor returns the replay's output line holding marker.
func replayLineFor(out, marker string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, marker) {
			return line
		}
	}
	return ""
}

// vmHWM is the process's peak resident set size in bytes.
func vmHWM(t *testing.T, p *proc) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		t.Logf("peak RSS of %s: %v", p.name, err)
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// countsString prints counts sorted by name: a:1,b:2.
func countsString(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ":" + strconv.Itoa(m[k])
	}
	return strings.Join(parts, ",")
}

// createTopic creates tc and deletes it when the test ends.
func createTopic(t *testing.T, client *kafka.Client, tc kafka.TopicConfig) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := client.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{tc}})
	if err == nil {
		err = res.Errors[tc.Topic]
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", tc.Topic, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{tc.Topic}})
	})
	for {
		md, err := client.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{tc.Topic}})
		if err == nil && len(md.Topics) == 1 && md.Topics[0].Error == nil && len(md.Topics[0].Partitions) == tc.NumPartitions {
			ready := true
			for _, p := range md.Topics[0].Partitions {
				ready = ready && p.Leader.ID >= 0 && p.Leader.Host != ""
			}
			if ready {
				return
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("topic %s has no leader for every partition: %v", tc.Topic, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// batchIndex is a dead-letter record's tripline.batch.index as the cases
// spell it: the item's index from 0, "" for a whole message.
func batchIndex(d deadletter.Record) string {
	if d.BatchItem == 0 {
		return ""
	}
	return strconv.Itoa(d.BatchItem - 1)
}
