// Package dlq holds the bookkeeping of `consumer dlq replay`: the replay is
// the consumer's pipeline with the dead-letter topic as its bounded source
// (kafkaio.BoundedSource), and a Tracker follows each dead-letter record
// from fetch to commit (its decisions, through the decision service's
// audit; its failure again, through the pipeline's dead-letter writer) and
// prints one line per record, in offset order, and a summary.
//
// It imports pipeline (header names, the dead-letter seam), remediate (the
// audit record) and kafkaio (the plain record type); it never acts itself.
package dlq
