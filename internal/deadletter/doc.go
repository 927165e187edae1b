// Package deadletter is the codec of tripline's own records: the records
// it writes to the topics it owns and may read back (dead-letter records,
// decisions parked on the retry topic, answers to pending approvals, and
// the notifications no sink took). Their description travels in Kafka
// headers named tripline.*; Record is that description as Go values, Encode
// writes it and Decode reads it, and Sign and Verify add and check the
// signature (internal/signing) that tells tripline's records from anyone
// else's. Every writer and reader of these records goes through this
// package: the pipeline, the DLQ replay, the demo, the notifications and
// the Kafka suite.
//
// The wire format is fixed: records written by earlier versions decode
// and verify, and records written now are read by them. A header name or
// value never changes meaning; a new field gets a new header.
//
// The package is a leaf: it imports kafka-go (the header type) and
// internal/signing, and nothing else of tripline.
package deadletter
