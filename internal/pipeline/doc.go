// Package pipeline is tripline's consumer loop. It only moves messages: it
// fetches them from the source topics as a Kafka consumer group, continues
// the producer's trace, decodes and normalizes each message, evaluates the
// rules, hands every decision to the decision service (internal/remediate,
// through the Decider interface), dead-letters what failed (decode errors,
// rule errors, panics, and the failures and held decisions the decision
// service returns, each with its class) and only then commits the offset.
// It never calls the Users API and owns no policy: modes, guards, retries,
// the ledger and the audit record are the decision service's.
//
// Delivery: at least once. An offset is committed only after its message and
// every earlier message of its partition reached a final outcome (decided,
// nothing to do, dead-lettered). Partitions are processed in parallel, each
// in order. If a dead-letter write fails, or the decision service reports a
// failed ledger or audit write, Run returns an error without committing that
// message, so it is redelivered after a restart. A Source may end its input
// (ErrEndOfInput: the DLQ replay's bounded source); Run then finishes what
// it fetched, commits and returns.
//
// pipeline and internal/kafkaio import kafka-go; cmd/consumer does not.
// pipeline does not read the configuration; kafkaio builds the connection
// (TLS, SASL), the readers and writers, and checks the topics. pipeline
// declares the narrow interfaces it needs (Source, DeadLetterWriter,
// Decoder, Evaluator, Decider); cmd/consumer wires the concrete types. It
// must not import internal/onepassword or internal/config.
package pipeline
