package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Sink names: the sink label of the metrics and the sink argument of
// OnFailed.
const (
	SinkSlack     = "slack"
	SinkWebhook   = "webhook"
	SinkPagerDuty = "pagerduty"
)

// sender delivers one notification in one attempt. A failure is a
// *SendError saying whether another attempt may succeed.
type sender interface {
	send(ctx context.Context, n Notification) error
}

// lane is one sink with its queue and its filter.
type lane struct {
	name    string
	sink    sender
	accepts func(Notification) bool
	queue   chan Notification
}

// Notifier fans notifications out to the configured sinks. Notify never
// blocks; one goroutine per sink delivers, in order, with retries. It is
// safe for concurrent use. Close it once, before whatever OnFailed writes
// to (the dead-letter writer) is closed.
type Notifier struct {
	cfg   Config
	log   *slog.Logger
	m     *metrics
	lanes []*lane
	now   func() time.Time

	mu     sync.RWMutex // guards closed against the queues being closed
	closed bool

	abort context.CancelFunc // ends in-flight sends and waits (Close out of time)
	wg    sync.WaitGroup     // the sink goroutines
}

// New checks cfg (after defaults) and starts one goroutine per enabled
// sink. logger (nil: discard) receives drops and retries, meter (nil: no
// metrics) the counters, client (nil: a new one) the HTTP requests; the
// Notifier never follows redirects, so a signed body or a token cannot be
// forwarded elsewhere.
func New(cfg Config, logger *slog.Logger, meter metric.Meter, client *http.Client) (*Notifier, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(meter)
	if err != nil {
		return nil, fmt.Errorf("notify metrics: %w", err)
	}
	hc := &http.Client{}
	if client != nil {
		c := *client
		hc = &c
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	n := &Notifier{cfg: cfg, log: logger, m: m, now: time.Now}
	// Every sink redacts every credential of the Notifier from its errors,
	// in case a receiver echoes one it should not know.
	secrets := cfg.secrets()
	all := func(Notification) bool { return true }
	if cfg.Slack.bot() || cfg.Slack.WebhookURL != "" {
		n.addLane(SinkSlack, newSlackSink(cfg.Slack, hc, secrets), all)
	}
	if cfg.Webhook.URL != "" {
		n.addLane(SinkWebhook, &webhookSink{url: cfg.Webhook.URL, secret: cfg.Webhook.Secret, client: hc, now: n.now, secrets: secrets}, all)
	}
	if cfg.PagerDuty.RoutingKey != "" {
		n.addLane(SinkPagerDuty, &pagerDutySink{url: cfg.PagerDuty.URL, routingKey: cfg.PagerDuty.RoutingKey,
			source: cfg.PagerDuty.Source, client: hc, now: n.now, secrets: secrets}, pagerDutyAccepts)
	}

	ctx, cancel := context.WithCancel(context.Background())
	n.abort = cancel
	for _, l := range n.lanes {
		n.wg.Go(func() { n.run(ctx, l) })
	}
	return n, nil
}

func (n *Notifier) addLane(name string, s sender, accepts func(Notification) bool) {
	n.lanes = append(n.lanes, &lane{name: name, sink: s, accepts: accepts, queue: make(chan Notification, n.cfg.QueueSize)})
}

// Sinks lists the enabled sinks, for the startup log.
func (n *Notifier) Sinks() []string {
	out := make([]string, len(n.lanes))
	for i, l := range n.lanes {
		out[i] = l.name
	}
	return out
}

// EmailRedacted replaces an email address found in a notification's
// reason or event id when Config.IncludeEmail is not set.
const EmailRedacted = "[email]"

// Notify queues nt for every sink that takes it and returns at once; it
// never blocks and never fails. It sets nt's ID, Time (when zero), TraceID
// (from ctx, when empty) and EmailHash; unless IncludeEmail is set it
// clears Email and replaces every email address in Reason and EventID with
// EmailRedacted. A TypeDLQ notification whose class is not in
// Config.DLQClasses is ignored. A sink whose queue is full drops nt: the
// drop is counted (queue_full) and logged. ctx is used for the trace id and
// the log line only; cancelling it does not cancel the delivery.
func (n *Notifier) Notify(ctx context.Context, nt Notification) {
	if !nt.Type.valid() {
		n.dropped(ctx, "all", nt, DropInvalid, fmt.Errorf("notification type %q: want one of action, approval_requested, approval_expired, breaker_open, dlq", nt.Type))
		return
	}
	if nt.Type == TypeDLQ && !n.cfg.needsPerson(nt.Class) {
		return
	}
	nt = n.prepare(ctx, nt)
	n.mu.RLock()
	defer n.mu.RUnlock()
	for _, l := range n.lanes {
		if !l.accepts(nt) {
			continue
		}
		if n.closed {
			n.dropped(ctx, l.name, nt, DropClosed, errors.New("notifier is closed"))
			continue
		}
		select {
		case l.queue <- nt:
		default:
			n.dropped(ctx, l.name, nt, DropQueueFull, fmt.Errorf("%s queue full (%d waiting): the sink is slower than the notifications", l.name, cap(l.queue)))
		}
	}
}

// prepare fills the fields Notify owns and removes what sinks may not see.
func (n *Notifier) prepare(ctx context.Context, nt Notification) Notification {
	nt.ID = newID()
	if nt.Time.IsZero() {
		nt.Time = n.now()
	}
	nt.Time = nt.Time.UTC()
	if nt.TraceID == "" {
		if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
			nt.TraceID = sc.TraceID().String()
		}
	}
	if nt.Email != "" {
		nt.EmailHash = HashEmail(nt.Email, n.cfg.EmailHashKey)
	}
	if !n.cfg.IncludeEmail {
		// A reason template may render the email ("leaked credentials for
		// {{ .user_email }}"): without IncludeEmail no address leaves.
		nt.Email = ""
		nt.Reason = redactEmails(nt.Reason)
		nt.EventID = redactEmails(nt.EventID)
	}
	return nt
}

// newID is a random 128-bit hex id.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// run delivers a sink's notifications in order until its queue is closed
// and empty. Once ctx ends (Close out of time) the rest is dropped.
func (n *Notifier) run(ctx context.Context, l *lane) {
	for nt := range l.queue {
		if err := ctx.Err(); err != nil {
			n.failed(l.name, nt, DropShutdown, 0, fmt.Errorf("%s: not sent before the notifier closed: %w", l.name, err))
			continue
		}
		n.deliver(ctx, l, nt)
	}
}

// deliver sends nt to l's sink, retrying retryable failures with
// exponential backoff (at least the receiver's Retry-After) within
// Config.Retry, and counts the outcome.
func (n *Notifier) deliver(ctx context.Context, l *lane, nt Notification) {
	r := n.cfg.Retry
	bo := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(r.InitialInterval),
		backoff.WithMaxInterval(r.MaxInterval),
		backoff.WithMaxElapsedTime(0), // the budget is checked below, with Retry-After included
	)
	start := n.now()
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
		err := l.sink.send(actx, nt)
		cancel()
		if err == nil {
			n.m.sent.Add(context.Background(), 1, labels("sink", l.name, "type", string(nt.Type)))
			n.log.LogAttrs(context.Background(), slog.LevelDebug, "notification sent", n.attrs(l.name, nt, slog.Int("attempt", attempt))...)
			return
		}
		if cerr := ctx.Err(); cerr != nil {
			n.failed(l.name, nt, DropShutdown, attempt, fmt.Errorf("%s: not sent before the notifier closed: %w", l.name, errors.Join(cerr, err)))
			return
		}
		var se *SendError
		if !errors.As(err, &se) || !se.Retryable() {
			n.failed(l.name, nt, DropRejected, attempt, fmt.Errorf("rejected, not retried: %w", err))
			return
		}
		if attempt >= r.MaxAttempts {
			n.failed(l.name, nt, DropFailed, attempt, fmt.Errorf("failed after %d attempts: %w", attempt, err))
			return
		}
		wait := max(bo.NextBackOff(), se.RetryAfter)
		if elapsed := n.now().Sub(start); elapsed+wait > r.MaxElapsed {
			n.failed(l.name, nt, DropFailed, attempt, fmt.Errorf("failed after %d attempts: next try in %s would pass the retry budget of %s: %w",
				attempt, wait.Round(time.Millisecond), r.MaxElapsed, err))
			return
		}
		n.log.LogAttrs(context.Background(), slog.LevelWarn, "notification attempt failed, retrying", n.attrs(l.name, nt,
			slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.String("error", err.Error()))...)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			n.failed(l.name, nt, DropShutdown, attempt, fmt.Errorf("%s: not sent before the notifier closed: %w", l.name, errors.Join(ctx.Err(), err)))
			return
		case <-t.C:
		}
	}
}

// failed counts and logs a notification a sink gave up on and hands it to
// OnFailed.
func (n *Notifier) failed(sink string, nt Notification, reason string, attempts int, err error) {
	n.dropped(context.Background(), sink, nt, reason, err, slog.Int("attempts", attempts))
	if n.cfg.OnFailed != nil {
		n.cfg.OnFailed(nt, sink, fmt.Errorf("notify %s: %w", sink, err))
	}
}

// dropped counts and logs one notification not delivered to sink.
func (n *Notifier) dropped(ctx context.Context, sink string, nt Notification, reason string, err error, extra ...slog.Attr) {
	n.m.dropped.Add(context.Background(), 1, labels("sink", sink, "reason", reason))
	attrs := n.attrs(sink, nt, append(extra, slog.String("reason", reason), slog.String("error", err.Error()))...)
	n.log.LogAttrs(ctx, slog.LevelWarn, "notification dropped", attrs...)
}

// attrs are the log attributes of a notification: ids, never an email.
func (n *Notifier) attrs(sink string, nt Notification, extra ...slog.Attr) []slog.Attr {
	return append([]slog.Attr{
		slog.String("sink", sink), slog.String("type", string(nt.Type)), slog.String("notification_id", nt.ID),
		slog.String("rule_id", nt.RuleID), slog.String("op_user_id", nt.UserID),
		slog.String("event_id", nt.EventID), slog.String("trace_id", nt.TraceID),
	}, extra...)
}

// Close stops taking notifications (later ones are dropped as closed),
// delivers what the queues hold until ctx ends, then stops the sink
// goroutines: when ctx ends first, in-flight sends and retry waits are
// cancelled and the rest is dropped (shutdown, handed to OnFailed). Close
// returns only once every goroutine of the Notifier has ended, with an
// error when ctx ended first. Calling it again returns nil.
func (n *Notifier) Close(ctx context.Context) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	for _, l := range n.lanes {
		close(l.queue)
	}
	n.mu.Unlock()

	stop := context.AfterFunc(ctx, n.abort)
	n.wg.Wait()
	outOfTime := !stop()
	n.abort()
	if outOfTime {
		return fmt.Errorf("close notifier: queues not drained in time, the rest was dropped: %w", context.Cause(ctx))
	}
	return nil
}
