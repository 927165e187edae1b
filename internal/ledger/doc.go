// Package ledger keeps a key/value table in a compacted Kafka topic, shared
// by every instance of tripline. tripline's decision service stores its
// action ledger there (per user: last action, rule, event, prior state;
// breaker trips and re-arms), but this package knows nothing about what the
// records mean: keys are strings, values are opaque bytes, and a nil value
// is a tombstone (a deletion).
//
// The caller owns the table's contents. It passes an ApplyFunc, and the
// Table calls it for every record, one call at a time: at Load for what the
// topic already holds, from Run for what other instances write, and from Put
// for this instance's own writes.
//
// # Delivery contract
//
// Load reads every partition from its first offset up to its high-water mark
// as of the call; "caught up" means every record written (and acknowledged)
// before Load started has been applied when Load returns. Run then tails
// every partition until its ctx ends. There is no consumer group: each
// instance reads the whole topic itself.
//
// Put writes one record to the key's partition with acks=all and applies it
// locally once the broker acknowledged it, so a read of the caller's table
// right after Put sees the write. A key always lives in one partition, so
// its records are ordered by offset. The Table remembers, per key, the offset
// it applied last and applies a record only if its offset is higher: a
// record that arrives late (the tail delivering this instance's own write, or
// an older write of another instance) never replaces a newer one. Two
// instances racing on the same key therefore both end with the record that
// has the highest offset, whichever order they saw the writes in.
//
// A write is durable once Put returns nil. A Put that returns an error may
// still have reached the topic (the acknowledgement was lost, or the process
// died between the write and the local apply): such a record is not lost,
// Run applies it when the tail reaches it and every later Load reads it.
//
// The key-to-partition mapping (see Put) depends on the partition count:
// never add partitions to a ledger topic.
//
// # Imports
//
// ledger imports kafka-go and no other tripline package; only its tests use
// internal/kafkatest. It must not import pipeline, remediate or any domain
// package: those depend on it through their own one-method port,
// interface{ Put(ctx, key string, value []byte, signature string) error },
// which both Table and Memory satisfy. A record's signature is the caller's
// business: the table carries it in a header (so tombstones can be signed
// too) and hands it back to the ApplyFunc, unchecked.
package ledger
