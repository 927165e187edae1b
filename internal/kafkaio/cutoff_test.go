package kafkaio

import (
	"testing"

	"github.com/tripline-dev/tripline/internal/ledger"
	"github.com/tripline-dev/tripline/internal/pipeline"
)

// TestCutOffHeaderIsTheLedgers: the ledger recognises a record cut off while
// inflating by the header this package writes; if the two names drifted,
// the ledger would take such a record for a tombstone.
func TestCutOffHeaderIsTheLedgers(t *testing.T) {
	if ledger.HeaderCutOff != pipeline.HeaderInflateTooLarge {
		t.Fatalf("ledger.HeaderCutOff = %q, pipeline.HeaderInflateTooLarge = %q", ledger.HeaderCutOff, pipeline.HeaderInflateTooLarge)
	}
}
