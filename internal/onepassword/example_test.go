package onepassword_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"

	"github.com/tripline-dev/tripline/internal/onepassword"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// Suspend a user and branch on the outcome. The simulator stands in for
// https://api.1password.com here.
func Example() {
	sim, _ := opsim.New(opsim.Config{Seed: opsim.Seed{
		Account: "EXAMPLEACCOUNT0000000000AA",
		Users:   []opsim.UserSeed{{ID: "WENDY", Email: "wendy@example.com"}},
	}})
	ts := httptest.NewServer(sim)
	defer ts.Close()

	ctx := context.Background()
	client, err := onepassword.New(ctx, onepassword.Config{
		BaseURL:               ts.URL,
		AllowInsecureLoopback: true, // loopback simulator only
		AccountID:             sim.Account(),
		ClientID:              opsim.DefaultClientID,
		ClientSecret:          opsim.DefaultClientSecret,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, id := range []string{"WENDY", "NOBODY"} {
		u, err := client.SuspendUser(ctx, id)
		var retry interface{ Retryable() bool }
		switch {
		case err == nil:
			fmt.Println(u.Email, u.State)
		case errors.Is(err, remediate.ErrUserNotFound):
			fmt.Println(id, "not found:", err)
		case errors.As(err, &retry) && retry.Retryable():
			fmt.Println("try again later:", err)
		default:
			fmt.Println("permanent:", err)
		}
	}
	// Output:
	// wendy@example.com SUSPENDED
	// NOBODY not found: suspend user: 404 not found (code 5): user_not_found
}
