package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/config"
	"github.com/tripline-dev/tripline/internal/notify"
	"github.com/tripline-dev/tripline/internal/opsim"
)

const webhookSecret = "e2e-webhook-signing-secret"

// receiver is a local webhook receiver that checks every signature.
type receiver struct {
	t    *testing.T
	mu   sync.Mutex
	got  []map[string]any
	raws []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if err := notify.VerifySignature(req.Header.Get(notify.SignatureHeader), body, []byte(webhookSecret), time.Now(), time.Minute); err != nil {
		r.t.Errorf("notification with a bad signature: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		r.t.Errorf("notification body %q: %v", body, err)
	}
	r.mu.Lock()
	r.got, r.raws = append(r.got, m), append(r.raws, string(body))
	r.mu.Unlock()
}

func (r *receiver) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.got {
		out = append(out, m["type"].(string))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestEndToEndNotifications: a local webhook receives, signed, the action,
// the breaker trip and the dead-letter of a refused suspension; the
// emails stay out of it (the 1Password user id and a hash go instead).
func TestEndToEndNotifications(t *testing.T) {
	rcv := &receiver{t: t}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	e := newE2E(t, "signins", opsim.Seed{Users: []opsim.UserSeed{{Email: "owner@example.com", Role: "owner"}}})
	e.cfg.Breaker.Global = "2/10m"
	e.cfg.Notify = config.Notify{WebhookURL: config.Secret(srv.URL + "/hook"), WebhookSecret: webhookSecret, EmailHashKey: "e2e-email-hash-key-0123",
		AllowInsecureLoopback: true, Queue: 100}
	_, stop := e.run()
	e.produce("signins", kafka.Message{Key: []byte("1"), Value: oktaSignIn("r1", "owner@example.com", "HIGH")})
	waitFor(t, "the refused suspension notified", func() bool { return slices.Contains(rcv.types(), "dlq") })
	// Then a burst over the cap of 2: two actions and the breaker trip.
	e.produce("signins",
		kafka.Message{Key: []byte("2"), Value: oktaSignIn("r2", "user00001@example.com", "HIGH")},
		kafka.Message{Key: []byte("3"), Value: oktaSignIn("r3", "user00002@example.com", "HIGH")},
		kafka.Message{Key: []byte("4"), Value: oktaSignIn("r4", "user00003@example.com", "HIGH")},
	)
	waitFor(t, "the action and breaker notifications", func() bool {
		got := rcv.types()
		return slices.Contains(got, "action") && slices.Contains(got, "breaker_open")
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for i, raw := range rcv.raws {
		if strings.Contains(raw, "@example.com") {
			t.Errorf("notification %d carries an email: %s", i, raw)
		}
		m := rcv.got[i]
		switch m["type"] {
		case "action":
			if m["op_user_id"] == "" || m["result"] != "suspended" || !strings.HasPrefix(m["email_hash"].(string), "hmac-sha256:") {
				t.Errorf("action notification %v", m)
			}
		case "dlq":
			if m["class"] != "cannot_suspend" {
				t.Errorf("dlq notification %v", m)
			}
		case "breaker_open":
			if m["scope"] != "global" {
				t.Errorf("breaker notification %v", m)
			}
		}
	}
}
