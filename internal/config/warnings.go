package config

import "fmt"

// Warnings returns the settings that are valid but risky, one sentence
// each, for the consumer to log once at start: the global breaker turned
// off, and a signing key (kafka.dlq_signing_key, or
// kafka.dlq_signing_key_previous) with too little variety to be random. No
// warning includes a secret or any part of one.
func (c Config) Warnings() []string {
	var out []string
	if count, _, err := c.BreakerGlobal(); err == nil && count == 0 {
		out = append(out, fmt.Sprintf("breaker.global (%s) is 0: the global breaker is off, every rule together may suspend without limit; set breaker.global, e.g. 20/10m", envName("breaker.global")))
	}
	for _, k := range []struct {
		key   string
		value Secret
	}{
		{"kafka.dlq_signing_key", c.Kafka.DLQSigningKey},
		{"kafka.dlq_signing_key_previous", c.Kafka.DLQSigningKeyPrevious},
	} {
		if why := weakKey([]byte(k.value.Reveal())); why != "" {
			out = append(out, fmt.Sprintf("%s (%s) has too little variety to be a random key (%s): anyone who guesses it can forge the records tripline trusts; use random bytes, e.g. openssl rand -hex 32", k.key, envName(k.key), why))
		}
	}
	return out
}

// Limits of weakKey. A random key, even written in hex (16 symbols), has
// at least minKeyDistinct distinct byte values, no byte value making up
// half of it, no run of maxKeyRun identical bytes (in hex, about one key
// in five million has one) and no repeated pattern.
const (
	minKeyDistinct = 8
	maxKeyRun      = 8
)

// weakKey says why key has too little variety to be random, or returns ""
// (also for an empty key: no key is not a weak one). The reason gives
// counts only, never a byte of the key.
func weakKey(key []byte) string {
	n := len(key)
	if n == 0 {
		return ""
	}
	var counts [256]int
	distinct, most := 0, 0
	run, longest := 0, 0
	for i, b := range key {
		if counts[b] == 0 {
			distinct++
		}
		counts[b]++
		most = max(most, counts[b])
		if i > 0 && key[i-1] == b {
			run++
		} else {
			run = 1
		}
		longest = max(longest, run)
	}
	switch {
	case distinct < minKeyDistinct:
		return fmt.Sprintf("distinct byte values: %d in %d bytes", distinct, n)
	case 2*most > n:
		return fmt.Sprintf("one byte value makes up %d of its %d bytes", most, n)
	case longest >= maxKeyRun:
		return fmt.Sprintf("a run of %d identical bytes", longest)
	}
	if p := period(key); p > 0 {
		return fmt.Sprintf("the same %d bytes repeated", p)
	}
	return ""
}

// period returns the length of the shortest block that key repeats at
// least twice over (the last repetition may be cut short), or 0 when it
// has none.
func period(key []byte) int {
	for p := 1; 2*p <= len(key); p++ {
		repeats := true
		for i := p; i < len(key); i++ {
			if key[i] != key[i-p] {
				repeats = false
				break
			}
		}
		if repeats {
			return p
		}
	}
	return 0
}
