package pipeline

import "github.com/tripline-dev/tripline/internal/deadletter"

// Names of some headers of tripline's own records, for code that looks at
// a record's headers one by one (the end-to-end tests of cmd/consumer).
// internal/deadletter is their codec: everything that writes or reads
// such a record goes through it.
const (
	HeaderSourceTopic     = deadletter.HeaderSourceTopic
	HeaderSourcePartition = deadletter.HeaderSourcePartition
	HeaderSourceOffset    = deadletter.HeaderSourceOffset
	HeaderErrorClass      = deadletter.HeaderErrorClass
	HeaderErrorReason     = deadletter.HeaderErrorReason
	HeaderErrorMessage    = deadletter.HeaderErrorMessage
	HeaderRuleID          = deadletter.HeaderRuleID
	HeaderAttempts        = deadletter.HeaderAttempts
	HeaderFirstFailure    = deadletter.HeaderFirstFailure
	HeaderRetryable       = deadletter.HeaderRetryable
	HeaderSignature       = deadletter.HeaderSignature
)
