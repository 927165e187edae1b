package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"sync"
	"syscall"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"golang.org/x/sync/errgroup"

	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/directory"
	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/identity"
	"github.com/tripline-dev/tripline/internal/kafkaio"
	"github.com/tripline-dev/tripline/internal/ledger"
	"github.com/tripline-dev/tripline/internal/notify"
	"github.com/tripline-dev/tripline/internal/onepassword"
	"github.com/tripline-dev/tripline/internal/pipeline"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/rules"
	"github.com/tripline-dev/tripline/internal/signing"
	"github.com/tripline-dev/tripline/internal/slackapproval"
	"github.com/tripline-dev/tripline/internal/telemetry"
	"github.com/tripline-dev/tripline/internal/version"
)

// Options are the seams of Main for tests and the demo.
type Options struct {
	// Log receives the JSON logs (default stderr).
	Log io.Writer
	// Lookup reads environment variables for telemetry (default os.LookupEnv).
	Lookup func(string) (string, bool)
	// SpanProcessor is added to the tracer provider (tests: a recorder).
	SpanProcessor sdktrace.SpanProcessor
	// Auditor, when set, also receives every audit record (the demo's summary).
	Auditor remediate.Auditor
	// Now is the decision service's and the approval clock's time
	// (default time.Now; the demo moves it forward to show an expiry).
	Now func() time.Time
	// ApprovalTick is how often the approval clock looks for reminders
	// and expiries (default 5s).
	ApprovalTick time.Duration
}

// Main is the running service: every component wired from the configuration.
type Main struct {
	cfg      config.Config
	log      *slog.Logger
	tel      *telemetry.Telemetry
	conn     *kafkaio.Connection
	clientID string
	group    *kafkaio.GroupSource
	dlq      *kafkaio.TopicWriter
	retry    *kafkaio.TopicWriter // the retry topic's, when parking is on
	answers  *kafkaio.TopicWriter // the approvals topic's, when approvals are on
	audit    *kafkaio.TopicWriter
	// notices subscribe to the decision service's notices (notifications,
	// Slack approval messages).
	notices []func(ctx context.Context, n remediate.Notice)
	slack   *slackapproval.Approvals // nil without slack.approval_channel
	// notifier sends notifications (nil without any sink).
	notifier *notify.Notifier
	// now and approvalTick: see Options.
	now          func() time.Time
	approvalTick time.Duration
	op           *onepassword.Client
	dir          *directory.Directory
	rules        *rules.Watcher
	table        *ledger.Table
	ledger       *remediate.Ledger
	// keys sign and verify tripline's own records (set by loadLedger).
	keys     *signing.Keyring
	decider  *remediate.Service
	consumer *pipeline.Consumer

	readyMu    sync.Mutex
	readyAt    time.Time
	readyError error
	readyNotes []string
}

// NewMain checks the configuration against the outside world (rules compile
// and pass their tests, the source topics exist, the DLQ and audit topics
// exist or can be created, the state topic is compacted) and wires every
// component; it reads the action ledger in full before the consumer joins
// its group. It fails with every problem it can name rather than starting
// half-configured.
func NewMain(ctx context.Context, cfg config.Config, opts Options) (_ *Main, err error) {
	if opts.Log == nil {
		opts.Log = os.Stderr
	}
	if opts.Lookup == nil {
		opts.Lookup = os.LookupEnv
	}
	m := &Main{cfg: cfg, now: opts.Now, approvalTick: opts.ApprovalTick}
	if m.now == nil {
		m.now = time.Now
	}
	if m.approvalTick <= 0 {
		m.approvalTick = remediate.DefaultApprovalTick
	}
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	dec, formats, err := m.newCore(ctx, "tripline", opts)
	if err != nil {
		return nil, err
	}
	if err := m.newKafka(ctx); err != nil {
		return nil, err
	}
	if err := m.loadLedger(ctx); err != nil {
		return nil, err
	}
	m.warnAtStart()
	if err := m.newSlack(); err != nil {
		return nil, err
	}
	if err := m.newNotifier(); err != nil {
		return nil, err
	}
	if m.decider, err = m.newDecider(m.auditor(opts.Auditor), cfg.DryRun); err != nil {
		return nil, err
	}
	if m.consumer, err = m.newConsumer(dec, formats); err != nil {
		return nil, err
	}
	if err := m.observeComponents(); err != nil {
		return nil, err
	}
	return m, nil
}

// warnAtStart logs what the configuration leaves unprotected: no signing
// key, the global breaker off, a weak key, approve rules without approvals.
func (m *Main) warnAtStart() {
	if m.cfg.Kafka.DLQSigningKey == "" {
		m.log.Warn("no dead-letter signing key (TRIPLINE_DLQ_SIGNING_KEY): dead-letter records are unsigned, dlq replay refuses them unless --accept-unsigned, " +
			"and decisions that fail while the Users API is down are dead-lettered at once instead of parked on the retry topic and re-driven")
	}
	for _, w := range m.cfg.Warnings() {
		m.log.Warn(w)
	}
	if m.approvals() {
		return
	}
	for _, r := range m.rules.Current().Rules() {
		switch {
		case !r.Enabled:
		case r.Mode == remediate.ModeApprove:
			m.log.Warn("rule in mode approve, but approvals are off (they need the signing key and kafka.approvals_topic): it acts as shadow", "rule_id", r.ID)
		case len(r.SuspendFor) > 0 && r.Acts():
			m.log.Warn("rule with suspend_for, but the end of a timed suspension travels on the approvals topic, signed (it needs the signing key and "+
				"kafka.approvals_topic): its suspensions stay until a person reactivates the user", "rule_id", r.ID)
		}
	}
}

// observeComponents exports the state of the rules watcher, the user
// directory and the Users API token as metrics: a rejected reload, a
// protected-identities list that shrinks, an empty directory or a refused
// token request is worth an alert.
func (m *Main) observeComponents() error {
	meter := m.tel.Meter("tripline")
	return errors.Join(m.rules.RegisterMetrics(meter), m.dir.RegisterMetrics(meter), m.op.RegisterMetrics(meter))
}

// newCore sets up what every command that runs the pipeline needs: the
// logger (logging the effective configuration, secrets redacted), telemetry,
// the decoder, the rules watcher (rules must compile and pass their tests)
// and the Users API client with its directory.
func (m *Main) newCore(ctx context.Context, service string, opts Options) (*event.Decoder, map[string]event.Format, error) {
	var err error
	if m.log, err = telemetry.NewLogger(opts.Log, m.cfg.Log.Level, m.cfg.Log.Format); err != nil {
		return nil, nil, err
	}
	m.log.Info("starting "+service, "version", version.Version, "config", m.cfg)
	if m.tel, err = telemetry.Setup(ctx, telemetry.Config{ServiceName: service, Version: version.Version, Lookup: opts.Lookup, SpanProcessor: opts.SpanProcessor}); err != nil {
		return nil, nil, err
	}
	dec, formats, err := newDecoder(m.cfg)
	if err != nil {
		return nil, nil, err
	}
	if m.rules, err = rules.NewWatcher(m.cfg.Rules.Dir, m.log, rules.WatcherConfig{
		Decode: func(raw []byte) ([]event.Event, error) { return dec.Decode(raw, event.FormatAuto) },
	}); err != nil {
		return nil, nil, fmt.Errorf("rules in %s: %w", m.cfg.Rules.Dir, err)
	}
	if err := m.newUsersAPI(ctx); err != nil {
		return nil, nil, err
	}
	return dec, formats, nil
}

// newConsumer wires the consumer's pipeline: the group's topics (the
// sources, and the retry and approvals topics when parking and approvals
// are on: see parking and approvals, which decide it), dead-letters to the
// DLQ topic, each notified when notifications are on.
func (m *Main) newConsumer(dec *event.Decoder, formats map[string]event.Format) (*pipeline.Consumer, error) {
	var cfg pipeline.Config
	deps := pipeline.Deps{Source: m.group, DeadLetters: m.dlq}
	if m.parking() {
		r := m.cfg.Retry
		cfg.Retry = pipeline.Parking{Topic: m.cfg.Kafka.RetryTopic, Max: r.ParkMax, Initial: r.ParkInitial, IntervalMax: r.ParkIntervalMax}
		deps.Parked = m.retry
	}
	if m.approvals() {
		cfg.AnswersTopic = m.cfg.Kafka.ApprovalsTopic
	}
	if m.notifier != nil {
		deps.OnDeadLetter = m.notifier.DeadLetter
	}
	return m.newPipeline(dec, formats, cfg, deps)
}

// newPipeline builds a pipeline from what is particular to it (the
// consumer's: newConsumer; the DLQ replay's: replay.go), completed with what
// every pipeline of the service shares: the formats, batching, buffers and
// limits, the event-time checks, the signing keys, and the decoder, rules,
// decision service and telemetry.
func (m *Main) newPipeline(dec *event.Decoder, formats map[string]event.Format, cfg pipeline.Config, deps pipeline.Deps) (*pipeline.Consumer, error) {
	metrics, err := pipeline.NewMetrics(m.tel.Meter("tripline"))
	if err != nil {
		return nil, err
	}
	c := m.cfg
	cfg.Formats, cfg.Keys = formats, m.keys
	cfg.CommitInterval, cfg.CommitBatch = c.Kafka.CommitInterval, c.Kafka.CommitBatch
	cfg.PartitionBuffer, cfg.BufferBytes = c.Kafka.PartitionBuffer, int64(c.Kafka.BufferBytes)
	cfg.ShutdownGrace, cfg.MaxInFlight, cfg.FetchRetry = c.ShutdownGrace, c.MaxInFlight, c.Kafka.FetchRetry
	cfg.MaxEventAge, cfg.MaxClockSkew = c.Event.MaxAge, c.Event.MaxClockSkew
	deps.Decoder, deps.Rules, deps.Decider = dec, m.rules, m.decider
	deps.Logger, deps.Tracer, deps.Propagator, deps.Metrics = m.log, m.tel.Tracer("tripline"), m.tel.Propagator(), metrics
	return pipeline.New(cfg, deps)
}

// newDecider builds the decision service over the directory, the Users API
// client and the ledger, with the protected identities of the current rule
// set; dryRun resolves users and runs the guards but never acts.
func (m *Main) newDecider(auditor remediate.Auditor, dryRun bool) (*remediate.Service, error) {
	cfg := m.cfg
	count, window, err := cfg.BreakerGlobal()
	if err != nil {
		return nil, err
	}
	return remediate.New(remediate.Config{
		DryRun:    dryRun,
		Breaker:   remediate.Limit{Count: count, Window: window},
		Instance:  m.clientID,
		Approvals: m.approvals(),
		Retry: remediate.RetryPolicy{
			InitialInterval: cfg.Retry.InitialInterval, MaxInterval: cfg.Retry.MaxInterval,
			MaxElapsed: cfg.Retry.MaxElapsed, MaxAttempts: cfg.Retry.MaxAttempts,
		},
	}, remediate.Deps{
		Directory: m.dir, API: m.op, Ledger: m.ledger,
		Protected: func() *identity.Protected { return m.rules.Current().Protected() },
		Auditor:   auditor, Logger: m.log, Tracer: m.tel.Tracer("tripline"), Meter: m.tel.Meter("tripline"),
		Notify: m.publish, Now: m.now,
	})
}

// auditor is where audit records go: the log, the audit topic when one is
// configured, and extra (the demo's and the replay's bookkeeping).
func (m *Main) auditor(extra remediate.Auditor) remediate.Auditor {
	var a remediate.Auditor = remediate.LogAuditor{Logger: m.log}
	if m.audit != nil {
		a = remediate.TopicAuditor{Log: remediate.LogAuditor{Logger: m.log}, Write: m.audit.Write}
	}
	if extra != nil {
		a = remediate.Auditors{a, extra}
	}
	return a
}

// loadMemoryLimit is the soft memory limit while the state topic loads
// (100,000 user records peak at about 140 MiB of RSS under it, 150 to 160
// without): past it, the collector runs more often, never with more than
// half of the CPU, so a larger ledger loads more slowly rather than fails.
const loadMemoryLimit = 120 << 20

// loadLedger opens the state topic (creating it compacted when allowed,
// refusing it when it is not compacted) and reads it in full.
func (m *Main) loadLedger(ctx context.Context) error {
	k := m.cfg.Kafka
	var err error
	if m.keys, err = k.SigningKeys(); err != nil {
		return err
	}
	now := m.now
	if now == nil {
		now = time.Now
	}
	m.ledger = remediate.NewLedger(nil, remediate.LedgerConfig{
		Instance: m.clientID, Keys: m.keys, MaxClockSkew: m.cfg.Event.MaxClockSkew, Now: now, Logger: m.log,
		Retention: m.cfg.Ledger.Retention,
	})
	m.table, err = ledger.New(ledger.Config{
		Brokers: m.conn.Brokers, Transport: m.conn.Transport, Topic: k.StateTopic,
		Create: k.CreateTopics, Partitions: 1, Replication: k.TopicReplication, MinInsyncReplicas: k.TopicMinInsyncReplicas, Logger: m.log,
	}, m.ledger.Apply)
	if err != nil {
		return fmt.Errorf("state topic: %w", err)
	}
	m.ledger.SetStore(m.table)
	loadCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	// The load builds the whole ledger at once (about 600 bytes per user
	// record): a soft memory limit while it runs makes the collector work
	// harder only when the heap nears it, which keeps the process's peak
	// memory closer to what the ledger keeps. A limit set with GOMEMLIMIT
	// is left alone.
	if prev := debug.SetMemoryLimit(-1); prev == math.MaxInt64 {
		debug.SetMemoryLimit(loadMemoryLimit)
		defer debug.SetMemoryLimit(prev)
	}
	start := time.Now()
	if err := m.table.Load(loadCtx); err != nil {
		return fmt.Errorf("state topic %s (kafka.state_topic, TRIPLINE_KAFKA_STATE_TOPIC): %w", k.StateTopic, err)
	}
	m.log.Info("action ledger loaded", "topic", k.StateTopic, "users", m.ledger.Users(), "open_breakers", m.ledger.OpenScopes(),
		"refused_records", m.ledger.RefusedCounts(), "signed_under_previous_key", m.ledger.UnderPreviousKey(),
		"took", time.Since(start).Round(time.Millisecond).String())
	if !m.ledger.Authenticated() {
		m.log.Warn("the state topic is not authenticated: without a signing key (TRIPLINE_DLQ_SIGNING_KEY) its records are neither signed nor checked, "+
			"so whoever can write to it can re-arm breakers, lift cooldowns and approve actions", "topic", k.StateTopic)
	}
	return nil
}

func newDecoder(cfg config.Config) (*event.Decoder, map[string]event.Format, error) {
	dec, err := event.NewDecoder(event.Config{MaxBytes: cfg.Event.MaxBytes, MaxDepth: cfg.Event.MaxDepth})
	if err != nil {
		return nil, nil, fmt.Errorf("event decoder: %w", err)
	}
	formats := map[string]event.Format{}
	var errs []error
	for _, t := range cfg.TopicSpecs() {
		if t.Format == "" {
			continue
		}
		f, err := event.ParseFormat(t.Format)
		if err != nil {
			errs = append(errs, fmt.Errorf("kafka.topics (TRIPLINE_KAFKA_TOPICS) %s=%s: %w", t.Name, t.Format, err))
		}
		formats[t.Name] = f
	}
	return dec, formats, errors.Join(errs...)
}

func (m *Main) newUsersAPI(ctx context.Context) error {
	o := m.cfg.OnePassword
	transport := otelhttp.NewTransport(http.DefaultTransport,
		otelhttp.WithTracerProvider(m.tel.TracerProvider()), otelhttp.WithPropagators(m.tel.Propagator()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "HTTP " + r.Method }))
	var err error
	m.op, err = onepassword.New(ctx, onepassword.Config{
		BaseURL: o.BaseURL, Region: o.Region, APIVersion: o.APIVersion, AccountID: o.AccountID,
		ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		AllowInsecureLoopback: o.AllowInsecureLoopback, Timeout: o.Timeout,
	}, onepassword.WithTransport(transport))
	if err != nil {
		return fmt.Errorf("users api: %w", err)
	}
	m.dir, err = directory.New(directory.Config{
		RefreshInterval:        m.cfg.Directory.RefreshInterval,
		MinMissRefreshInterval: m.cfg.Directory.MinMissRefreshInterval,
	}, m.op, directory.WithLogger(m.log))
	if err != nil {
		return fmt.Errorf("user directory: %w", err)
	}
	return nil
}

func (m *Main) newKafka(ctx context.Context) error {
	k := m.cfg.Kafka
	host, _ := os.Hostname()
	m.clientID = fmt.Sprintf("%s-%s-%d", k.ClientID, host, os.Getpid())
	k.ClientID = m.clientID
	var err error
	if m.conn, err = kafkaio.NewConnection(kafkaConfig(k)); err != nil {
		return err
	}
	kafkaio.BoundDecompression(k.MaxBytes)
	var sources []string
	for _, t := range m.cfg.TopicSpecs() {
		sources = append(sources, t.Name)
	}
	owned := []string{k.DLQTopic}
	if k.AuditTopic != "" {
		owned = append(owned, k.AuditTopic)
	}
	subscribed := slices.Clone(sources)
	if m.parking() {
		// The group reads back what it parked.
		owned = append(owned, k.RetryTopic)
		subscribed = append(subscribed, k.RetryTopic)
	}
	if m.approvals() {
		owned = append(owned, k.ApprovalsTopic)
		subscribed = append(subscribed, k.ApprovalsTopic)
	}
	checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := m.conn.EnsureTopics(checkCtx, topicPlan(k, sources, owned)); err != nil {
		return err
	}
	if m.group, err = m.conn.NewGroupSource(kafkaio.GroupConfig{
		GroupID: k.GroupID, Topics: subscribed, MaxBytes: k.MaxBytes, MaxWait: k.MaxWait,
		SessionTimeout: k.SessionTimeout, StartFromEarliest: k.StartFromEarliest, Logger: m.log,
	}); err != nil {
		return err
	}
	m.dlq = m.conn.NewTopicWriter(k.DLQTopic, k.MaxBytes)
	if m.parking() {
		m.retry = m.conn.NewTopicWriter(k.RetryTopic, k.MaxBytes)
	}
	if m.approvals() {
		m.answers = m.conn.NewTopicWriter(k.ApprovalsTopic, k.MaxBytes)
	}
	if k.AuditTopic != "" {
		m.audit = m.conn.NewTopicWriter(k.AuditTopic, k.MaxBytes)
	}
	return nil
}

// approvals reports whether approve rules can ask for approval: answers
// travel on the approvals topic, signed with the signing key. It is the
// one place that decides: the topics, the group's subscription, the
// decision service and the pipeline (newConsumer) follow it.
func (m *Main) approvals() bool {
	return m.cfg.Kafka.ApprovalsTopic != "" && m.cfg.Kafka.DLQSigningKey != ""
}

// parking reports whether retryable failures are parked on the retry
// topic: it needs the topic and the signing key, which tells tripline's
// parked records from anyone else's. It is the one place that decides: the
// topics, the group's subscription, the retry writer and the pipeline
// (newConsumer) follow it.
func (m *Main) parking() bool {
	return m.cfg.Kafka.RetryTopic != "" && m.cfg.Kafka.DLQSigningKey != ""
}

// kafkaConfig is the connection part of the kafka configuration section.
func kafkaConfig(k config.Kafka) kafkaio.Config {
	return kafkaio.Config{
		Brokers:  k.Brokers,
		ClientID: k.ClientID,
		TLS: kafkaio.TLS{
			Enabled: k.TLS.Enabled, CAFile: k.TLS.CAFile, CertFile: k.TLS.CertFile, KeyFile: k.TLS.KeyFile,
			ServerName: k.TLS.ServerName, InsecureSkipVerify: k.TLS.InsecureSkipVerify,
		},
		SASL: kafkaio.SASL{Mechanism: k.SASL.Mechanism, Username: k.SASL.Username, Password: k.SASL.Password},
	}
}

// topicPlan says which topics must exist (sources) and which tripline owns.
func topicPlan(k config.Kafka, sources, owned []string) kafkaio.TopicPlan {
	return kafkaio.TopicPlan{
		Sources: sources, Owned: owned, Create: k.CreateTopics, Partitions: k.TopicPartitions, Replication: k.TopicReplication,
		MaxMessageBytes: k.MaxBytes, MinInsyncReplicas: k.TopicMinInsyncReplicas,
	}
}

// preflight lists the 1Password users and checks the permissions and
// Slack before anything consumes: a setting that cannot work fails here,
// with what to fix.
func (m *Main) preflight(ctx context.Context) error {
	if err := m.dir.Refresh(ctx); err != nil {
		if !isRetryable(err) {
			return fmt.Errorf("list 1Password users (check onepassword.* settings and the OAuth app's permissions): %w", err)
		}
		m.log.Warn("cannot list 1Password users yet; will retry", "error", err)
	} else if err := m.checkReadPermissions(ctx); err != nil {
		return err
	}
	if m.slack != nil {
		if err := m.slack.Check(ctx); err != nil {
			return fmt.Errorf("slack (slack.* settings): %w", err)
		}
	}
	return nil
}

// Run runs the consumer, the directory refresh, the rules watcher, SIGHUP
// reloads and the HTTP server until ctx is done or one of them fails.
func (m *Main) Run(ctx context.Context) error {
	m.log.Info(m.permissionsLine())
	if err := m.preflight(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting: a clean stop, not a failure
		}
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return ignoreCanceled(m.table.Run(gctx)) })
	g.Go(func() error { return m.ledger.Run(gctx) })
	g.Go(func() error { return m.ledger.RunRetention(gctx, remediate.DefaultRetentionEvery) })
	g.Go(func() error {
		err := m.consumer.Run(gctx)
		if err == nil {
			err = ctx.Err() // a clean stop ends the others too
		}
		return err
	})
	g.Go(func() error { return ignoreCanceled(m.dir.Run(gctx)) })
	if m.answers != nil {
		g.Go(func() error { return m.decider.RunApprovalClock(gctx, m, m.approvalTick) })
	}
	if m.slack != nil {
		g.Go(func() error { return m.slack.Run(gctx) })
	}
	if m.slack != nil && m.slack.Handler() != nil {
		mux := http.NewServeMux()
		mux.Handle("/slack/interactivity", m.slack.Handler())
		g.Go(func() error {
			return m.serve(gctx, "approval_addr", m.cfg.ApprovalAddr, mux, "serving slack interactivity callbacks on /slack/interactivity")
		})
	}
	if m.cfg.Rules.Watch {
		g.Go(func() error { return ignoreCanceled(m.rules.Run(gctx)) })
	}
	g.Go(func() error { return m.reloadOnHangup(gctx) })
	if m.cfg.HTTPAddr != "" {
		g.Go(func() error { return m.serveHTTP(gctx) })
	}
	err := g.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		err = nil
	}
	st := m.consumer.Stats()
	m.log.Info("tripline stopped", "consumed", st.Consumed, "decisions", st.Decisions, "actions", st.Actions,
		"dead_lettered", st.DeadLettered, "committed", st.Committed, "error", errText(err))
	return err
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (m *Main) reloadOnHangup(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			m.rules.Reload() // logs and counts its outcome itself
		}
	}
}

// Stats returns the consumer's running totals.
func (m *Main) Stats() pipeline.Stats { return m.consumer.Stats() }

// Close releases the Kafka clients, revokes the Users API token (see
// RevokeToken) and flushes telemetry. Call it after Run returned.
func (m *Main) Close() error {
	var errs []error
	if m.group != nil {
		errs = append(errs, m.group.Close())
	}
	if m.notifier != nil {
		// Drain what is queued; what cannot be sent is dead-lettered.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errs = append(errs, m.notifier.Close(ctx))
		cancel()
	}
	for _, w := range []*kafkaio.TopicWriter{m.dlq, m.retry, m.answers, m.audit} {
		if w != nil {
			errs = append(errs, w.Close())
		}
	}
	if m.conn != nil {
		m.conn.Close()
	}
	m.RevokeToken()
	if m.tel != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		errs = append(errs, m.tel.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// revokeTimeout bounds the token revocation on shutdown.
const revokeTimeout = 5 * time.Second

// RevokeToken revokes the Users API access token, when one was obtained,
// so that it is useless once this process is gone. A failure is logged and
// counted, never returned: the token still expires on its own (900 s).
func (m *Main) RevokeToken() {
	if m.op == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), revokeTimeout)
	defer cancel()
	hadToken, err := m.op.Revoke(ctx)
	switch {
	case !hadToken:
	case err != nil:
		m.log.Warn("cannot revoke the Users API token; it stays valid until it expires", "error", err)
	default:
		m.log.Info("Users API token revoked")
	}
}

func isRetryable(err error) bool {
	var r interface{ Retryable() bool }
	return errors.As(err, &r) && r.Retryable()
}

func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// publish hands a decision-service notice to every subscriber.
func (m *Main) publish(ctx context.Context, n remediate.Notice) {
	for _, f := range m.notices {
		f(ctx, n)
	}
}
