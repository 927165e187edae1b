package remediate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/tripline-dev/tripline/internal/identity"
)

// DefaultBreaker is the global cap on suspensions: 20 per 10 minutes.
var DefaultBreaker = Limit{Count: 20, Window: 10 * time.Minute}

// Config configures a Service.
type Config struct {
	// DryRun resolves users and runs the guards but never calls suspend,
	// reactivate or get, and writes nothing to the ledger.
	DryRun bool
	// Breaker is the global cap on suspensions per sliding window; the
	// zero Limit turns the global breaker off.
	Breaker Limit
	Retry   RetryPolicy
	// Instance names this process in ledger and audit records.
	Instance string
	// Approvals turns approve rules on: their decisions become pending
	// approvals. Off, such a decision ends as shadow.
	Approvals bool
}

// Deps are the collaborators of a Service. Directory, API and Ledger are
// required; the others have defaults.
type Deps struct {
	Directory Directory
	API       API
	Ledger    *Ledger
	// Protected returns the current protected identities (hot-reloaded);
	// nil protects nobody.
	Protected func() *identity.Protected
	// Auditor receives every outcome (default: a LogAuditor on Logger).
	Auditor Auditor
	Logger  *slog.Logger
	Tracer  trace.Tracer
	Meter   metric.Meter
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Notify receives the notices of actions, breaker trips and
	// approvals (nil: none). It must not block: the decision waits.
	Notify func(ctx context.Context, n Notice)
}

// Service is the decision service. It is safe for concurrent use.
type Service struct {
	cfg     Config
	dir     Directory
	api     API
	ledger  *Ledger
	auditor Auditor
	log     *slog.Logger
	tracer  trace.Tracer
	metrics *metrics
	now     func() time.Time
	locks   userLocks
	grants  sync.Mutex // one breaker hold taken at a time
	decide  handler
	notice  func(ctx context.Context, n Notice)
}

// New returns a Service.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg.Retry.setDefaults()
	var errs []error
	if deps.Directory == nil || deps.API == nil || deps.Ledger == nil {
		errs = append(errs, errors.New("directory, api and ledger are required"))
	}
	if cfg.Breaker.Count < 0 || (cfg.Breaker.Count > 0 && (cfg.Breaker.Window <= 0 || cfg.Breaker.Window > MaxBreakerWindow)) {
		errs = append(errs, fmt.Errorf("breaker %d/%s: want a positive count and a window of at most %s", cfg.Breaker.Count, cfg.Breaker.Window, MaxBreakerWindow))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new decision service: %w", err)
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Tracer == nil {
		deps.Tracer = noop.NewTracerProvider().Tracer("tripline")
	}
	if deps.Auditor == nil {
		deps.Auditor = LogAuditor{Logger: deps.Logger}
	}
	if deps.Protected == nil {
		deps.Protected = func() *identity.Protected { return nil }
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	s := &Service{
		cfg: cfg, dir: deps.Directory, api: deps.API, ledger: deps.Ledger, auditor: deps.Auditor,
		log: deps.Logger, tracer: deps.Tracer, now: deps.Now, notice: deps.Notify,
	}
	var err error
	if s.metrics, err = newMetrics(deps.Meter, s); err != nil {
		return nil, err
	}
	mws := []middleware{
		s.resolve, protectedGuard(deps.Protected), s.exceptionGuard, s.serialize, s.refusedGuard, s.duplicateGuard,
		s.provenanceGuard, shadowStop, s.containmentGuard, s.breaker, s.approvalStop,
	}
	if cfg.DryRun {
		mws = append(mws, dryRunStop)
	}
	mws = append(mws, s.before, s.graceGuard)
	s.decide = chain(s.act, mws...)
	return s, nil
}

// Decide carries one decision to its final outcome and audits it. It
// returns:
//   - nil: a final outcome (acted, or refused by a guard, shadow, dry run);
//   - a *Failure: dead-letter the decision with Failure.Class (the outcome
//     is failed or breaker_open, and is audited);
//   - ErrInterrupted: shutdown came first; decide again after redelivery;
//   - any other error: a ledger or audit write failed; stop without
//     committing (the outcome, if any, is in the returned Outcome).
func (s *Service) Decide(ctx context.Context, d Decision) (Outcome, error) {
	ctx, span := s.tracer.Start(ctx, "remediate.decide", trace.WithAttributes(
		attribute.String("tripline.rule_id", d.RuleID), attribute.String("tripline.event_id", d.EventID),
		attribute.String("tripline.mode", string(d.Mode)), attribute.String("tripline.action", string(d.Action))))
	defer span.End()
	return s.run(ctx, &call{d: d, now: s.now(), out: Outcome{Decision: d}})
}

// run carries a call through the chain, audits its outcome and notifies
// an action.
func (s *Service) run(ctx context.Context, c *call) (Outcome, error) {
	span := trace.SpanFromContext(ctx)
	d := c.d
	var err error
	if d.Action != ActionSuspend && d.Action != ActionReactivate {
		err = &Failure{Class: ClassInvalid, Err: fmt.Errorf("decide: unknown action %q", d.Action)}
	} else {
		err = s.decide(ctx, c)
	}
	if isInterrupted(err) {
		span.SetStatus(codes.Error, "interrupted")
		return c.out, err
	}
	var f *Failure
	if errors.As(err, &f) && c.out.Result == "" {
		c.out.Result = ResultFailed
	}
	span.SetAttributes(attribute.String("tripline.result", string(c.out.Result)))
	if c.out.User.ID != "" {
		span.SetAttributes(attribute.String("tripline.op_user_id", c.out.User.ID))
	}
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	if c.out.Result == ResultReactivated && c.out.Detail == "" {
		c.out.Detail = c.endDetail
	}
	s.timeToAction(ctx, c)
	if c.out.Result != "" {
		s.metrics.decisions.Add(ctx, 1, attrs("rule", d.RuleID, "mode", string(d.Mode), "action", string(d.Action), "outcome", string(c.out.Result)))
		if aerr := s.auditor.Audit(ctx, s.newRecord(c.out, f, c.approval, traceID(ctx))); aerr != nil {
			return c.out, fmt.Errorf("audit outcome of event %s: %w", d.EventID, aerr)
		}
	}
	if c.out.Result == ResultSuspended || c.out.Result == ResultReactivated {
		out := c.out
		s.notify(ctx, Notice{Type: NoticeAction, Outcome: &out, Approval: c.approval})
	}
	return c.out, err
}

// notify hands a notice to Deps.Notify, stamped with the time and trace.
func (s *Service) notify(ctx context.Context, n Notice) {
	if s.notice == nil {
		return
	}
	n.Time, n.TraceID = s.now(), traceID(ctx)
	s.notice(ctx, n)
}

// onRetry logs and counts one retry of op.
func (s *Service) onRetry(ctx context.Context, c *call, op string) func(error, time.Duration) {
	return func(err error, wait time.Duration) {
		s.metrics.retries.Add(ctx, 1, attrs("action", op))
		s.log.WarnContext(ctx, "retrying a transient Users API failure", "op", op, "rule_id", c.d.RuleID,
			"event_id", c.d.EventID, "wait", wait.String(), "error", err.Error())
	}
}

func spanAttrs(c *call) []trace.SpanStartOption {
	return []trace.SpanStartOption{trace.WithAttributes(attribute.String("tripline.rule_id", c.d.RuleID),
		attribute.String("tripline.event_id", c.d.EventID), attribute.String("tripline.op_user_id", c.out.User.ID))}
}

func traceID(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		return sc.TraceID().String()
	}
	return ""
}
