package pipeline

import (
	"context"
	"errors"

	"github.com/segmentio/kafka-go"
)

// Source is where messages come from: the consumer group as this member
// sees it, one generation at a time (kafkaio.GroupSource), or a bounded
// set of partitions (kafkaio's DLQ replay source).
//
// Next blocks until the member's next generation starts (it joins, or
// rejoins after a rebalance) and returns it. It returns ErrEndOfInput when
// there is nothing more to read, and ctx's error when ctx is done.
type Source interface {
	Next(ctx context.Context) (Generation, error)
}

// Generation is the set of partitions this member owns until the group
// rebalances.
//
// Claims lists them with the offset to start reading at. Start runs fn,
// whose ctx is done when the generation ends (the partitions are revoked);
// the member does not rejoin until fn returns, so fn may finish what it
// started (within the rebalance timeout) and commit, but nothing it does
// after returning is in the generation any more. Reader opens a claimed
// partition. Commit commits, per partition, the next offset to read; it
// fails once the generation is over.
type Generation interface {
	Claims() []Claim
	Start(fn func(ctx context.Context))
	Reader(c Claim) PartitionReader
	Commit(ctx context.Context, offsets map[TopicPartition]int64) error
}

// TopicPartition names one partition of one topic.
type TopicPartition struct {
	Topic     string
	Partition int
}

// Claim is a partition owned in a generation and where reading starts:
// an absolute offset, or kafka.FirstOffset / kafka.LastOffset.
type Claim struct {
	TopicPartition
	Offset int64
}

// PartitionReader reads one claimed partition in offset order.
// FetchMessage blocks until a message arrives or ctx is done; it returns
// ErrEndOfInput when a bounded partition is finished.
type PartitionReader interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	Close() error
}

// ErrPermanent marks a Source's Next error that trying again cannot cure
// (a second DLQ replay of the same group): Run returns it at once. Other
// errors of Next (a rebalance in progress, a coordinator loading, a
// connection reset) are tried again for up to Config.FetchRetry.
var ErrPermanent = errors.New("permanent")

// ErrEndOfInput, from a Source's Next or a PartitionReader's FetchMessage,
// says there is nothing more to read (a bounded source such as the DLQ
// replay's): Run lets every message already fetched finish, commits and
// returns nil.
var ErrEndOfInput = errors.New("end of input")
