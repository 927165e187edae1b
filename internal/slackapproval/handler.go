package slackapproval

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tripline-dev/tripline/internal/secret"
)

// Decider records answers to pending actions and to timed suspensions.
// The pending-action store implements it.
//
// The Handler calls Decide once per verified click of an approver, from the
// HTTP request's goroutine; calls for the same id may run concurrently (two
// approvers clicking at once). id is the pending action id from the
// button, approve is true for Approve, by is the clicker's Slack user id,
// channel is ChannelSlack and reason is empty (buttons carry none). ctx ends
// after HandlerConfig.Timeout; it is not cancelled when Slack hangs up.
//
// Decide must be atomic per id: the first answer recorded wins and is
// final. It returns nil only when this call recorded the answer, and
// otherwise:
//   - ErrAlreadyDecided, or better an *AlreadyDecidedError carrying the
//     winning Outcome: an earlier answer won; nothing changed;
//   - ErrExpired: the action expired before this answer; it was denied,
//     is never executed, and nothing changed;
//   - ErrUnknown: no pending action has this id; nothing changed;
//   - any other error: the answer was not recorded (the clicker is asked
//     to try again). Such an error must not contain secrets: it is logged.
//
// The Handler calls DecideContainment the same way, once per verified
// Keep or Lift click of an approver on the message of a timed suspension
// (see Notifier.PostContainment): id is Containment.ID from the button,
// keep is true for Keep (make the suspension permanent) and false for Lift
// (reactivate the user now). It returns nil when the answer took effect,
// or was recorded and will be applied in order, and otherwise:
//   - ErrAlreadyDecided: another answer, or the end of the suspension,
//     came first (an end is under way, or it was kept or ended); nothing
//     changed;
//   - ErrUnknown: no timed suspension with this id is in force (it ended,
//     was kept or lifted, or the user was suspended again since); nothing
//     changed;
//   - any other error: the answer was not recorded, as for Decide.
type Decider interface {
	Decide(ctx context.Context, id string, approve bool, by, channel, reason string) error
	DecideContainment(ctx context.Context, id string, keep bool, by, channel string) error
}

// MaxBodyBytes is the largest callback body the Handler reads. A
// block_actions payload carries the whole message, a few KiB for an
// approval request.
const MaxBodyBytes = 64 << 10

// Defaults applied by NewHandler.
const (
	DefaultGroupRefreshInterval = 5 * time.Minute
	DefaultCallbackTimeout      = 10 * time.Second
)

// DefaultResponseURLPrefixes returns the response_url prefixes the Handler
// posts ephemeral answers to by default: Slack's hooks host. Other Slack
// deployments (GovSlack, for example) set HandlerConfig.ResponseURLPrefixes.
func DefaultResponseURLPrefixes() []string {
	return []string{"https://hooks.slack.com/"}
}

// HandlerConfig configures a Handler. Zero values select the defaults.
type HandlerConfig struct {
	// SigningSecret is the app's signing secret (Basic Information, App
	// Credentials). Required: an empty secret is refused, whatever the
	// Slack library would accept.
	SigningSecret secret.Value
	// Approvers are the Slack user ids ("U0123ABCD") allowed to answer.
	Approvers []string
	// ApproverGroup is a Slack user group id ("S0123ABCD") whose members
	// may answer. At least one of Approvers and ApproverGroup is required.
	ApproverGroup string
	// GroupRefreshInterval is how long a listing of ApproverGroup is used
	// before it is listed again.
	GroupRefreshInterval time.Duration
	// ResponseURLPrefixes are the only URL prefixes the Handler posts
	// ephemeral answers to (a payload's response_url must start with one).
	// Each must be https (or http to a loopback host) and end in "/".
	ResponseURLPrefixes []string
	// Timeout bounds the work done for one callback: the group listing,
	// Decide, the message update and the ephemeral answer. Slack wants an
	// HTTP answer within 3 seconds; past that the clicker sees a warning,
	// but the work still completes.
	Timeout time.Duration
}

func (c *HandlerConfig) setDefaults() {
	if c.GroupRefreshInterval == 0 {
		c.GroupRefreshInterval = DefaultGroupRefreshInterval
	}
	if c.ResponseURLPrefixes == nil {
		c.ResponseURLPrefixes = DefaultResponseURLPrefixes()
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultCallbackTimeout
	}
}

// Validate reports every problem with c at once. It expects defaults to
// have been applied (NewHandler does).
func (c HandlerConfig) Validate() error {
	var errs []error
	if c.SigningSecret == "" {
		errs = append(errs, errors.New("signing secret is empty: set the Slack app's signing secret (Basic Information, App Credentials)"))
	}
	if len(c.Approvers) == 0 && c.ApproverGroup == "" {
		errs = append(errs, errors.New("no approvers: set Slack user ids, an approver user group id, or both"))
	}
	for _, u := range c.Approvers {
		if !slackUserID.MatchString(u) {
			errs = append(errs, fmt.Errorf("approver %q is not a Slack user id (U... or W..., as in the member's profile, not a name)", u))
		}
	}
	if c.ApproverGroup != "" && !slackGroupID.MatchString(c.ApproverGroup) {
		errs = append(errs, fmt.Errorf("approver group %q is not a Slack user group id (S..., not a @handle)", c.ApproverGroup))
	}
	if c.GroupRefreshInterval < 0 {
		errs = append(errs, fmt.Errorf("group refresh interval %s is negative", c.GroupRefreshInterval))
	}
	if len(c.ResponseURLPrefixes) == 0 {
		errs = append(errs, errors.New("no response url prefixes"))
	}
	for _, p := range c.ResponseURLPrefixes {
		if err := validateURL("response url prefix", p); err != nil {
			errs = append(errs, err)
		} else if u, _ := url.Parse(p); !strings.HasSuffix(p, "/") || u.RawQuery != "" || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("response url prefix %q must end in / and have no query", p))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", c.Timeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("validate slack approval handler config: %w", err)
	}
	return nil
}

// Option changes how NewHandler builds a Handler. Options are test seams;
// operator settings belong in HandlerConfig.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock sets the clock used for signature timestamps, the replay
// window, the approver cache and the times shown in messages. The default
// is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// Handler serves Slack interactivity callbacks: it verifies each request,
// checks the clicker is an approver, refuses replays and approvers over
// their share of the replay cache, hands the answer to the Decider and
// updates the message. Mount it on its own listener behind the
// organisation's ingress. It is safe for concurrent use.
type Handler struct {
	cfg       HandlerConfig
	decider   Decider
	notifier  *Notifier
	approvers *approvers
	replay    *replayCache
	now       func() time.Time
	logger    *slog.Logger
}

// NewHandler applies defaults to cfg, validates it and builds a Handler
// that records answers with d and talks to Slack through n. A nil logger
// discards. No request is made; call Check at startup.
func NewHandler(cfg HandlerConfig, d Decider, n *Notifier, logger *slog.Logger, opts ...Option) (*Handler, error) {
	cfg.setDefaults()
	err := cfg.Validate()
	if d == nil {
		err = errors.Join(err, errors.New("new slack approval handler: decider is nil"))
	}
	if n == nil {
		err = errors.Join(err, errors.New("new slack approval handler: notifier is nil"))
	}
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	o := options{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	users := make(map[string]bool, len(cfg.Approvers))
	for _, u := range cfg.Approvers {
		users[u] = true
	}
	return &Handler{
		cfg:      cfg,
		decider:  d,
		notifier: n,
		approvers: &approvers{
			users: users, group: cfg.ApproverGroup, refresh: cfg.GroupRefreshInterval,
			list: n.groupMembers, now: o.now,
		},
		replay: newReplayCache(MaxReplayEntries, MaxReplayEntriesPerUser, ReplayWindow),
		now:    o.now,
		logger: logger,
	}, nil
}

// Check lists the approver group (when one is set) and fails if it cannot
// be read or if nobody at all may approve. Call it at startup.
func (h *Handler) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	n, err := h.approvers.reload(ctx)
	if err != nil {
		return fmt.Errorf("check slack approvers: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("check slack approvers: user group %s is empty and no user ids are set", h.cfg.ApproverGroup)
	}
	return nil
}

// payload is the part of a block_actions interaction payload the Handler
// reads.
type payload struct {
	Type        string `json:"type"`
	TriggerID   string `json:"trigger_id"`
	ResponseURL string `json:"response_url"`
	User        struct {
		ID string `json:"id"`
	} `json:"user"`
	Container struct {
		ChannelID string `json:"channel_id"`
		MessageTS string `json:"message_ts"`
	} `json:"container"`
	Message struct {
		Blocks json.RawMessage `json:"blocks"`
	} `json:"message"`
	Actions []struct {
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
		ActionTS string `json:"action_ts"`
	} `json:"actions"`
}

// replayKey identifies one click. A block_actions payload has no id field
// of its own (unlike an Events API event_id), so the key combines what
// Slack mints per interaction and signs with the body: trigger_id (unique
// to each user interaction), the action's action_ts (the click's time) and
// the message (container channel_id and message_ts). A replayed request
// repeats all of them; Slack's real clicks never do. The key is hashed, so
// each remembered id costs a fixed 32 bytes however long the fields are.
func (p *payload) replayKey() string {
	if p.TriggerID == "" || len(p.Actions) != 1 || p.Actions[0].ActionTS == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(strings.Join([]string{
		p.Type, p.TriggerID, p.Actions[0].ActionTS, p.Container.ChannelID, p.Container.MessageTS,
	}, "\x00")))
	return string(sum[:])
}

// ServeHTTP implements http.Handler. It refuses, without calling the
// Decider: a method other than POST (405), a body that is not
// form-encoded (415), a body over MaxBodyBytes (413), a missing or bad
// signature or a timestamp more than MaxClockSkew away (401), and a
// malformed payload (400). A verified click of someone who is not an
// approver (or while the approver group cannot be read) is answered 200
// with an ephemeral message, without calling the Decider, and is not
// remembered, so such clicks take no room in the replay cache. An
// approver's click is then refused, without calling the Decider, when it
// repeats a payload accepted in the last ReplayWindow (409), when its
// sender already has MaxReplayEntriesPerUser payloads accepted in that
// window (429), and when the replay cache is full (503). Other approvers'
// clicks are answered 200; a clicker whose answer lost is told so in an
// ephemeral message. All of this holds alike for the Approve and Deny
// buttons of an approval request (Decider.Decide) and the Keep and Lift
// buttons of a timed suspension's message (Decider.DecideContainment).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.refuse(w, r, http.StatusMethodNotAllowed, "method not allowed: use POST")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		h.refuse(w, r, http.StatusUnsupportedMediaType, "content type must be application/x-www-form-urlencoded")
		return
	}
	if r.ContentLength > MaxBodyBytes {
		h.refuse(w, r, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.refuse(w, r, http.StatusRequestEntityTooLarge, "body too large")
			return
		}
		h.refuse(w, r, http.StatusBadRequest, "read body")
		return
	}
	now := h.now()
	if err := verify(h.cfg.SigningSecret, r.Header, body, now); err != nil {
		h.refuse(w, r, http.StatusUnauthorized, err.Error())
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || len(form["payload"]) != 1 || form.Get("payload") == "" {
		h.refuse(w, r, http.StatusBadRequest, "body must carry exactly one payload= field")
		return
	}
	var p payload
	if err := json.Unmarshal([]byte(form.Get("payload")), &p); err != nil {
		h.refuse(w, r, http.StatusBadRequest, "payload is not JSON")
		return
	}
	if p.Type != "block_actions" {
		h.logger.Debug("slack callback ignored", "payload_type", p.Type)
		w.WriteHeader(http.StatusOK)
		return
	}
	key := p.replayKey()
	if key == "" {
		h.refuse(w, r, http.StatusBadRequest, "block_actions payload needs trigger_id and exactly one action with action_ts")
		return
	}
	act := p.Actions[0]
	if !isButton(act.ActionID) {
		h.logger.Debug("slack callback ignored", "action", act.ActionID)
		w.WriteHeader(http.StatusOK)
		return
	}
	if act.Value == "" || len(act.Value) > MaxActionIDLen || !slackUserID.MatchString(p.User.ID) ||
		p.Container.ChannelID == "" || p.Container.MessageTS == "" {
		h.refuse(w, r, http.StatusBadRequest, "payload lacks an action id, a user id or the message")
		return
	}

	// The work below must finish even if Slack stops waiting for the
	// answer: once Decide records an answer, the message must show it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), h.cfg.Timeout)
	defer cancel()
	h.answer(ctx, w, r, &p, key)
}

// answer checks the clicker, then the replay cache, records the answer and
// tells Slack. The clicker is checked first: any member of the workspace
// who sees the message can click, and remembering their clicks would let
// them fill the cache and lock the approvers out. A non-approver's replayed
// click is therefore not refused as a replay; it gets the same ephemeral
// refusal again, which changes nothing.
func (h *Handler) answer(ctx context.Context, w http.ResponseWriter, r *http.Request, p *payload, key string) {
	act := p.Actions[0]
	id, approve := act.Value, act.ActionID == ActionApprove
	log := h.logger.With("approval_id", id, "slack_user", p.User.ID, "button", act.ActionID)
	ok, err := h.approvers.allowed(ctx, p.User.ID)
	if err != nil {
		log.Warn("slack approval refused: approver group unreadable", "outcome", "refused", "error", err)
		h.ephemeral(ctx, w, p, log, "tripline could not check the approver group in Slack, so your answer was not recorded. Try again in a minute.")
		return
	}
	if !ok {
		log.Warn("slack approval refused: not an approver", "outcome", "refused")
		h.ephemeral(ctx, w, p, log, "Only tripline approvers can answer this request; your click changed nothing.")
		return
	}

	// The clock is read again rather than reusing the time the signature
	// was checked at: the group listing may have taken a while, and a
	// later stamp only keeps the id longer.
	switch err := h.replay.add(key, p.User.ID, h.now()); {
	case errors.Is(err, errReplay):
		h.refuse(w, r, http.StatusConflict, "payload already accepted", "slack_user", p.User.ID)
		return
	case errors.Is(err, errReplayUserFull):
		h.refuse(w, r, http.StatusTooManyRequests, fmt.Sprintf(
			"too many answers from this Slack user: at most %d in %s; try again later", MaxReplayEntriesPerUser, ReplayWindow),
			"slack_user", p.User.ID)
		return
	case err != nil:
		h.refuse(w, r, http.StatusServiceUnavailable, "too many recent payloads", "slack_user", p.User.ID)
		return
	}

	if act.ActionID == ActionKeep || act.ActionID == ActionLift {
		h.contain(ctx, w, p, log)
		return
	}
	log = log.With("approve", approve)
	err = h.decider.Decide(ctx, id, approve, p.User.ID, ChannelSlack, "")
	var already *AlreadyDecidedError
	switch {
	case err == nil:
		o := Outcome{Approved: approve, By: p.User.ID, At: h.now()}
		log.Info("slack approval recorded", "outcome", outcomeName(approve))
		ref := MessageRef{Channel: p.Container.ChannelID, TS: p.Container.MessageTS}
		if err := h.notifier.update(ctx, ref, summaryFromMessage(p.Message.Blocks), decidedText(o)); err != nil {
			log.Error("slack approval recorded, message not updated", "error", err)
		}
		w.WriteHeader(http.StatusOK)
	case errors.As(err, &already):
		log.Info("slack approval too late: already decided", "outcome", "already_decided")
		h.ephemeral(ctx, w, p, log, alreadyText(already.Outcome))
	case errors.Is(err, ErrAlreadyDecided):
		log.Info("slack approval too late: already decided", "outcome", "already_decided")
		h.ephemeral(ctx, w, p, log, "This request was already answered; your click changed nothing.")
	case errors.Is(err, ErrExpired):
		log.Info("slack approval too late: expired", "outcome", "expired")
		h.ephemeral(ctx, w, p, log, "This request has expired: it was denied and never executed. Your click changed nothing.")
	case errors.Is(err, ErrUnknown):
		log.Warn("slack approval for an unknown request", "outcome", "unknown")
		h.ephemeral(ctx, w, p, log, "tripline does not know this request (it may have been removed); your click changed nothing.")
	default:
		log.Error("slack approval not recorded", "outcome", "error", "error", err)
		h.ephemeral(ctx, w, p, log, "tripline could not record your answer. Try again in a minute.")
	}
}

// ephemeral tells the clicker text, visible only to them, through the
// payload's response_url; the HTTP answer is 200 either way. When the
// response_url is missing or not under a configured prefix, the text goes
// in the HTTP response body instead.
func (h *Handler) ephemeral(ctx context.Context, w http.ResponseWriter, p *payload, log *slog.Logger, text string) {
	if h.responseURLAllowed(p.ResponseURL) {
		if err := h.notifier.respond(ctx, p.ResponseURL, text); err != nil {
			log.Warn("slack ephemeral answer failed", "error", err)
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	log.Warn("slack payload has no usable response_url; answering in the HTTP response")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(map[string]any{"response_type": "ephemeral", "replace_original": false, "text": text})
}

func (h *Handler) responseURLAllowed(u string) bool {
	if u == "" || strings.ContainsFunc(u, isControlOrSpace) {
		return false
	}
	for _, p := range h.cfg.ResponseURLPrefixes {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

// refuse answers a request that failed a check, and logs why, with attrs
// (key-value pairs, such as the clicker's slack_user) added. It never logs
// the body, the signature or the response_url.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, reason string, attrs ...any) {
	h.logger.Warn("slack callback refused",
		append([]any{"status", status, "reason", reason, "remote_addr", r.RemoteAddr}, attrs...)...)
	http.Error(w, reason, status)
}

func outcomeName(approve bool) string {
	if approve {
		return "approved"
	}
	return "denied"
}
