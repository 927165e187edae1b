// Package dlq holds the bookkeeping of `consumer dlq replay`: the replay is
// the consumer's pipeline with the dead-letter topic as its bounded source
// (kafkaio.BoundedSource), and a Tracker hears of each dead-letter record's
// final outcome from the pipeline (pipeline.Deps.OnOutcome: in offset
// order within a partition, with the record as the pipeline decoded it,
// its decisions' outcomes, what it dead-lettered again, or why it was
// refused), and prints one line per record and a summary. DryRun is the
// dead-letter writer of a dry run.
//
// It imports pipeline (the outcome), deadletter (the record) and
// remediate (the results); it never acts itself.
package dlq
