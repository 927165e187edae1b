package opsim

import (
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Seed is the JSON seed file of the simulator (cmd/opsim --seed): the
// account, the OAuth clients and the users it starts with.
type Seed struct {
	// Account is the account ID: 26 upper-case alphanumeric characters.
	// New generates one when it is empty.
	Account string `json:"account"`
	// Clients are the registered OAuth clients. When empty, New registers
	// one client, DefaultClientID with DefaultClientSecret and every
	// permission.
	Clients []ClientSeed `json:"clients"`
	// Users are the account's users, in any order; the API lists them by
	// create_time, then id.
	Users []UserSeed `json:"users"`
}

// ClientSeed is one registered OAuth client (an "OAuth application" in the
// 1Password admin UI).
type ClientSeed struct {
	// ID is the client ID sent in the Basic credentials.
	ID string `json:"id"`
	// Secret is the client secret sent in the Basic credentials.
	Secret string `json:"secret"`
	// Permissions are any of "get", "list", "suspend", "reactivate".
	// Empty or absent means all four.
	Permissions []string `json:"permissions"`
}

// UserSeed is one user of the seed.
type UserSeed struct {
	// ID is the user ID. When empty, New derives a 26-character
	// base32-style ID from the email, so it is stable across runs.
	// A given ID must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', '-'.
	ID string `json:"id"`
	// Email is required and unique (case-insensitively).
	Email string `json:"email"`
	// DisplayName is the user's display name.
	DisplayName string `json:"display_name"`
	// State is ACTIVE (the default) or SUSPENDED.
	State string `json:"state"`
	// Role is owner, admin or member (the default). Owners count for the
	// last-owner rule.
	Role string `json:"role"`
	// ExternallyManaged marks a user provisioned by an identity provider.
	// Suspending an externally managed owner or admin is refused with
	// Config.EAMStatus; externally managed members can be suspended.
	ExternallyManaged bool `json:"externally_managed"`
	// CreateTime is the creation time. The default is a fixed base time
	// (2024-01-15T10:30:00Z) plus the user's index in seconds.
	CreateTime time.Time `json:"create_time"`
}

// Permission names accepted in ClientSeed.Permissions.
const (
	PermissionGet        = "get"
	PermissionList       = "list"
	PermissionSuspend    = "suspend"
	PermissionReactivate = "reactivate"
)

// User states.
const (
	StateActive    = "ACTIVE"
	StateSuspended = "SUSPENDED"
)

// User roles.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// perm is a set of client permissions.
type perm uint8

const (
	permGet perm = 1 << iota
	permList
	permSuspend
	permReactivate
	permAll = permGet | permList | permSuspend | permReactivate
)

// permNamed returns the permission with the given seed name.
func permNamed(name string) (perm, bool) {
	switch name {
	case PermissionGet:
		return permGet, true
	case PermissionList:
		return permList, true
	case PermissionSuspend:
		return permSuspend, true
	case PermissionReactivate:
		return permReactivate, true
	}
	return 0, false
}

var (
	accountPattern = regexp.MustCompile(`^[A-Z0-9]{26}$`)
	userIDPattern  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
)

// baseCreateTime is the create_time of the first user without one.
var baseCreateTime = time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)

// idEncoding is base32 without padding: A-Z and 2-7, so IDs match
// ^[A-Z0-9]{26}$.
var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// deriveID returns a stable 26-character ID for a name.
func deriveID(kind, name string) string {
	sum := sha256.Sum256([]byte("opsim " + kind + " " + name))
	return idEncoding.EncodeToString(sum[:])[:26]
}

// client is a registered client with its parsed permissions.
type client struct {
	seed  ClientSeed
	perms perm
}

// buildClients validates the seed's clients, or returns the default client.
func buildClients(seeds []ClientSeed) (map[string]client, []ClientSeed, error) {
	if len(seeds) == 0 {
		seeds = []ClientSeed{{ID: DefaultClientID, Secret: DefaultClientSecret}}
	}
	var errs []error
	byID := make(map[string]client, len(seeds))
	out := make([]ClientSeed, 0, len(seeds))
	for i, c := range seeds {
		where := fmt.Sprintf("clients[%d]", i)
		if c.ID == "" {
			errs = append(errs, fmt.Errorf("%s: empty id", where))
		} else if strings.Contains(c.ID, ":") {
			errs = append(errs, fmt.Errorf("%s: id %q contains ':'", where, c.ID))
		}
		if c.Secret == "" {
			errs = append(errs, fmt.Errorf("%s: empty secret", where))
		}
		if _, dup := byID[c.ID]; dup && c.ID != "" {
			errs = append(errs, fmt.Errorf("%s: duplicate client id %q", where, c.ID))
		}
		var p perm
		for _, name := range c.Permissions {
			bit, ok := permNamed(name)
			if !ok {
				errs = append(errs, fmt.Errorf("%s: unknown permission %q (want get, list, suspend or reactivate)", where, name))
			}
			p |= bit
		}
		if len(c.Permissions) == 0 {
			p = permAll
			c.Permissions = []string{PermissionGet, PermissionList, PermissionSuspend, PermissionReactivate}
		} else {
			c.Permissions = append([]string(nil), c.Permissions...)
		}
		byID[c.ID] = client{seed: c, perms: p}
		out = append(out, c)
	}
	return byID, out, errors.Join(errs...)
}

// buildUsers validates the seed's users, adds the generated ones and
// returns them unsorted.
func buildUsers(seeds []UserSeed, generate int) ([]userRecord, error) {
	var errs []error
	if generate < 0 {
		errs = append(errs, fmt.Errorf("generate: negative count %d", generate))
		generate = 0
	}
	users := make([]userRecord, 0, len(seeds)+generate)
	ids := make(map[string]int, cap(users))
	emails := make(map[string]int, cap(users))
	add := func(where string, u UserSeed, index int) {
		if u.Email == "" {
			errs = append(errs, fmt.Errorf("%s: empty email", where))
		}
		if u.ID == "" {
			u.ID = deriveID("user", strings.ToLower(u.Email))
		} else if !userIDPattern.MatchString(u.ID) {
			errs = append(errs, fmt.Errorf("%s: bad id %q (want 1-64 of A-Z a-z 0-9 . _ -)", where, u.ID))
		}
		state := strings.ToUpper(u.State)
		switch state {
		case "":
			state = StateActive
		case StateActive, StateSuspended:
		default:
			errs = append(errs, fmt.Errorf("%s: bad state %q (want ACTIVE or SUSPENDED)", where, u.State))
		}
		role := strings.ToLower(u.Role)
		switch role {
		case "":
			role = RoleMember
		case RoleOwner, RoleAdmin, RoleMember:
		default:
			errs = append(errs, fmt.Errorf("%s: bad role %q (want owner, admin or member)", where, u.Role))
		}
		if prev, dup := ids[u.ID]; dup {
			errs = append(errs, fmt.Errorf("%s: duplicate id %q (also users[%d])", where, u.ID, prev))
		}
		key := strings.ToLower(u.Email)
		if prev, dup := emails[key]; dup && key != "" {
			errs = append(errs, fmt.Errorf("%s: duplicate email %q (also users[%d])", where, u.Email, prev))
		}
		ids[u.ID], emails[key] = index, index
		ct := u.CreateTime
		if ct.IsZero() {
			ct = baseCreateTime.Add(time.Duration(index) * time.Second)
		}
		users = append(users, userRecord{
			User: User{
				ID:          u.ID,
				Email:       u.Email,
				DisplayName: u.DisplayName,
				State:       state,
				CreateTime:  ct.UTC().Format(time.RFC3339),
			},
			created:  ct,
			emailKey: key,
			role:     role,
			eam:      u.ExternallyManaged,
		})
	}
	for i, u := range seeds {
		add(fmt.Sprintf("users[%d]", i), u, i)
	}
	for i := 1; i <= generate; i++ {
		n := fmt.Sprintf("%05d", i)
		add("generated user "+n, UserSeed{
			Email:       "user" + n + "@example.com",
			DisplayName: "User " + n,
		}, len(seeds)+i-1)
	}
	return users, errors.Join(errs...)
}
