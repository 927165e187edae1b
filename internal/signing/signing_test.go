package signing_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tripline-dev/tripline/internal/signing"
)

var (
	keyA = []byte("0123456789abcdef-key-a")
	keyB = []byte("0123456789abcdef-key-b")
	keyC = []byte("0123456789abcdef-key-c")
)

func mustRing(t *testing.T, cur, prev []byte) *signing.Keyring {
	t.Helper()
	k, err := signing.NewKeyring(cur, prev)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return k
}

func TestSignVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	k := mustRing(t, keyA, nil)
	sig := k.Sign([]byte("key"), []byte("value"))
	if !strings.HasPrefix(sig, "k="+signing.Fingerprint(keyA)+",v1=") {
		t.Fatalf("signature %q does not name the key", sig)
	}
	prev, err := k.Verify(sig, []byte("key"), []byte("value"))
	if err != nil || prev {
		t.Fatalf("Verify = %v, %v; want current key", prev, err)
	}
	if _, err := k.Verify(sig, []byte("key"), []byte("valuf")); !errors.Is(err, signing.ErrBadSignature) {
		t.Fatalf("changed value: %v, want ErrBadSignature", err)
	}
	// Fields are length-prefixed: moving a byte across a boundary breaks it.
	if _, err := k.Verify(sig, []byte("keyv"), []byte("alue")); !errors.Is(err, signing.ErrBadSignature) {
		t.Fatalf("shifted boundary: %v, want ErrBadSignature", err)
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	old := mustRing(t, keyA, nil)
	sig := old.Sign([]byte("x"))
	rotated := mustRing(t, keyB, keyA)
	prev, err := rotated.Verify(sig, []byte("x"))
	if err != nil || !prev {
		t.Fatalf("after rotation: %v, %v; want valid under the previous key", prev, err)
	}
	if got := rotated.Sign([]byte("x")); !strings.HasPrefix(got, "k="+signing.Fingerprint(keyB)) {
		t.Fatalf("rotated ring signs with %q, want the current key", got)
	}
	other := mustRing(t, keyC, nil)
	_, err = other.Verify(sig, []byte("x"))
	var oke *signing.OtherKeyError
	if !errors.As(err, &oke) || oke.Fingerprint != signing.Fingerprint(keyA) || !errors.Is(err, signing.ErrOtherKey) {
		t.Fatalf("unknown key: %v, want OtherKeyError naming %s", err, signing.Fingerprint(keyA))
	}
	if !strings.Contains(err.Error(), signing.Fingerprint(keyA)) || strings.Contains(err.Error(), string(keyA)) {
		t.Fatalf("error %q must name the fingerprint, never the key", err)
	}
}

func TestLegacySignatureWithoutFingerprint(t *testing.T) {
	t.Parallel()
	sig := mustRing(t, keyA, nil).Sign([]byte("x"))
	legacy := sig[strings.Index(sig, "v1="):]
	if _, err := mustRing(t, keyB, keyA).Verify(legacy, []byte("x")); err != nil {
		t.Fatalf("legacy signature under the previous key: %v", err)
	}
	if _, err := mustRing(t, keyB, nil).Verify(legacy, []byte("x")); !errors.Is(err, signing.ErrBadSignature) {
		t.Fatalf("legacy signature under no held key: %v, want ErrBadSignature", err)
	}
}

func TestVerifyRefusals(t *testing.T) {
	t.Parallel()
	k := mustRing(t, keyA, nil)
	cases := map[string]struct {
		ring *signing.Keyring
		sig  string
		want error
	}{
		"empty":     {k, "", signing.ErrUnsigned},
		"garbage":   {k, "hello", signing.ErrBadSignature},
		"short mac": {k, "v1=abcd", signing.ErrBadSignature},
		"no key":    {nil, k.Sign([]byte("x")), signing.ErrNoKey},
		"empty key": {mustRing(t, nil, nil), k.Sign([]byte("x")), signing.ErrNoKey},
	}
	for name, c := range cases {
		if _, err := c.ring.Verify(c.sig, []byte("x")); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestNewKeyringRefuses(t *testing.T) {
	t.Parallel()
	cases := map[string][2][]byte{
		"short current":         {[]byte("short"), nil},
		"previous alone":        {nil, keyA},
		"short previous":        {keyA, []byte("short")},
		"previous equal to cur": {keyA, append([]byte(nil), keyA...)},
	}
	for name, c := range cases {
		if _, err := signing.NewKeyring(c[0], c[1]); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	var nilRing *signing.Keyring
	if nilRing.Signs() || nilRing.Sign([]byte("x")) != "" || nilRing.Fingerprint() != "" {
		t.Fatal("the nil ring must sign nothing")
	}
}

func TestReason(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]string{
		signing.ErrUnsigned:          "unsigned",
		&signing.OtherKeyError{"ab"}: "other_key",
		signing.ErrNoKey:             "no_key",
		signing.ErrBadSignature:      "bad_signature",
	} {
		if got := signing.Reason(err); got != want {
			t.Errorf("Reason(%v) = %q, want %q", err, got, want)
		}
	}
}
