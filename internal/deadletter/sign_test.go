package deadletter

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/segmentio/kafka-go"

	"github.com/tripline-dev/tripline/internal/signing"
)

func keysOf(t *testing.T, current, previous []byte) *signing.Keyring {
	t.Helper()
	k, err := signing.NewKeyring(current, previous)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSignatureCoversKeyValueAndTriplineHeaders: a signed record verifies
// under its key (and under a ring holding it as the previous key); any
// change to its key, value or a tripline.* header, or a tripline.* header
// added (one the codec does not know included), breaks it; a producer's
// header does not. Unsigned, other-key and no-key records are told apart.
func TestSignatureCoversKeyValueAndTriplineHeaders(t *testing.T) {
	t.Parallel()
	keys := keysOf(t, goldenKey, nil)
	m := kafka.Message{Key: []byte("k"), Value: []byte(`{"uuid":"e1"}`),
		Headers: append([]kafka.Header{{Key: "origin", Value: []byte("siem")}}, full.Encode()...)}
	Sign(&m, keys)
	if err := Verify(m, keys); err != nil {
		t.Fatalf("Verify = %v", err)
	}
	if err := Verify(m, keysOf(t, []byte("the-key-after-the-rotation"), goldenKey)); err != nil {
		t.Errorf("under the previous key: %v", err)
	}
	change := func(f func(*kafka.Message)) kafka.Message {
		c := m
		c.Headers = slices.Clone(m.Headers)
		f(&c)
		return c
	}
	for name, c := range map[string]kafka.Message{
		"value":    change(func(c *kafka.Message) { c.Value = []byte(`{"forged":true}`) }),
		"key":      change(func(c *kafka.Message) { c.Key = []byte("other") }),
		"a header": change(func(c *kafka.Message) { c.Headers[3].Value = []byte("2020-01-01T00:00:00Z") }),
		"a due time": change(func(c *kafka.Message) {
			c.Headers = append(c.Headers, kafka.Header{Key: HeaderRetryDue, Value: []byte("x")})
		}),
		"unknown header": change(func(c *kafka.Message) {
			c.Headers = append(c.Headers, kafka.Header{Key: "tripline.new", Value: []byte("1")})
		}),
		"header removed": change(func(c *kafka.Message) { c.Headers = slices.Delete(c.Headers, 5, 6) }),
	} {
		if err := Verify(c, keys); !errors.Is(err, signing.ErrBadSignature) {
			t.Errorf("changed %s: %v, want ErrBadSignature", name, err)
		}
	}
	producer := change(func(c *kafka.Message) {
		c.Headers = append(c.Headers, kafka.Header{Key: "x-trace", Value: []byte("1")})
	})
	if err := Verify(producer, keys); err != nil {
		t.Errorf("a producer's header added: %v", err)
	}
	unsigned := change(func(c *kafka.Message) { c.Headers = c.Headers[:len(c.Headers)-1] })
	if err := Verify(unsigned, keys); !errors.Is(err, signing.ErrUnsigned) {
		t.Errorf("unsigned: %v", err)
	}
	err := Verify(m, keysOf(t, []byte("another key, 16 bytes or more"), nil))
	if !errors.Is(err, signing.ErrOtherKey) || !strings.Contains(err.Error(), "TRIPLINE_DLQ_SIGNING_KEY_PREVIOUS") {
		t.Errorf("another key: %v, want ErrOtherKey with the rotation hint", err)
	}
	if err := Verify(m, nil); !errors.Is(err, signing.ErrNoKey) || !strings.Contains(err.Error(), "TRIPLINE_DLQ_SIGNING_KEY") {
		t.Errorf("no key: %v", err)
	}
	none := m
	Sign(&none, nil)
	if len(none.Headers) != len(m.Headers) {
		t.Error("signed without a key")
	}
}
