// Package pipeline is tripline's consumer loop: it fetches messages from the
// source topics as a Kafka consumer group, continues the producer's trace,
// decodes and normalizes each message, evaluates the rules, hands
// enforce-mode decisions to the executor (retrying transient failures with
// backoff), records every outcome, dead-letters what it cannot handle and
// only then commits the offset.
//
// Delivery: at least once. An offset is committed only after its message and
// every earlier message of its partition reached a final outcome (done,
// nothing to do, shadow, dry run, dead-lettered). Partitions are processed in
// parallel, each in order. If a dead-letter or audit write fails, Run returns
// an error without committing that message, so it is redelivered after a
// restart.
//
// pipeline and internal/kafkaio import kafka-go; cmd/consumer does not.
// pipeline only moves messages and does not read the configuration;
// kafkaio builds the connection (TLS, SASL), the readers and writers, and
// checks the topics. pipeline declares the narrow interfaces it needs
// (Source, DeadLetterWriter, Decoder, Evaluator, Executor, Recorder);
// cmd/consumer wires the concrete types.
package pipeline
