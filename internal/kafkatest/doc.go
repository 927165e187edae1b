// Package kafkatest gives tests a Kafka broker and fresh topics.
//
// Start runs an in-process broker (internal/devbroker) for the life of a
// test. Brokers returns KAFKA_BROKERS when it is set, so the same test runs
// against a real Apache Kafka (scripts/kafka-local.sh, make test-kafka), and
// otherwise starts one. NewTopic creates a uniquely named topic on either.
//
// Only test code imports this package.
package kafkatest
