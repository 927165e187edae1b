package pipeline

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/directory"
	"github.com/tripline-dev/tripline/internal/event"
	"github.com/tripline-dev/tripline/internal/identity"
	"github.com/tripline-dev/tripline/internal/ledger"
	"github.com/tripline-dev/tripline/internal/onepassword"
	"github.com/tripline-dev/tripline/internal/opsim"
	"github.com/tripline-dev/tripline/internal/remediate"
	"github.com/tripline-dev/tripline/internal/rules"
)

// TestProtectedUsersAreNeverActedOn feeds thousands of generated events
// (every sample format, through the real decoder and the shipped rules)
// naming protected users by email, by 1Password user id, in other cases and
// in Unicode look-alike forms that fold onto the same address, mixed with
// events for ordinary users, to the decision service acting through the
// real Users API client on the simulator. No request may ever name a
// protected user (not even the read before an action), while ordinary users
// are suspended.
func TestProtectedUsersAreNeverActedOn(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))

	// The account: generated members, a VIP domain and service accounts.
	var seedUsers []opsim.UserSeed
	for i := range 5 {
		seedUsers = append(seedUsers, opsim.UserSeed{Email: fmt.Sprintf("exec%d@vip.example.org", i)}, opsim.UserSeed{Email: fmt.Sprintf("svc-job%d@example.com", i)})
	}
	sim, err := opsim.New(opsim.Config{Seed: opsim.Seed{Users: seedUsers}, Generate: 300})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	requested := map[string]int{} // upper-cased path -> requests
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requested[strings.ToUpper(r.URL.Path)]++
		mu.Unlock()
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	client, err := onepassword.New(t.Context(), onepassword.Config{
		BaseURL: ts.URL, AllowInsecureLoopback: true, AccountID: sim.Account(),
		ClientID: opsim.DefaultClientID, ClientSecret: opsim.DefaultClientSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := directory.New(directory.Config{}, client)
	if err != nil {
		t.Fatal(err)
	}

	// Protect 30 members by email (written in random case), 20 by user id
	// (random case), the VIP domain and the service accounts by glob.
	users := sim.Users()
	rng.Shuffle(len(users), func(i, j int) { users[i], users[j] = users[j], users[i] })
	protected := map[string]bool{} // user id
	var yaml strings.Builder
	yaml.WriteString("domains: [vip.example.org]\nglobs: [\"svc-*@example.com\"]\nemails:\n")
	var ordinary []opsim.User
	n := 0
	for _, u := range users {
		switch {
		case strings.HasSuffix(u.Email, "@vip.example.org") || strings.HasPrefix(u.Email, "svc-"):
			protected[u.ID] = true
		case n < 30:
			fmt.Fprintf(&yaml, "  - %q\n", randomCase(rng, u.Email))
			protected[u.ID] = true
			n++
		case n < 50:
			protected[u.ID] = true
			n++
		default:
			ordinary = append(ordinary, u)
		}
	}
	yaml.WriteString("user_ids:\n")
	for _, u := range users {
		if protected[u.ID] && !strings.Contains(yaml.String(), u.Email) && !strings.HasSuffix(u.Email, "vip.example.org") && !strings.HasPrefix(u.Email, "svc-") {
			fmt.Fprintf(&yaml, "  - %s\n", randomCase(rng, u.ID))
		}
	}
	list, err := identity.ParseProtected("protected.yaml", []byte(yaml.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, yaml.String())
	}

	led := remediate.NewLedger(nil, remediate.LedgerConfig{Instance: "property"})
	led.SetStore(ledger.NewMemory(led.Apply))
	svc, err := remediate.New(remediate.Config{Retry: remediate.RetryPolicy{MaxAttempts: 1}}, remediate.Deps{
		Directory: dir, API: client, Ledger: led, Protected: func() *identity.Protected { return list },
	})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := event.NewDecoder(event.Config{})
	if err != nil {
		t.Fatal(err)
	}
	set, err := rules.LoadChecked("../../rules", func(raw []byte) ([]event.Event, error) { return dec.Decode(raw, event.FormatAuto) })
	if err != nil {
		t.Fatal(err)
	}
	templates := sampleTemplates(t)

	var all []opsim.User
	for _, u := range users {
		if protected[u.ID] {
			all = append(all, u)
		}
	}
	outcomes := map[remediate.Result]int{}
	protectedDecisions := 0
	const rounds = 3000
	for i := range rounds {
		u := ordinary[rng.IntN(len(ordinary))]
		if rng.IntN(2) == 0 {
			u = all[rng.IntN(len(all))]
		}
		var evs []event.Event
		if rng.IntN(4) == 0 {
			// A normalized sign-in that names the user only by 1Password id.
			evs = []event.Event{{OPUserID: randomCase(rng, u.ID), Outcome: "success", Risk: "critical", SrcIP: "203.0.113.9",
				Kind: "signin", Source: "1password", EventID: fmt.Sprintf("gen:%d", i), Time: time.Now()}}
		} else {
			doc := templates[rng.IntN(len(templates))].render(lookAlike(rng, u.Email), randomCase(rng, u.ID), i)
			evs, _ = dec.Decode(doc, event.FormatAuto)
		}
		for j := range evs {
			for _, d := range set.Evaluate(&evs[j]).Decisions {
				if d.Action == remediate.ActionNone {
					continue
				}
				rd := decisionOf(kafkaMessage(i), &evs[j], d)
				rd.MaxActions = remediate.Limit{} // no rule breaker: every decision reaches the guards
				out, _ := svc.Decide(t.Context(), rd)
				outcomes[out.Result]++
				if protected[out.User.ID] {
					protectedDecisions++
					if out.Result != remediate.ResultBlockedProtected && out.Result != remediate.ResultShadow {
						t.Errorf("decision %+v about protected user %s: outcome %s", rd, out.User.ID, out.Result)
					}
				}
			}
		}
	}
	t.Logf("outcomes %v, %d decisions about protected users", outcomes, protectedDecisions)
	mu.Lock()
	defer mu.Unlock()
	for path, n := range requested {
		for id := range protected {
			if strings.Contains(path, "/USERS/"+strings.ToUpper(id)) {
				t.Errorf("%d requests for protected user %s: %s", n, id, path)
			}
		}
	}
	if outcomes[remediate.ResultBlockedProtected] < 100 || outcomes[remediate.ResultSuspended] < 10 {
		t.Errorf("too few blocked (%d) or suspended (%d) outcomes: the generated events do not exercise the guard",
			outcomes[remediate.ResultBlockedProtected], outcomes[remediate.ResultSuspended])
	}
}

// template is a sample vendor document whose identities can be replaced.
type template struct {
	name string
	text string
}

var (
	emailPattern = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	opIDPattern  = regexp.MustCompile(`RZ5M2KQ7XHVB3NDT8WPLA6FCEY`)
	uuidPattern  = regexp.MustCompile(`"(uuid|id|eventId|eventID|requestID|id_token)": *"[^"]*"`)
)

// render puts email and the 1Password user id in every identity field and
// makes the event id unique.
func (tp template) render(email, opID string, i int) []byte {
	s := emailPattern.ReplaceAllLiteralString(tp.text, email)
	s = opIDPattern.ReplaceAllLiteralString(s, opID)
	s = uuidPattern.ReplaceAllStringFunc(s, func(m string) string {
		k, _, _ := strings.Cut(m, ":")
		return fmt.Sprintf(`%s: "gen-%d-%s"`, k, i, tp.name)
	})
	return []byte(s)
}

// sampleTemplates are the decoder's golden samples: every supported format.
func sampleTemplates(t *testing.T) []template {
	t.Helper()
	files, err := filepath.Glob("../event/testdata/*.json")
	if err != nil || len(files) < 10 {
		t.Fatalf("samples: %v (%d files)", err, len(files))
	}
	var out []template
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, template{name: filepath.Base(f), text: string(b)})
	}
	return out
}

// randomCase flips the case of each ASCII letter at random.
func randomCase(rng *rand.Rand, s string) string {
	b := []byte(s)
	for i, c := range b {
		if rng.IntN(2) == 0 {
			switch {
			case 'a' <= c && c <= 'z':
				b[i] = c - 'a' + 'A'
			case 'A' <= c && c <= 'Z':
				b[i] = c - 'A' + 'a'
			}
		}
	}
	return string(b)
}

// lookAlike writes an email in a form that folds onto it: another case,
// full-width letters, the Kelvin sign for k, surrounding spaces.
func lookAlike(rng *rand.Rand, email string) string {
	switch rng.IntN(5) {
	case 0:
		return email
	case 1:
		return randomCase(rng, email)
	case 2: // full-width local part
		local, domain, _ := strings.Cut(email, "@")
		var b strings.Builder
		for _, r := range local {
			if 'a' <= r && r <= 'z' {
				r = r - 'a' + 'ａ'
			}
			b.WriteRune(r)
		}
		return b.String() + "@" + domain
	case 3:
		return strings.ReplaceAll(email, "k", "\u212a")
	default:
		return " " + randomCase(rng, email) + " "
	}
}

func kafkaMessage(i int) kafka.Message { return kafka.Message{Topic: "property", Offset: int64(i)} }
