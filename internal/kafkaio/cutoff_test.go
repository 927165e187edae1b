package kafkaio

import (
	"testing"

	"github.com/tripline-dev/tripline/internal/deadletter"
	"github.com/tripline-dev/tripline/internal/ledger"
)

// TestCutOffHeaderIsTheLedgers: the ledger recognises a record cut off while
// inflating by the header this package writes; if the two names drifted,
// the ledger would take such a record for a tombstone.
func TestCutOffHeaderIsTheLedgers(t *testing.T) {
	if ledger.HeaderCutOff != deadletter.HeaderInflateTooLarge {
		t.Fatalf("ledger.HeaderCutOff = %q, deadletter.HeaderInflateTooLarge = %q", ledger.HeaderCutOff, deadletter.HeaderInflateTooLarge)
	}
}
