package slackapproval

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/tripline-dev/tripline/internal/secret"
)

// Defaults applied by NewNotifier.
const (
	DefaultAPIURL  = "https://slack.com/api/"
	DefaultTimeout = 10 * time.Second
)

// NotifierConfig configures a Notifier. Zero values select the defaults.
type NotifierConfig struct {
	// BotToken is the app's Bot User OAuth Token ("xoxb-..."). Required.
	BotToken secret.Value
	// Channel is where approval requests are posted: a channel id
	// ("C0123456789") or name. The bot must be a member of it. Required.
	Channel string
	// APIURL is the Web API base URL. It must be https, or http to a
	// loopback host (tests and local fakes).
	APIURL string
	// Timeout bounds each Web API call.
	Timeout time.Duration
}

func (c *NotifierConfig) setDefaults() {
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if !strings.HasSuffix(c.APIURL, "/") {
		c.APIURL += "/"
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
}

// Validate reports every problem with c at once. It expects defaults to
// have been applied (NewNotifier does).
func (c NotifierConfig) Validate() error {
	var errs []error
	switch tok := c.BotToken.Reveal(); {
	case tok == "":
		errs = append(errs, errors.New("bot token is empty: set the app's Bot User OAuth Token (xoxb-...)"))
	case !strings.HasPrefix(tok, "xoxb-"):
		errs = append(errs, errors.New("bot token does not start with xoxb-: use the Bot User OAuth Token, not a user token or the signing secret"))
	case strings.ContainsFunc(tok, isControlOrSpace):
		errs = append(errs, errors.New("bot token contains spaces or control characters"))
	}
	if c.Channel == "" || strings.ContainsFunc(c.Channel, isControlOrSpace) {
		errs = append(errs, errors.New("approval channel is empty or contains spaces: set a channel id such as C0123456789"))
	}
	if err := validateURL("api url", c.APIURL); err != nil {
		errs = append(errs, err)
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", c.Timeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("validate slack notifier config: %w", err)
	}
	return nil
}

// Notifier posts and updates approval requests with the Slack Web API. It
// is safe for concurrent use.
type Notifier struct {
	cfg NotifierConfig
	api *slack.Client
	hc  *http.Client
}

// NewNotifier applies defaults to cfg, validates it and builds a Notifier.
// hc carries every Web API and response_url request; nil means a client
// that follows no redirects. No request is made; call Check for that. The
// Notifier logs nothing: its methods return errors, which never contain the
// bot token.
func NewNotifier(cfg NotifierConfig, hc *http.Client) (*Notifier, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if hc == nil {
		hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Notifier{
		cfg: cfg,
		api: slack.New(cfg.BotToken.Reveal(), slack.OptionAPIURL(cfg.APIURL), slack.OptionHTTPClient(hc)),
		hc:  hc,
	}, nil
}

// Check calls auth.test to prove the bot token works. Call it at startup.
func (n *Notifier) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	if _, err := n.api.AuthTestContext(ctx); err != nil {
		return fmt.Errorf("check slack bot token: %w", n.apiError("auth.test", err))
	}
	return nil
}

// Post sends the approval request for a to the configured channel and
// returns where it landed. Retrying after an error may post a second
// request; the store decides whether to.
func (n *Notifier) Post(ctx context.Context, a Action) (MessageRef, error) {
	if err := a.validate(); err != nil {
		return MessageRef{}, fmt.Errorf("post approval request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	channel, ts, err := n.api.PostMessageContext(ctx, n.cfg.Channel,
		slack.MsgOptionText(fallbackText(a), false),
		slack.MsgOptionBlocks(requestBlocks(a)...),
		slack.MsgOptionDisableLinkUnfurl(),
	)
	if err != nil {
		return MessageRef{}, fmt.Errorf("post approval request %s: %w", a.ID, n.apiError("chat.postMessage", err))
	}
	return MessageRef{Channel: channel, TS: ts}, nil
}

// Remind replies in the request's thread that a is still waiting and when
// it expires. The store calls it once, at ReminderAt(a).
func (n *Notifier) Remind(ctx context.Context, ref MessageRef, a Action) error {
	if err := ref.validate(); err != nil {
		return fmt.Errorf("remind approvers: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	_, _, err := n.api.PostMessageContext(ctx, ref.Channel,
		slack.MsgOptionTS(ref.TS),
		slack.MsgOptionText(reminderText(a), false),
	)
	if err != nil {
		return fmt.Errorf("remind approvers of %s: %w", a.ID, n.apiError("chat.postMessage", err))
	}
	return nil
}

// Decided rewrites the request for a decision made outside Slack (the
// Handler updates the message itself after a click): the summary stays, the
// buttons go, and a line says who answered, when and why.
func (n *Notifier) Decided(ctx context.Context, ref MessageRef, a Action, o Outcome) error {
	if err := n.update(ctx, ref, []slack.Block{summaryBlock(a)}, decidedText(o)); err != nil {
		return fmt.Errorf("mark %s decided: %w", a.ID, err)
	}
	return nil
}

// Expired rewrites the request of an action that expired at at: the
// buttons go, and a line says it was denied and never executed.
func (n *Notifier) Expired(ctx context.Context, ref MessageRef, a Action, at time.Time) error {
	if err := n.update(ctx, ref, []slack.Block{summaryBlock(a)}, expiredText(at)); err != nil {
		return fmt.Errorf("mark %s expired: %w", a.ID, err)
	}
	return nil
}

// update replaces the message at ref with summary plus a status line, and
// no buttons.
func (n *Notifier) update(ctx context.Context, ref MessageRef, summary []slack.Block, status string) error {
	return n.rewrite(ctx, ref, append(summary[:len(summary):len(summary)], statusBlock(status)), status)
}

// rewrite replaces the message at ref with blocks, and text as its
// notification text.
func (n *Notifier) rewrite(ctx context.Context, ref MessageRef, blocks []slack.Block, text string) error {
	if err := ref.validate(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	_, _, _, err := n.api.UpdateMessageContext(ctx, ref.Channel, ref.TS,
		slack.MsgOptionText(text, false),
		slack.MsgOptionBlocks(blocks...),
	)
	if err != nil {
		return n.apiError("chat.update", err)
	}
	return nil
}

// groupMembers lists the user ids of a user group (usergroups.users.list).
func (n *Notifier) groupMembers(ctx context.Context, group string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	members, err := n.api.GetUserGroupMembersContext(ctx, group)
	if err != nil {
		return nil, n.apiError("usergroups.users.list", err)
	}
	return members, nil
}

// respond posts an ephemeral message to the clicker through the payload's
// response_url; it neither replaces nor deletes the request.
func (n *Notifier) respond(ctx context.Context, responseURL, text string) error {
	ctx, cancel := context.WithTimeout(ctx, n.cfg.Timeout)
	defer cancel()
	err := slack.PostWebhookCustomHTTPContext(ctx, responseURL, n.hc, &slack.WebhookMessage{
		Text:         text,
		ResponseType: slack.ResponseTypeEphemeral,
	})
	if err != nil {
		return n.apiError("response_url", err, secret.Value(responseURL))
	}
	return nil
}

func (n *Notifier) apiError(method string, err error, more ...secret.Value) error {
	return newAPIError(method, err, append(more, n.cfg.BotToken)...)
}

// validateURL accepts https URLs, and http URLs to a loopback host.
func validateURL(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s does not parse", what)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%s %q has no host", what, raw)
	}
	if u.User != nil {
		return fmt.Errorf("%s must not carry credentials", what)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("%s %s: plain http is allowed only to a loopback host", what, u.Redacted())
	}
	return fmt.Errorf("%s scheme %q is not https", what, u.Scheme)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
