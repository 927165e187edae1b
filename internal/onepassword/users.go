package onepassword

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tripline-dev/tripline/internal/remediate"
)

// List filters accepted by ListUsers and ListAll.
const (
	// FilterActive lists only active users.
	FilterActive = "user.isActive()"
	// FilterSuspended lists only suspended users.
	FilterSuspended = "user.isSuspended()"
)

// MaxPageSize is the largest page the API returns.
const MaxPageSize = 1000

// ListOptions selects one page of ListUsers.
type ListOptions struct {
	// Filter is "" (all users), FilterActive or FilterSuspended.
	Filter string
	// PageSize is the maximum number of users in the page: 0 lets the API
	// choose (25), values above MaxPageSize are lowered to it.
	PageSize int
	// PageToken is the NextPageToken of the previous page; "" for the first.
	PageToken string
}

// Page is one page of users.
type Page struct {
	Users []remediate.User
	// NextPageToken is "" on the last page.
	NextPageToken string
}

// ListUsers returns one page of the account's users.
func (c *Client) ListUsers(ctx context.Context, opts ListOptions) (Page, error) {
	q := url.Values{}
	if opts.Filter != "" {
		q.Set("filter", opts.Filter)
	}
	if opts.PageSize > 0 {
		q.Set("max_page_size", strconv.Itoa(min(opts.PageSize, MaxPageSize)))
	}
	if opts.PageToken != "" {
		q.Set("page_token", opts.PageToken)
	}
	u := c.usersURL
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	body, err := c.do(ctx, OpListUsers, http.MethodGet, u)
	if err != nil {
		return Page{}, err
	}
	page, err := decodePage(body)
	if err != nil {
		return Page{}, fmt.Errorf("%s: %w", OpListUsers, redactError(err, c.auth.redactor()))
	}
	return page, nil
}

// ListAll lists every user that matches filter, page by page, and calls fn
// with each non-empty page in order. It stops after a page with a missing or
// empty next_page_token, when fn returns an error (returned as is), or when
// the server sends a page token it already sent (an error: the listing would
// never end). It returns the number of pages fetched. fn must not keep the
// slice after it returns.
func (c *Client) ListAll(ctx context.Context, filter string, pageSize int, fn func([]remediate.User) error) (pages int, err error) {
	seen := make(map[string]struct{})
	opts := ListOptions{Filter: filter, PageSize: pageSize}
	for {
		page, err := c.ListUsers(ctx, opts)
		if err != nil {
			return pages, err
		}
		pages++
		if len(page.Users) > 0 {
			if err := fn(page.Users); err != nil {
				return pages, err
			}
		}
		if page.NextPageToken == "" {
			return pages, nil
		}
		if _, dup := seen[page.NextPageToken]; dup {
			return pages, fmt.Errorf("%s: server repeated a page token after %d pages", OpListUsers, pages)
		}
		seen[page.NextPageToken] = struct{}{}
		opts.PageToken = page.NextPageToken
	}
}

// GetUser returns one user. An unknown id gives an error matching
// remediate.ErrUserNotFound.
func (c *Client) GetUser(ctx context.Context, id string) (remediate.User, error) {
	return c.userCall(ctx, OpGetUser, http.MethodGet, id, "")
}

// SuspendUser suspends a user and returns it as the API now describes it.
// Suspending a suspended user succeeds and changes nothing. Errors match
// remediate.ErrUserNotFound, remediate.ErrCannotSuspend (last owner,
// externally managed administrator) or remediate.ErrPermissionDenied where
// they apply.
func (c *Client) SuspendUser(ctx context.Context, id string) (remediate.User, error) {
	return c.userCall(ctx, OpSuspendUser, http.MethodPost, id, ":suspend")
}

// ReactivateUser reactivates a suspended user and returns it. Reactivating
// an active user succeeds and changes nothing.
func (c *Client) ReactivateUser(ctx context.Context, id string) (remediate.User, error) {
	return c.userCall(ctx, OpReactivateUser, http.MethodPost, id, ":reactivate")
}

func (c *Client) userCall(ctx context.Context, op, method, id, verb string) (remediate.User, error) {
	if err := checkUserID(id); err != nil {
		return remediate.User{}, fmt.Errorf("%s: %w", op, err)
	}
	body, err := c.do(ctx, op, method, c.usersURL+"/"+url.PathEscape(id)+verb)
	if err != nil {
		return remediate.User{}, err
	}
	u, err := decodeUser(body)
	if err != nil {
		return remediate.User{}, fmt.Errorf("%s: %w", op, redactError(err, c.auth.redactor()))
	}
	return u, nil
}

// checkUserID rejects ids that would change the request path's shape.
func checkUserID(id string) error {
	switch {
	case id == "" || id == "." || id == "..":
		return fmt.Errorf("invalid user id %q", id)
	case strings.ContainsAny(id, "/:"):
		return fmt.Errorf("invalid user id %q: contains / or :", id)
	case len(id) > 200:
		return fmt.Errorf("invalid user id: %d bytes long", len(id))
	}
	return nil
}

// userJSON is the wire form of a User. Unknown fields (create_time, path)
// are ignored.
type userJSON struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	DisplayName string `json:"display_name"`
	State       string `json:"state"`
}

func (w *userJSON) user() remediate.User {
	return remediate.User{ID: w.ID, Email: w.Email, DisplayName: w.DisplayName, State: w.State}
}

type pageJSON struct {
	Results       []userJSON `json:"results"`
	NextPageToken string     `json:"next_page_token"`
}

// decodePage decodes a ListUsersResponse; {} is an empty last page.
func decodePage(body []byte) (Page, error) {
	var w pageJSON
	if err := json.Unmarshal(body, &w); err != nil {
		return Page{}, fmt.Errorf("decode users page: %w", err)
	}
	p := Page{NextPageToken: w.NextPageToken}
	if len(w.Results) > 0 {
		p.Users = make([]remediate.User, len(w.Results))
		for i := range w.Results {
			p.Users[i] = w.Results[i].user()
		}
	}
	return p, nil
}

// decodeUser decodes one User object; one without an id is an error.
func decodeUser(body []byte) (remediate.User, error) {
	var w userJSON
	if err := json.Unmarshal(body, &w); err != nil {
		return remediate.User{}, fmt.Errorf("decode user: %w", err)
	}
	if w.ID == "" {
		return remediate.User{}, fmt.Errorf("decode user: no id")
	}
	return w.user(), nil
}
