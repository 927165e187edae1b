package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/tripline-dev/tripline/internal/app"
	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/deadletter"
	"github.com/tripline-dev/tripline/internal/kafkaio"
	"github.com/tripline-dev/tripline/internal/notify"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/pipeline"
	"github.com/tripline-dev/tripline/internal/remediate"
)

//go:embed demoevents/*.json
var demoEvents embed.FS

const demoTopic = "siem.signins"

// demoMessage is one message of the demo stream.
type demoMessage struct {
	sample string // file in demoevents/, "" for a literal value
	person string // replaces dana.reyes in the sample
	name   string // replaces Dana Reyes
	value  []byte // literal value when sample is ""
	ip     string // replaces the sample's source IP address when set
	note   string
	// again, when positive, repeats message again-1 exactly (the same
	// event, delivered twice by the SIEM).
	again int
}

// demoBreaker is the demo's global breaker cap, low enough that the burst
// trips it (the default is 20/10m).
const demoBreaker = "5/10m"

func demoStream() []demoMessage {
	stream := []demoMessage{
		{sample: "okta-session-start-risky.json", person: "dana.reyes", name: "Dana Reyes", note: "Okta: successful sign-in, risk HIGH, anonymizing proxy"},
		{sample: "entra-risky-signin.json", person: "sam.lee", name: "Sam Lee", note: "Entra ID: successful sign-in, risk high, anonymized IP"},
		{sample: "gws-suspicious-login.json", person: "priya.nair", name: "Priya Nair", note: "Google Workspace: suspicious login (blocked)"},
		{sample: "elastic-alert.json", person: "marco.bianchi", name: "Marco Bianchi", note: "Elastic Security alert, severity high"},
		{sample: "onepassword-signinattempt-mfa-failed.json", person: "lena.koch", name: "Lena Koch", note: "1Password: sign-in attempt, MFA failed"},
		{sample: "ecs-auth-failure.json", person: "tom.west", name: "Tom West", note: "ECS: authentication failure"},
		{sample: "ocsf-auth-3002-failure.json", person: "ana.silva", name: "Ana Silva", note: "OCSF 3002: authentication failure"},
		{sample: "okta-session-start-risky.json", person: "olivia.owner", name: "Olivia Owner", note: "Okta: risky sign-in of the account's only owner (the API refuses)"},
		{sample: "okta-session-start-risky.json", person: "ghost", name: "Ghost", note: "Okta: risky sign-in of someone who is not a 1Password user"},
		{value: []byte(`{"eventType": "user.session.start", "actor": {"alternateId": "jo@example.com"`), note: "malformed JSON (truncated)"},
		{sample: "okta-session-start-risky.json", person: "root", name: "Root Admin", note: "Okta: risky sign-in of root@admins.example.com, a protected identity (rules/protected.yaml)"},
		exceptedPerson,
		{again: 1, note: "event 1 again: the SIEM delivered it twice"},
	}
	for i := 1; i <= 6; i++ {
		stream = append(stream, demoMessage{sample: "okta-session-start-risky.json", person: fmt.Sprintf("user%05d", i), name: fmt.Sprintf("User %05d", i),
			note: fmt.Sprintf("burst: risky sign-in %d of 6 from one anonymizing proxy", i)})
	}
	return stream
}

// email is the person's address in the demo account.
func (d demoMessage) email() string {
	if d.person == "root" {
		return "root@admins.example.com"
	}
	return d.person + "@example.com"
}

func (d demoMessage) render(i int) ([]byte, error) {
	if d.sample == "" {
		return d.value, nil
	}
	raw, err := demoEvents.ReadFile("demoevents/" + d.sample)
	if err != nil {
		return nil, err
	}
	swap := []string{"dana.reyes@example.com", d.email(), "dana.reyes", d.person, "Dana Reyes", d.name,
		"5c0e9a8e-a8d2-11f0-9b6d-3b1f6a2c7e10", fmt.Sprintf("5c0e9a8e-a8d2-11f0-9b6d-3b1f6a2c7e%02d", i)}
	if d.ip != "" {
		swap = append(swap, "203.0.113.77", d.ip)
	}
	s := strings.NewReplacer(swap...).Replace(string(raw))
	// The samples were recorded long ago: date them now, or the consumer
	// would take them for stale events (event.max_age) and only shadow them.
	now := time.Now().UTC()
	s = isoTime.ReplaceAllString(s, now.Format("2006-01-02T15:04:05.000Z"))
	s = epochMillis.ReplaceAllString(s, strconv.FormatInt(now.UnixMilli(), 10))
	s = epochMicros.ReplaceAllString(s, strconv.FormatInt(now.UnixMicro(), 10))
	return []byte(s), nil
}

var (
	isoTime     = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})`)
	epochMillis = regexp.MustCompile(`\b17604\d{8}\b`)
	epochMicros = regexp.MustCompile(`\b17604\d{11}\b`)
)

// demoSeed is the simulated 1Password account: the demo's people, the only
// owner (who cannot be suspended), a protected administrator, and
// generated members (user00001@example.com ...).
func demoSeed() opsim.Seed {
	seed := opsim.Seed{Users: []opsim.UserSeed{{Email: "olivia.owner@example.com", DisplayName: "Olivia Owner", Role: "owner"}}}
	for _, d := range append(demoStream(), containedPerson) {
		if d.person != "" && d.person != "olivia.owner" && d.person != "ghost" && !strings.HasPrefix(d.person, "user") {
			seed.Users = append(seed.Users, opsim.UserSeed{Email: d.email(), DisplayName: d.name})
		}
	}
	return seed
}

// Config configures one run of the demo.
type Config struct {
	// RulesDir is the rule directory (the repository's rules/).
	RulesDir string
	// Verbose writes the service's JSON logs to Err.
	Verbose bool
	// Timeout bounds the wait for the stream to be fully processed.
	Timeout time.Duration
	// Out receives the story; Err the logs when Verbose.
	Out, Err io.Writer
}

// Run runs tripline end to end with no configuration and no network (see
// `consumer demo --help`): it returns once every message reached a final
// outcome and the operator's steps ran, or with why not.
func Run(ctx context.Context, c Config) error {
	return runDemo(ctx, c)
}

func runDemo(ctx context.Context, c Config) error {
	if _, err := os.Stat(c.RulesDir); err != nil {
		return fmt.Errorf("rules directory %q not found: run the demo from the repository root or pass --rules DIR", c.RulesDir)
	}
	s := streams{out: c.Out, err: c.Err}
	rulesDir, err := demoRules(c.RulesDir)
	if err != nil {
		return err
	}
	defer os.RemoveAll(rulesDir)
	// One partition, so the stream is handled in order and the summary is
	// the same on every run.
	sb, err := StartSandbox(SandboxConfig{Topics: []string{demoTopic}, Partitions: 1, Seed: demoSeed(), Generate: 20})
	if err != nil {
		return err
	}
	defer sb.Close()
	fmt.Fprintf(s.out, "tripline demo\n  Kafka broker (embedded)  %s\n  Users API simulator      %s  (account %s, %d users)\n  rules                    %s, plus the demo's own rule %s (suspend_for: %s) in a temporary copy\n\n",
		sb.broker.Addr(), sb.simURL, sb.sim.Account(), len(sb.sim.Users()), c.RulesDir, demoRuleID, fmtDuration(demoSuspendFor))
	hook, err := startDemoReceiver()
	if err != nil {
		return err
	}
	defer hook.close()
	logs := io.Discard
	if c.Verbose {
		logs = s.err
	}
	runCtx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	r := &demoRun{s: s, sb: sb, cfg: demoConfig(sb, rulesDir, hook), logs: logs, audit: newAuditLog(), clk: &app.OffsetClock{}}
	if err := r.start(runCtx, cancel); err != nil {
		return err
	}
	stream := demoStream()
	calls, err := r.produceAndTell(ctx, runCtx, stream)
	if serr := r.stop(); err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	hook.print(s.out)
	fmt.Fprintf(s.out, "\nUsers API calls seen by the simulator: %d before the re-arm, %d in all. Logs: rerun with --verbose.\n", calls, len(sb.sim.Requests()))
	return nil
}

// demoConfig is the consumer's configuration in the demo: the sandbox's,
// with a low breaker cap, one decision at a time, notifications to the
// local webhook and a signing key of this run's own.
func demoConfig(sb *Sandbox, rulesDir string, hook *demoReceiver) config.Config {
	cfg := sb.Config("tripline-demo", rulesDir, demoTopic)
	cfg.Breaker.Global = demoBreaker
	// One decision at a time, so the story (which burst users the breaker
	// holds, which duplicate is spared) reads the same on every run; the
	// service runs 64 at once by default (max_in_flight).
	cfg.MaxInFlight = 1
	cfg.Notify.WebhookURL, cfg.Notify.WebhookSecret, cfg.Notify.AllowInsecureLoopback = config.Secret(hook.url), config.Secret(hook.secret), true
	key := make([]byte, 32)
	rand.Read(key)
	cfg.Kafka.DLQSigningKey = config.Secret(hex.EncodeToString(key)) // the replay acts only on records this run signed
	return cfg
}

// demoRun is the running consumer of the demo and what it reports.
type demoRun struct {
	s     streams
	sb    *Sandbox
	cfg   config.Config
	logs  io.Writer
	audit *auditLog
	clk   *app.OffsetClock
	m     *app.Main
	done  chan error
	stop  func() error
}

// start runs the consumer until runCtx ends (cancel ends it).
func (r *demoRun) start(runCtx context.Context, cancel context.CancelFunc) error {
	m, err := app.NewMain(runCtx, r.cfg, app.Options{Log: r.logs, Auditor: r.audit, Now: r.clk.Now, ApprovalTick: 100 * time.Millisecond})
	if err != nil {
		return err
	}
	r.m, r.done = m, make(chan error, 1)
	go func() { r.done <- m.Run(runCtx) }()
	r.stop = func() error {
		cancel()
		err := <-r.done
		m.Close()
		return err
	}
	return nil
}

// produceAndTell plays security (the exception), produces the stream and
// tells what became of it (see tell).
func (r *demoRun) produceAndTell(ctx, runCtx context.Context, stream []demoMessage) (int, error) {
	if err := demoException(runCtx, r.s, r.cfg, r.m, r.logs); err != nil {
		return 0, err
	}
	traceIDs, err := produceDemo(ctx, r.sb, stream, 0, sdktrace.NewTracerProvider())
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(r.s.out, "Produced %d events to %s:\n", len(stream), demoTopic)
	for i, d := range stream {
		fmt.Fprintf(r.s.out, "  %2d. %s\n", i+1, d.note)
	}
	return r.tell(ctx, runCtx, len(stream), traceIDs[0])
}

// tell waits until the n messages reached a final outcome, prints the
// summary, then plays the operator, the approver and the timed
// suspension. It returns the Users API calls made before the operator
// stepped in.
func (r *demoRun) tell(ctx, runCtx context.Context, n int, traceID string) (int, error) {
	if err := waitCommitted(runCtx, r.m, int64(n), r.done); err != nil {
		return 0, err
	}
	readCtx, cancelRead := context.WithTimeout(ctx, 20*time.Second)
	defer cancelRead()
	dlq, err := readDeadLetters(readCtx, r.sb, r.cfg.Kafka.DLQTopic, int(r.m.Stats().DeadLettered))
	if err != nil {
		return 0, fmt.Errorf("read the dead-letter topic: %w", err)
	}
	calls := len(r.sb.sim.Requests())
	printSummary(r.s.out, r.sb, r.audit, dlq, r.m.Stats(), traceID)
	if err := rearmAndReplay(ctx, r.s, r.cfg, r.logs); err != nil {
		return calls, err
	}
	if err := demoApprovals(runCtx, r.s, r.cfg, r.m, r.clk, r.logs); err != nil {
		return calls, err
	}
	return calls, r.containment(runCtx, n)
}

// demoApprovals plays the approver while the consumer runs: list the
// pending actions, approve one as `consumer approvals approve` does, and
// let the clock expire the other.
func demoApprovals(ctx context.Context, s streams, cfg config.Config, m *app.Main, clk *app.OffsetClock, logs io.Writer) error {
	out := &prefixWriter{w: s.out, prefix: "  "}
	pending := m.Ledger().Approvals()
	// By user, so the demo reads the same on every run.
	sort.Slice(pending, func(i, j int) bool { return pending[i].UserEmail < pending[j].UserEmail })
	if len(pending) == 0 {
		return errors.New("the demo expected pending approvals from siem_alert_high")
	}
	fmt.Fprintf(s.out, "\nWaiting for a person (siem_alert_high is in mode approve: nothing is called until someone approves):\n  $ consumer approvals list\n")
	if err := app.PrintApprovals(out, pending, false, false); err != nil {
		return err
	}
	first := pending[0]
	fmt.Fprintf(s.out, "\nAn analyst checks the first alert and approves it; the running consumer carries it out, through the guards again:\n  $ consumer approvals approve %s --by demo-analyst\n", first.ID)
	cli, err := app.OpenLedger(ctx, cfg, logs)
	if err != nil {
		return err
	}
	err = cli.AnswerAndReport(ctx, remediate.Answer{ApprovalID: first.ID, Kind: remediate.AnswerApprove, By: "demo-analyst", Channel: "cli"}, 20*time.Second, out)
	cli.Close()
	if err != nil {
		return err
	}
	if len(pending) < 2 {
		return nil
	}
	second := pending[1]
	fmt.Fprintf(s.out, "\nNobody answers the second request. 31 minutes later (the demo moves its clock) the approval clock expires it:\n")
	clk.Forward(31 * time.Minute)
	waitCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var a remediate.Approval
	if err := m.Ledger().Wait(waitCtx, func() bool {
		a, _ = m.Ledger().Approval(second.ID)
		return a.State == remediate.ApprovalExpired
	}); err != nil {
		return fmt.Errorf("approval %s did not expire: %w", second.ID, err)
	}
	fmt.Fprintf(out, "%s %s: %s of %s by rule %s denied at %s, never carried out (outcome approval_expired)\n",
		a.ID, a.State, a.Action, a.UserEmail, a.RuleID, a.Expires.UTC().Format(time.RFC3339))
	return nil
}

// rearmAndReplay plays the operator after the breaker tripped: re-arm it,
// then replay the decisions it held, as `consumer breaker reset` and
// `consumer dlq replay --execute` do.
func rearmAndReplay(ctx context.Context, s streams, cfg config.Config, logs io.Writer) error {
	out := &prefixWriter{w: s.out, prefix: "  "}
	fmt.Fprintf(s.out, "\nAn operator reviews the burst and re-arms the breaker:\n  $ consumer breaker reset --scope global --by demo-operator --reason \"burst reviewed\"\n")
	m, err := app.OpenLedger(ctx, cfg, logs)
	if err != nil {
		return err
	}
	err = app.ResetBreaker(ctx, m.Ledger(), remediate.ScopeGlobal, "demo-operator", "burst reviewed", out)
	m.Close()
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "\n...then replays the dead-letter topic; the decisions the breaker held act now, within the cap:\n  $ consumer dlq replay --execute\n")
	noEnv := func(string) (string, bool) { return "", false }
	_, err = app.ReplayDLQ(ctx, cfg, app.ReplayOptions{Group: "tripline-dlq-replay", Execute: true, Out: out, Err: out}, app.Options{Log: logs, Lookup: noEnv})
	return err
}

// prefixWriter indents every line written through it.
type prefixWriter struct {
	w      io.Writer
	prefix string
	mid    bool // inside a line
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !p.mid {
			io.WriteString(p.w, p.prefix)
		}
		p.w.Write(line)
		p.mid = line[len(line)-1] != '\n'
	}
	return len(b), nil
}

// produceDemo writes the stream, each message with a traceparent header of
// its own "producer" span, as a SIEM that traces would; first is the
// position of the stream's first message in the demo (its event ids are
// numbered from there).
func produceDemo(ctx context.Context, sb *Sandbox, stream []demoMessage, first int, tp *sdktrace.TracerProvider) ([]string, error) {
	var recs []kafkaio.Record
	var ids []string
	for i, d := range stream {
		if d.again > 0 {
			first := recs[d.again-1]
			recs = append(recs, kafkaio.Record{Key: first.Key, Value: first.Value, Headers: first.Headers})
			ids = append(ids, ids[d.again-1])
			continue
		}
		value, err := d.render(first + i)
		if err != nil {
			return nil, err
		}
		spanCtx, span := tp.Tracer("siem").Start(ctx, "publish "+demoTopic)
		headers := propagation.MapCarrier{}
		propagation.TraceContext{}.Inject(spanCtx, headers)
		span.End()
		ids = append(ids, span.SpanContext().TraceID().String())
		recs = append(recs, kafkaio.Record{Key: []byte(d.person), Value: value, Headers: headers})
	}
	if err := sb.conn.Produce(ctx, demoTopic, recs...); err != nil {
		return nil, fmt.Errorf("produce demo events: %w", err)
	}
	return ids, nil
}

func waitCommitted(ctx context.Context, m *app.Main, n int64, done <-chan error) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for m.Stats().Committed < n {
		select {
		case <-ctx.Done():
			return fmt.Errorf("only %d of %d messages reached a final outcome in time: %w", m.Stats().Committed, n, ctx.Err())
		case err := <-done:
			return fmt.Errorf("consumer stopped early: %v", err)
		case <-t.C:
		}
	}
	return nil
}

// readDeadLetters reads the first n records of the dead-letter topic and
// decodes what each says (deadletter.Record).
func readDeadLetters(ctx context.Context, sb *Sandbox, topic string, n int) ([]deadletter.Record, error) {
	recs, err := sb.conn.ReadN(ctx, topic, "tripline-demo-dlq", n)
	if err != nil {
		return nil, err
	}
	out := make([]deadletter.Record, len(recs))
	for i, rec := range recs {
		if out[i], err = rec.DeadLetter(); err != nil {
			return nil, fmt.Errorf("record %d@%d: %w", rec.Partition, rec.Offset, err)
		}
	}
	return out, nil
}

func printSummary(w io.Writer, sb *Sandbox, audit *auditLog, dlq []deadletter.Record, st pipeline.Stats, traceID string) {
	recs := audit.records()
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Offset < recs[j].Offset })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	section := func(title string, keep func(r remediate.Record) bool, line func(r remediate.Record) string) {
		fmt.Fprintln(w, title)
		for _, r := range recs {
			if keep(r) {
				fmt.Fprintln(tw, "  "+line(r))
			}
		}
		tw.Flush()
	}
	is := func(results ...remediate.Result) func(remediate.Record) bool {
		return func(r remediate.Record) bool {
			return slices.Contains(results, remediate.Result(r.Result)) && r.Mode == "enforce"
		}
	}
	section("\nSuspended in 1Password (enforce-mode rules):", is(remediate.ResultSuspended), func(r remediate.Record) string {
		u, _ := sb.sim.User(r.UserID)
		return fmt.Sprintf("%s\t%s\trule %s\tstate before %s\tnow %s", r.UserEmail, r.UserID, r.RuleID, r.Before, u.State)
	})
	section("\nSpared by the decision service's guards (no Users API call):", is(remediate.ResultBlockedProtected, remediate.ResultExcepted, remediate.ResultDuplicate), func(r remediate.Record) string {
		return fmt.Sprintf("%s\trule %s\t%s\t%s", r.UserEmail, r.RuleID, r.Result, r.Detail)
	})
	section(fmt.Sprintf("\nHeld by the blast-radius breaker (global cap %s in this demo, 20/10m by default): it tripped at the cap and\n"+
		"holds every suspension past it in the dead-letter topic (class breaker_open) until an operator re-arms it:", demoBreaker),
		is(remediate.ResultBreakerOpen), func(r remediate.Record) string {
			return fmt.Sprintf("%s\trule %s\tscope %s", r.UserEmail, r.RuleID, r.Detail)
		})
	section("\nWaiting for approval (mode approve: a person decides, within the rule's approval_timeout):", func(r remediate.Record) bool {
		return r.Result == string(remediate.ResultPendingApproval)
	}, func(r remediate.Record) string {
		return fmt.Sprintf("%s\trule %s\t%s", r.UserEmail, r.RuleID, r.Detail)
	})
	fmt.Fprintln(w, "\nShadow decisions (recorded and counted, never acted on: these rules ship in shadow mode):")
	shadow := map[string][]string{}
	var ruleIDs []string
	for _, r := range recs {
		if r.Mode != "shadow" || r.Result != string(remediate.ResultShadow) {
			continue // a shadow decision a guard refused would not act either
		}
		if _, ok := shadow[r.RuleID]; !ok {
			ruleIDs = append(ruleIDs, r.RuleID)
		}
		if who, _, _ := strings.Cut(r.UserEmail, "@"); !slices.Contains(shadow[r.RuleID], who) {
			shadow[r.RuleID] = append(shadow[r.RuleID], who)
		}
	}
	for _, id := range ruleIDs {
		fmt.Fprintf(tw, "  %s\twould act on %d users: %s\n", id, len(shadow[id]), strings.Join(shadow[id], ", "))
	}
	tw.Flush()
	sort.Slice(dlq, func(i, j int) bool { return dlq[i].Source.Offset < dlq[j].Source.Offset })
	fmt.Fprintf(w, "\nDead-letter topic (%d records, key and value unchanged, reason in headers):\n", len(dlq))
	for _, d := range dlq {
		what := d.Class
		if d.Reason != "" {
			what += "/" + d.Reason
		}
		if d.RuleID != "" {
			what += "  rule " + d.RuleID
		}
		fmt.Fprintf(tw, "  %s[%d]@%d\t%s\t%s\n", d.Source.Topic, d.Source.Partition, d.Source.Offset, what, truncateText(d.Message, 100))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nTraces: each event carried its producer's traceparent; the consumer continued that trace through\n"+
		"  normalize, rules.evaluate, remediate.decide, directory.lookup, the Users API calls and dlq.publish. Trace of event 1: %s\n"+
		"  Exporter: none in the demo (run `consumer run` with OTEL_EXPORTER_OTLP_ENDPOINT set, or `make up` for Jaeger).\n", traceID)
	fmt.Fprintf(w, "\nTotals: %d events consumed, %d decisions, %d users suspended, %d dead-lettered, %d offsets committed.\n",
		st.Consumed, st.Decisions, st.Actions, st.DeadLettered, st.Committed)
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// demoReceiver is a local webhook that receives the demo's notifications
// and checks each one's signature, as a team's receiver would.
type demoReceiver struct {
	url, secret string
	srv         *http.Server
	mu          sync.Mutex
	got         []map[string]any
	bad         int
}

func startDemoReceiver() (*demoReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	key := make([]byte, 16)
	rand.Read(key)
	r := &demoReceiver{url: "http://" + ln.Addr().String() + "/tripline", secret: hex.EncodeToString(key)}
	r.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		var m map[string]any
		r.mu.Lock()
		defer r.mu.Unlock()
		if notify.VerifySignature(req.Header.Get(notify.SignatureHeader), body, []byte(r.secret), time.Now(), 5*time.Minute) != nil || json.Unmarshal(body, &m) != nil {
			r.bad++
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		r.got = append(r.got, m)
	})}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *demoReceiver) close() { r.srv.Close() }

// print lists what the receiver got, by type.
func (r *demoReceiver) print(w io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(w, "\nNotifications a local webhook received (%d, each signature checked; emails left out, the 1Password id and an email hash instead):\n", len(r.got))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, m := range r.got {
		detail := fmt.Sprint(m["result"])
		for _, k := range []string{"class", "scope", "approval_id"} {
			if v, ok := m[k].(string); ok && v != "" {
				detail += "  " + k + " " + v
			}
		}
		field := func(k string) string {
			if v, ok := m[k].(string); ok && v != "" {
				return v
			}
			return "-"
		}
		fmt.Fprintf(tw, "  %s\trule %s\t%s\t%s\n", field("type"), field("rule_id"), field("op_user_id"), detail)
	}
	tw.Flush()
	if r.bad > 0 {
		fmt.Fprintf(w, "  %d refused: bad signature\n", r.bad)
	}
}

// streams are where the demo writes.
type streams struct{ out, err io.Writer }
