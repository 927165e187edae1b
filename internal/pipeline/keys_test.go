package pipeline

import "github.com/tripline-dev/tripline/internal/signing"

// keysOf is a key ring over current and previous (nil: none), for tests;
// it panics on a key the ring refuses.
func keysOf(current, previous []byte) *signing.Keyring {
	k, err := signing.NewKeyring(current, previous)
	if err != nil {
		panic(err)
	}
	return k
}
