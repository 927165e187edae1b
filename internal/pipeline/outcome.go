package pipeline

import (
	"context"

	"github.com/tripline-dev/tripline/internal/deadletter"
	"github.com/tripline-dev/tripline/internal/remediate"
)

// MessageOutcome is what became of one message that reached its final
// outcome, for Deps.OnOutcome (the DLQ replay's report, internal/dlq).
type MessageOutcome struct {
	// Topic, Partition and Offset say where the message was read.
	Topic     string
	Partition int
	Offset    int64
	// Record is the record of tripline's the message carried (a replayed
	// dead-letter record, a parked decision, an answer), decoded once at
	// fetch; zero (deadletter.KindNone) for a source event. A refused
	// message's Record is what it claims to be, unverified.
	Record deadletter.Record
	// Refused is the reason code of a refusal (unsigned, bad_signature,
	// other_key, no_key, future_time, refused); "" when the message was
	// admitted.
	Refused string
	// Decisions are the outcomes its decisions and answers reached (each
	// audited by the decision service), in the order they were reached.
	Decisions []remediate.Outcome
	// DeadLettered are the records written to the dead-letter topic for it,
	// Parked those written to the retry topic, in the order written. A
	// replay writes no refused record back: see Refused.
	DeadLettered, Parked []deadletter.Record
}

// outcomeNote is a message's outcome waiting for the partition's watermark
// to pass it, with the context (and trace) of its message.
type outcomeNote struct {
	ctx context.Context
	out MessageOutcome
}

// outcome is what became of m, once finished.
func (m *message) outcome() MessageOutcome {
	m.mu.Lock()
	defer m.mu.Unlock()
	msg := m.env.msg
	o := MessageOutcome{Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset, Record: m.env.own,
		Decisions: m.outcomes, DeadLettered: m.deadLettered, Parked: m.parked}
	for _, f := range m.fails {
		if f.class == ClassRefused {
			o.Refused = f.reason
			break
		}
	}
	return o
}

// emitOutcome hands one outcome to Deps.OnOutcome.
func (c *Consumer) emitOutcome(n outcomeNote) { c.deps.OnOutcome(n.ctx, n.out) }
