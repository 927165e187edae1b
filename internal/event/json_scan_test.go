package event

import (
	"math/rand/v2"
	"testing"
)

// TestSpecial8 checks the word-at-a-time scan of strings against a byte
// loop, on every byte value at every position and on random words.
func TestSpecial8(t *testing.T) {
	want := func(b [8]byte) bool {
		for _, c := range b {
			if c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
				return true
			}
		}
		return false
	}
	check := func(b [8]byte) {
		if got := special8(load8(b[:], 0)); got != want(b) {
			t.Fatalf("special8(%q) = %v, want %v", b, got, !got)
		}
	}
	for pos := range 8 {
		for c := range 256 {
			b := [8]byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
			b[pos] = byte(c)
			check(b)
			for _, other := range []byte{0x00, 0x1f, 0x20, 0x21, '"', '#', '\\', ']', 0x7f, 0x80, 0xff} {
				b2 := b
				b2[(pos+3)%8] = other
				check(b2)
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1_000_000 {
		var b [8]byte
		w := r.Uint64()
		for i := range b {
			b[i] = byte(w >> (8 * i))
			if r.IntN(2) == 0 {
				b[i] &= 0x7f
			}
			if r.IntN(3) == 0 {
				b[i] |= 0x20
			}
		}
		check(b)
	}
}
