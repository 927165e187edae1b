package pipeline

import (
	"time"

	"github.com/cenkalti/backoff/v4"
)

// outageRetryMaxInterval is the longest wait between two attempts to join
// the consumer group, or to fetch, after a failure. When a broker dies,
// the cluster moves its partitions, and the group's coordinator if it was
// one, to other brokers within seconds; kafka-go's readers and group back
// off up to a second on their own, so a longer wait here only adds to the
// outage (test/kafka's broker-failover scenario measures it). How long the
// attempts may go on failing is Config.FetchRetry.
const outageRetryMaxInterval = time.Second

// outageBackOff is the retry policy of joining and fetching: waits from
// initial, growing to outageRetryMaxInterval, until failures have lasted
// budget.
func outageBackOff(initial, budget time.Duration) *backoff.ExponentialBackOff {
	return backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(initial),
		backoff.WithMaxInterval(outageRetryMaxInterval),
		backoff.WithMaxElapsedTime(budget),
	)
}
