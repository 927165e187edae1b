// Package kafkaio is the Kafka plumbing shared by tripline's clients:
// connection settings (TLS, SASL), readers, writers, topic checks, consumer
// group and offset queries, and the bounded source of the dead-letter
// replay.
//
// It imports kafka-go, as internal/pipeline does, and knows nothing of
// tripline's configuration tree: cmd/consumer translates the kafka section
// of the configuration into a Config and wires what this package builds
// into the pipeline, so that cmd/consumer itself needs no Kafka client code.
package kafkaio
