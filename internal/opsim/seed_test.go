package opsim_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tripline-dev/tripline/internal/opsim"
)

// New reports every seed problem at once, with clear messages.
func TestNewValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  opsim.Config
		want []string
	}{
		{"duplicate id", opsim.Config{Seed: opsim.Seed{Users: []opsim.UserSeed{
			{ID: "A", Email: "a@x"}, {ID: "A", Email: "b@x"}}}}, []string{`users[1]: duplicate id "A" (also users[0])`}},
		{"duplicate email", opsim.Config{Seed: opsim.Seed{Users: []opsim.UserSeed{
			{Email: "a@x"}, {Email: "A@X"}}}}, []string{`users[1]: duplicate email "A@X"`}},
		{"seed email collides with generated", opsim.Config{Generate: 1, Seed: opsim.Seed{Users: []opsim.UserSeed{
			{Email: "user00001@example.com"}}}}, []string{"duplicate email"}},
		{"bad state", opsim.Config{Seed: opsim.Seed{Users: []opsim.UserSeed{{Email: "a@x", State: "INVITED"}}}},
			[]string{`users[0]: bad state "INVITED"`}},
		{"bad role", opsim.Config{Seed: opsim.Seed{Users: []opsim.UserSeed{{Email: "a@x", Role: "guest"}}}},
			[]string{`users[0]: bad role "guest"`}},
		{"empty email", opsim.Config{Seed: opsim.Seed{Users: []opsim.UserSeed{{ID: "X"}}}}, []string{"users[0]: empty email"}},
		{"bad id", opsim.Config{Seed: opsim.Seed{Users: []opsim.UserSeed{{ID: "a/b:c", Email: "a@x"}}}}, []string{`bad id "a/b:c"`}},
		{"bad permission", opsim.Config{Seed: opsim.Seed{Clients: []opsim.ClientSeed{
			{ID: "c", Secret: "s", Permissions: []string{"list", "delete"}}}}}, []string{`clients[0]: unknown permission "delete"`}},
		{"duplicate client", opsim.Config{Seed: opsim.Seed{Clients: []opsim.ClientSeed{
			{ID: "c", Secret: "s"}, {ID: "c", Secret: "t"}}}}, []string{`clients[1]: duplicate client id "c"`}},
		{"client without secret", opsim.Config{Seed: opsim.Seed{Clients: []opsim.ClientSeed{{ID: "c"}}}},
			[]string{"clients[0]: empty secret"}},
		{"bad account", opsim.Config{Seed: opsim.Seed{Account: "acct"}}, []string{`account "acct"`}},
		{"negative generate", opsim.Config{Generate: -1}, []string{"negative count"}},
		{"bad wrong account status", opsim.Config{WrongAccountStatus: 401}, []string{"wrong account status 401"}},
		{"bad eam status", opsim.Config{EAMStatus: 200}, []string{"eam status 200"}},
		{"several at once", opsim.Config{Seed: opsim.Seed{Users: []opsim.UserSeed{
			{Email: "a@x", State: "x"}, {Email: "b@x", Role: "y"}}}}, []string{"bad state", "bad role"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := opsim.New(tc.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// Seed defaults: ACTIVE members, all permissions for clients without any,
// the default client when none is given, and case-insensitive state/role.
func TestSeedDefaults(t *testing.T) {
	t.Parallel()
	srv, err := opsim.New(opsim.Config{Seed: opsim.Seed{
		Clients: []opsim.ClientSeed{{ID: "c", Secret: "s"}},
		Users:   []opsim.UserSeed{{Email: "a@x"}, {Email: "b@x", State: "suspended", Role: "Owner"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if c := srv.Clients(); len(c) != 1 || len(c[0].Permissions) != 4 {
		t.Fatalf("clients %+v", c)
	}
	if u, _ := srv.UserByEmail("a@x"); u.State != "ACTIVE" {
		t.Fatalf("default state %+v", u)
	}
	if u, _ := srv.UserByEmail("b@x"); u.State != "SUSPENDED" {
		t.Fatalf("lower-case state %+v", u)
	}
	def, err := opsim.New(opsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c := def.Clients(); len(c) != 1 || c[0].ID != opsim.DefaultClientID || c[0].Secret != opsim.DefaultClientSecret {
		t.Fatalf("default clients %+v", c)
	}
}

// Concurrent suspends, reactivates, lists and token fetches are race-free
// and keep the owner invariant.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	seed := smallSeed()
	e := newEnv(t, opsim.Config{Seed: seed, Generate: 200})
	tok := e.defaultToken(t)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 10 {
				switch (w + i) % 4 {
				case 0:
					e.api(t, http.MethodPost, e.usersPath()+"/OWNER1AAAAAAAAAAAAAAAAAAAA:suspend", tok)
				case 1:
					e.api(t, http.MethodPost, e.usersPath()+"/OWNER2AAAAAAAAAAAAAAAAAAAA:suspend", tok)
				case 2:
					e.api(t, http.MethodPost, e.usersPath()+"/OWNER1AAAAAAAAAAAAAAAAAAAA:reactivate", tok)
				default:
					e.api(t, http.MethodGet, e.usersPath()+"?max_page_size=50", tok)
					e.defaultToken(t)
				}
			}
		})
	}
	wg.Wait()
	active := 0
	for _, id := range []string{"OWNER1AAAAAAAAAAAAAAAAAAAA", "OWNER2AAAAAAAAAAAAAAAAAAAA"} {
		if u, _ := e.srv.User(id); u.State == "ACTIVE" {
			active++
		}
	}
	if active == 0 {
		t.Fatal("every owner suspended")
	}
}
