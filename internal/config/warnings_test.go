package config

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func TestWeakKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		key  string
		weak string // a part of the reason; "" when the key is not weak
	}{
		{"empty: no key, not a weak one", "", ""},
		{"16 identical bytes", strings.Repeat("a", 16), "distinct byte values: 1 in 16 bytes"},
		{"32 zero bytes", strings.Repeat("\x00", 32), "distinct byte values: 1 in 32 bytes"},
		{"7 distinct values", "abcdefgabcdefgfedcbagfedcba", "distinct byte values: 7 in 27 bytes"},
		{"one value makes up more than half", "x1x2x3x4x5x6x7x8xxxxxx", "one byte value makes up 14 of its 22 bytes"},
		{"a run of 8 identical bytes", "3f9a1c7e00000000d2b5486e", "a run of 8 identical bytes"},
		{"a repeated pattern", "0123456789abcdef0123456789abcdef", "the same 16 bytes repeated"},
		{"a repeated phrase, cut short", "correcthorsebatcorrecthorsebatcorr", "the same 15 bytes repeated"},
		{"random 32-byte hex", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", ""},
		{"random 16-byte hex", "5d41402abc4b2a76b9719d911017c592", ""},
		{"random base64", "q3Zp0wVb8tYk2LxN7mRc4HsJ9eUa1fGd6iTo5yPzKjQ=", ""},
		{"a run of 7 is allowed", "3f9a1c7e0000000d2b5486e1", ""},
		{"exactly half one value is allowed", "a1a2a3a4a5a6a7a8", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := weakKey([]byte(tc.key))
			if (got == "") != (tc.weak == "") || !strings.Contains(got, tc.weak) {
				t.Errorf("weakKey(%q) = %q, want %q", tc.key, got, tc.weak)
			}
		})
	}
}

// TestWeakKeyPassesRandomKeys: random keys, raw, in hex and in base64,
// never warn.
func TestWeakKeyPassesRandomKeys(t *testing.T) {
	t.Parallel()
	for i := range 2000 {
		raw := make([]byte, 16+i%17)
		if _, err := rand.Read(raw); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{string(raw), hex.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw)} {
			if why := weakKey([]byte(key)); why != "" {
				t.Fatalf("random key %q: %s", key, why)
			}
		}
	}
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	const (
		weak   = "aaaaaaaaaaaaaaaa"
		strong = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	)
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    []string // one part of each warning, in order
		secrets []string // what no warning may contain
	}{
		{"defaults", nil, nil, nil},
		{"strong signing keys", map[string]string{"TRIPLINE_DLQ_SIGNING_KEY": strong, "TRIPLINE_DLQ_SIGNING_KEY_PREVIOUS": "5d41402abc4b2a76b9719d911017c592"}, nil, nil},
		{"global breaker off", map[string]string{"TRIPLINE_BREAKER_GLOBAL": "0"},
			[]string{"breaker.global (TRIPLINE_BREAKER_GLOBAL) is 0: the global breaker is off, every rule together may suspend without limit; set breaker.global, e.g. 20/10m"}, nil},
		{"weak signing key", map[string]string{"TRIPLINE_DLQ_SIGNING_KEY": weak},
			[]string{"kafka.dlq_signing_key (TRIPLINE_DLQ_SIGNING_KEY) has too little variety"}, []string{weak, "aaaa"}},
		{"weak previous key", map[string]string{"TRIPLINE_DLQ_SIGNING_KEY": strong, "TRIPLINE_DLQ_SIGNING_KEY_PREVIOUS": "passwordpassword"},
			[]string{"kafka.dlq_signing_key_previous (TRIPLINE_DLQ_SIGNING_KEY_PREVIOUS) has too little variety"}, []string{strong, "password"}},
		{"everything at once", map[string]string{"TRIPLINE_BREAKER_GLOBAL": "0", "TRIPLINE_DLQ_SIGNING_KEY": "0000000000000000", "TRIPLINE_DLQ_SIGNING_KEY_PREVIOUS": weak},
			[]string{"breaker.global", "kafka.dlq_signing_key (", "kafka.dlq_signing_key_previous ("}, []string{"0000", "aaaa"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := validEnv()
			for k, v := range tc.env {
				env[k] = v
			}
			cfg, err := Load("", mapLookup(env))
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.Warnings()
			if len(got) != len(tc.want) {
				t.Fatalf("warnings %q, want %d", got, len(tc.want))
			}
			for i, w := range got {
				if !strings.Contains(w, tc.want[i]) {
					t.Errorf("warning %d: %q, want it to contain %q", i, w, tc.want[i])
				}
				for _, s := range tc.secrets {
					if strings.Contains(w, s) {
						t.Errorf("warning %q shows a secret (%q)", w, s)
					}
				}
			}
		})
	}
}
