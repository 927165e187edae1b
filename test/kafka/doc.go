// Package kafka holds the Kafka integration suite, built only with the
// `kafka` build tag:
//
//	make test-kafka                                   # embedded broker
//	bash scripts/kafka-local.sh up && make test-kafka # real Apache Kafka
//
// Tests get a broker from kafkatest.Brokers (KAFKA_BROKERS when set, else an
// in-process broker) and fresh topics from kafkatest.NewTopic, so each test
// is independent of the others and of leftovers on a shared broker.
package kafka
