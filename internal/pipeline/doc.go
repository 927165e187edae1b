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
// Concurrency. A Source hands out generations: the partitions this member
// owns until the group rebalances. Each partition has its own reader. Its
// messages are queued for the decoders (decoders.go: Config.Decoders
// long-lived goroutines, all the cores by default) as they arrive, so
// fetching goes on while they decode and evaluate, and handed over in
// offset order. Their decisions go to workers keyed by user (keyed.go): one
// user's decisions run in arrival order, different users' run in parallel,
// up to Config.MaxInFlight in the process; when the limit is reached, the
// hand-over waits and so does fetching, as it does when the fetched bytes
// not yet finished reach Config.BufferBytes. So a slow or retrying user
// holds up only its own later events, never the partition.
//
// Delivery: at least once. Messages of a partition finish out of order; a
// tracker per partition (track.go) commits up to the lowest offset not yet
// finished (a contiguous watermark), so an offset is committed only after
// its message and every earlier message of its partition reached a final
// outcome (decided, nothing to do, dead-lettered). A message that yields
// several events (a batch) finishes when all of them have. Commits are
// batched by count and interval and go through the generation, so a member
// can no longer commit a partition once it lost it. When a generation ends
// (a rebalance, shutdown, or a bounded source's end), fetching stops, the
// work in flight gets Config.ShutdownGrace to finish, what finished is
// committed, and whatever still runs after that is abandoned: its outcome
// is never committed by this member and the message is redelivered to the
// partition's next owner, whose ledger check makes the repeat harmless. If
// a dead-letter write fails, or the decision service reports a failed
// ledger or audit write, Run returns an error without committing that
// message, so it is redelivered after a restart. A Source may end its
// input (ErrEndOfInput: the DLQ replay's bounded source); Run then
// finishes what it fetched, commits and returns.
//
// Classification (envelope.go): each message is classified once, where it
// is fetched, into an envelope: a source event, a parked decision, an
// answer to a pending approval, or refused (with the reason). A record of
// tripline's (parked, answer, replayed dead letter) has its signature
// verified there, once, and its headers decoded there, once, by
// internal/deadletter, the codec of tripline's records; nothing after
// reads the headers again. Deps.OnOutcome hears what became of each
// message (its decisions' outcomes, the records it dead-lettered or
// parked, or its refusal), in offset order within a partition, once its
// offset may be committed.
//
// Parking (retry.go): a decision that failed for a reason that may pass is
// written to the retry topic with a due time instead of the DLQ, and its
// source offset committed; the group reads the retry topic back, waits for
// each record's due time and decides again, with growing delays, until
// Config.Retry.Max, then dead-letters it. Whether parking and approvals
// are on is decided by the caller (internal/app); the pipeline obeys
// Config.Retry.Topic and Config.AnswersTopic. A replay of the dead-letter
// topic is the same pipeline with Config.Replay set.
//
// pipeline, internal/kafkaio and internal/deadletter import kafka-go;
// cmd/consumer does not.
// pipeline does not read the configuration; kafkaio builds the connection
// (TLS, SASL), the sources, readers and writers, and checks the topics. pipeline
// declares the narrow interfaces it needs (Source, DeadLetterWriter,
// Decoder, Evaluator, Decider); internal/app wires the concrete types. It
// must not import internal/onepassword or internal/config.
package pipeline
