package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"strings"

	"github.com/slack-go/slack"

	"github.com/tripline-dev/tripline/internal/retryafter"
	"github.com/tripline-dev/tripline/internal/secret"
	"github.com/tripline-dev/tripline/internal/version"
)

// slackSink posts each notification to Slack, through the Web API
// (chat.postMessage) when api is set, else through an incoming webhook.
type slackSink struct {
	api        *slack.Client
	channel    string
	apiURL     string
	token      secret.Value
	webhookURL secret.Value
	client     *http.Client
	secrets    []secret.Value // every credential of the Notifier
}

// newSlackSink builds the Slack sink of c. The bot token is never given to
// slack-go: it would put it in the form body of chat.postMessage. The
// HTTP client below sends it in the Authorization header instead, as Slack
// recommends, so it cannot appear in a body, a debug dump or an error.
func newSlackSink(c SlackConfig, client *http.Client, secrets []secret.Value) *slackSink {
	s := &slackSink{channel: c.Channel, apiURL: c.APIURL, token: c.BotToken, webhookURL: c.WebhookURL, client: client, secrets: secrets}
	if c.bot() {
		apiURL := c.APIURL
		if !strings.HasSuffix(apiURL, "/") {
			apiURL += "/"
		}
		s.api = slack.New("",
			slack.OptionHTTPClient(bearerClient{client: client, token: c.BotToken}),
			slack.OptionAPIURL(apiURL),
			slack.OptionLog(log.New(io.Discard, "", 0)))
	}
	return s
}

func (s *slackSink) send(ctx context.Context, n Notification) error {
	text := slackText(n)
	if s.api != nil {
		_, _, err := s.api.PostMessageContext(ctx, s.channel,
			slack.MsgOptionText(text, false), // slackText escapes each value itself
			slack.MsgOptionDisableLinkUnfurl(), slack.MsgOptionDisableMediaUnfurl())
		if err != nil {
			return s.classify(err, displayURL(s.apiURL)+" chat.postMessage")
		}
		return nil
	}
	no := false
	msg := &slack.WebhookMessage{Text: text, UnfurlLinks: &no, UnfurlMedia: &no}
	if err := slack.PostWebhookCustomHTTPContext(ctx, s.webhookURL.Reveal(), s.client, msg); err != nil {
		return s.classify(err, displayURL(s.webhookURL.Reveal())+" (incoming webhook)")
	}
	return nil
}

// slackRetryable are the Web API error codes worth another attempt.
func slackRetryable(code string) bool {
	switch code {
	case "internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited":
		return true
	}
	return false
}

// classify turns a slack-go error into a SendError: rate limits, 5xx,
// transport errors and Slack's own transient codes are retryable; other
// statuses and error codes (invalid_auth, channel_not_found, ...) are not.
func (s *slackSink) classify(err error, where string) *SendError {
	secrets := s.secrets
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var se slack.SlackErrorResponse
	var ue *url.Error
	switch {
	case errors.As(err, &rl):
		return &SendError{Sink: SinkSlack, Status: http.StatusTooManyRequests, RetryAfter: min(rl.RetryAfter, retryafter.Max),
			retryable: true, msg: fmt.Sprintf("slack: post %s: rate limited, retry after %s", where, rl.RetryAfter)}
	case errors.As(err, &sc):
		return &SendError{Sink: SinkSlack, Status: sc.Code, retryable: sc.Retryable(),
			msg: fmt.Sprintf("slack: post %s: %s", where, secret.Redact(sc.Status, secrets...))}
	case errors.As(err, &se):
		return &SendError{Sink: SinkSlack, Status: http.StatusOK, retryable: slackRetryable(se.Err),
			msg: fmt.Sprintf("slack: post %s: slack answered %q", where, secret.Redact(se.Err, secrets...))}
	case errors.As(err, &ue), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return transportError(SinkSlack, where, err, secrets...)
	}
	return &SendError{Sink: SinkSlack, msg: fmt.Sprintf("slack: post %s: %s", where, secret.Redact(err.Error(), secrets...)),
		cause: redactedCause(err, secrets...)}
}

// bearerClient is the HTTP client slack-go calls for the Web API: it
// removes the (empty) token field slack-go adds to a form body and sends
// the bot token as "Authorization: Bearer".
type bearerClient struct {
	client *http.Client
	token  secret.Value
}

// Do implements slack-go's httpClient.
func (b bearerClient) Do(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	if req.Body != nil && strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		raw, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read slack request body: %w", err)
		}
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, fmt.Errorf("parse slack request form: %w", err)
		}
		form.Del("token")
		body := []byte(form.Encode())
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		out.ContentLength = int64(len(body))
	}
	out.Header.Set("Authorization", "Bearer "+b.token.Reveal())
	out.Header.Set("User-Agent", version.UserAgent())
	return b.client.Do(out)
}
