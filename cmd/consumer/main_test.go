package main

import (
	"os"
	"testing"
)

// runConsumerEnv, set to 1 in a child process's environment, makes this
// test binary run the consumer's main instead of the tests: a test that
// needs the consumer as a process of its own (to SIGKILL it) starts
// os.Args[0] with it rather than building the binary again, which would
// compile every package a second time without -race.
const runConsumerEnv = "TRIPLINE_TEST_RUN_CONSUMER"

func TestMain(m *testing.M) {
	if os.Getenv(runConsumerEnv) == "1" {
		main()
	}
	os.Exit(m.Run())
}
