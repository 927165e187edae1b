package onepassword

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/tripline-dev/tripline/internal/version"
)

// API versions accepted in Config.APIVersion.
const (
	// APIVersionV1Beta1 is the public-preview layout: resources under
	// /v1beta1, token at /v1beta1/users/oauth2/token.
	APIVersionV1Beta1 = "v1beta1"
	// APIVersionV1 is the GA layout: resources under /v1, token at
	// /v1/oauth/token.
	APIVersionV1 = "v1"
)

// Defaults applied by New.
const (
	DefaultRegion     = "com"
	DefaultAPIVersion = APIVersionV1Beta1
	DefaultTimeout    = 15 * time.Second
)

// maxBodyBytes bounds how much of any response body is read.
const maxBodyBytes = 4 << 20

var accountIDPattern = regexp.MustCompile(`^[A-Z0-9]{26}$`)

// Config configures a Client. The zero value of every optional field
// selects its default.
type Config struct {
	// BaseURL is the API origin, e.g. "https://api.1password.com". It must
	// be https; plain http is allowed only to a loopback host and only with
	// AllowInsecureLoopback. When empty, Region picks the origin.
	BaseURL string
	// Region is "com" (default), "ca" or "eu"; used only when BaseURL is empty.
	Region string
	// APIVersion is APIVersionV1Beta1 (default) or APIVersionV1.
	APIVersion string
	// AccountID is the 26-character account UUID (^[A-Z0-9]{26}$).
	AccountID string
	// ClientID is the OAuth application's client id.
	ClientID string
	// ClientSecret is the OAuth application's client secret.
	ClientSecret Secret
	// AllowInsecureLoopback permits an http:// BaseURL whose host is a
	// loopback address (127.0.0.0/8, ::1, localhost): for local simulators.
	AllowInsecureLoopback bool
	// UserAgent is sent on every request; default version.UserAgent().
	UserAgent string
	// Timeout bounds each HTTP request, token requests included; default
	// DefaultTimeout.
	Timeout time.Duration
}

func (c *Config) setDefaults() {
	if c.BaseURL == "" {
		if c.Region == "" {
			c.Region = DefaultRegion
		}
		switch c.Region {
		case "com", "ca", "eu":
			c.BaseURL = "https://api.1password." + c.Region
		}
	}
	if c.APIVersion == "" {
		c.APIVersion = DefaultAPIVersion
	}
	if c.UserAgent == "" {
		c.UserAgent = version.UserAgent()
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
}

// Validate reports every problem in c at once, joined with errors.Join.
// It expects defaults to be applied already (New does that).
func (c Config) Validate() error {
	var errs []error
	if c.BaseURL == "" {
		errs = append(errs, fmt.Errorf("region %q is not one of com, ca, eu", c.Region))
	} else if err := validateBaseURL(c.BaseURL, c.AllowInsecureLoopback); err != nil {
		errs = append(errs, err)
	}
	if c.APIVersion != APIVersionV1Beta1 && c.APIVersion != APIVersionV1 {
		errs = append(errs, fmt.Errorf("api version %q is not %s or %s", c.APIVersion, APIVersionV1Beta1, APIVersionV1))
	}
	if !accountIDPattern.MatchString(c.AccountID) {
		errs = append(errs, fmt.Errorf("account id %q does not match %s", c.AccountID, accountIDPattern))
	}
	if strings.TrimSpace(c.ClientID) == "" {
		errs = append(errs, errors.New("client id is empty"))
	}
	if c.ClientSecret == "" {
		errs = append(errs, errors.New("client secret is empty"))
	}
	if c.UserAgent == "" || strings.ContainsAny(c.UserAgent, "\r\n") {
		errs = append(errs, errors.New("user agent is empty or spans lines"))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %s is negative", c.Timeout))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("validate onepassword config: %w", err)
	}
	return nil
}

func validateBaseURL(raw string, allowInsecureLoopback bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("base url does not parse")
	}
	if u.Host == "" || u.Hostname() == "" {
		return errors.New("base url has no host")
	}
	if u.User != nil {
		return errors.New("base url must not carry credentials")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return errors.New("base url must not have a query or fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if !isLoopback(u.Hostname()) {
			return fmt.Errorf("base url %s: plain http is allowed only to a loopback host", u.Redacted())
		}
		if !allowInsecureLoopback {
			return fmt.Errorf("base url %s: plain http needs AllowInsecureLoopback", u.Redacted())
		}
		return nil
	}
	return fmt.Errorf("base url scheme %q is not https", u.Scheme)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Option changes how New builds a Client. Options are test and wiring
// seams; operator settings belong in Config.
type Option func(*options)

type options struct {
	transport http.RoundTripper
	now       func() time.Time
}

// WithTransport sets the RoundTripper under every request, token requests
// included (for example an otelhttp transport, or a test transport).
// The default is http.DefaultTransport.
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) { o.transport = rt }
}

// WithClock sets the clock used for token expiry and HTTP-date Retry-After
// values. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// Client calls the 1Password Users API. It is safe for concurrent use.
type Client struct {
	usersURL  string // <base>/<version>/accounts/<account>/users
	userAgent string
	hc        *http.Client
	now       func() time.Time
	auth      *tokenSource
	// revocations counts Revoke's results once RegisterMetrics ran.
	revocations revocationCounter
}

// New applies defaults to cfg, validates it and builds a Client. No request
// is made; call Token to check the credentials. ctx is used only while New
// runs; each call's token fetch runs under that call's ctx.
func New(ctx context.Context, cfg Config, opts ...Option) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("new onepassword client: %w", err)
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := options{transport: http.DefaultTransport, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	hc := &http.Client{
		Transport: &headerTransport{base: o.transport, userAgent: cfg.UserAgent},
		Timeout:   cfg.Timeout,
		// The API never redirects; following one could send the bearer
		// token elsewhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	tokenURL, revokeURL := base+"/v1beta1/users/oauth2/token", base+"/v1beta1/users/oauth2/revoke"
	if cfg.APIVersion == APIVersionV1 {
		tokenURL, revokeURL = base+"/v1/oauth/token", base+"/v1/oauth/revoke"
	}
	return &Client{
		usersURL:  base + "/" + cfg.APIVersion + "/accounts/" + cfg.AccountID + "/users",
		userAgent: cfg.UserAgent,
		hc:        hc,
		now:       o.now,
		auth:      newTokenSource(cfg.ClientID, cfg.ClientSecret, tokenURL, revokeURL, hc, o.now),
	}, nil
}

// TokenStats counts the token requests a Client made to the OAuth token
// endpoint, by result. Requests served from the cache are not counted.
type TokenStats struct {
	// Issued counts the tokens the endpoint issued.
	Issued int64
	// Refused counts the requests the endpoint refused (a 4xx answer but
	// 429, such as invalid_client: the credentials need fixing).
	Refused int64
	// Unavailable counts the requests that got no usable answer: a 5xx, a
	// 429, a network failure, a timeout or a malformed token response.
	Unavailable int64
}

// TokenStats returns the client's token request counts so far. It is safe
// to call at any time.
func (c *Client) TokenStats() TokenStats {
	st := &c.auth.stats
	return TokenStats{Issued: st.issued.Load(), Refused: st.refused.Load(), Unavailable: st.unavailable.Load()}
}

// headerTransport sets User-Agent and Accept on every request.
type headerTransport struct {
	base      http.RoundTripper
	userAgent string
}

func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", t.userAgent)
	r.Header.Set("Accept", "application/json")
	return t.base.RoundTrip(r)
}

// do sends an authenticated resource request and returns the body of a 2xx
// answer. A 401 invalidates the token and retries the request once.
func (c *Client) do(ctx context.Context, op, method, rawURL string) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		tok, err := c.auth.token(ctx)
		if err != nil {
			return nil, opError(op, err)
		}
		req, err := http.NewRequestWithContext(ctx, method, rawURL, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: build request: %w", op, err)
		}
		req.Header.Set("Authorization", "Bearer "+tok.Reveal())
		// Never repeat a credential the server echoed back, least of all
		// the token this request carried.
		redact := c.auth.redactor(tok)
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, transportError(ctx, op, err, redact)
		}
		body, readErr := readBody(resp)
		if resp.StatusCode == http.StatusUnauthorized && attempt == 0 {
			c.auth.invalidate(tok)
			continue
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return nil, newAPIError(op, resp.StatusCode, resp.Header, body, c.now(), redact)
		}
		if readErr != nil {
			return nil, transportError(ctx, op, readErr, redact)
		}
		return body, nil
	}
}

var errBodyTooLarge = fmt.Errorf("response body exceeds %d bytes", maxBodyBytes)

// readBody reads at most maxBodyBytes of resp's body, then drains a bounded
// remainder and closes it so the connection can be reused.
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	if err != nil {
		return body, err
	}
	if len(body) > maxBodyBytes {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodyBytes))
		return body[:maxBodyBytes], errBodyTooLarge
	}
	return body, nil
}

// transportError classifies an error from sending a request or reading its
// answer. The caller's own cancellation is returned as is (not retryable);
// anything else is a NetworkError without the request URL, its text passed
// through redact (a malformed answer is quoted in net/http's errors).
func transportError(ctx context.Context, op string, err error, redact func(string) string) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w", op, ctxErr)
	}
	if errors.Is(err, errBodyTooLarge) {
		return fmt.Errorf("%s: %w", op, err)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &NetworkError{Op: op, Err: redactError(err, redact)}
}

// redactError returns err itself when redact leaves its text unchanged, and
// otherwise a plain error with the redacted text: the original, which holds
// the credential, is dropped rather than wrapped.
func redactError(err error, redact func(string) string) error {
	if redact == nil {
		return err
	}
	if msg := redact(err.Error()); msg != err.Error() {
		return errors.New(msg)
	}
	return err
}
