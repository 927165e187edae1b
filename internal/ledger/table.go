package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/segmentio/kafka-go"
	"golang.org/x/sync/errgroup"
)

// ApplyFunc receives every record of the table, in offset order per key: at
// Load for what is already in the topic, from Run for what other instances
// write, and from Put for this instance's own writes. value is nil for a
// tombstone (deletion); signature is the record's signature header ("" when
// it has none), which the table carries but never checks. It is called from
// one goroutine at a time and must not call back into the Table.
type ApplyFunc func(key string, value []byte, signature string)

// HeaderSignature is the record header that carries a record's signature:
// an opaque string the caller computes over the key and value (see Put),
// so that a tombstone can be signed too.
const HeaderSignature = "tripline.signature"

// HeaderCutOff marks a record whose value was cut off while its batch was
// decompressed, because it would inflate past the process's bound
// (kafkaio.BoundDecompression, which names it deadletter.HeaderInflateTooLarge).
// Such a record comes without a value, yet it is not a tombstone: the table
// hands it to the ApplyFunc with an empty, non-nil value, which no caller
// writes and every caller refuses.
const HeaderCutOff = "tripline.inflate.too_large"

// ErrNotLoaded is returned by Put and Run when Load has not completed.
var ErrNotLoaded = errors.New("ledger: table not loaded")

var errEmptyKey = errors.New("ledger put: empty key")

// Defaults and limits.
const (
	// DefaultFetchMaxWait is how long a tail fetch waits for new records
	// when Config.FetchMaxWait is zero.
	DefaultFetchMaxWait = 500 * time.Millisecond
	// requestTimeout bounds every request to the brokers.
	requestTimeout = 10 * time.Second
	// fetchMaxBytes bounds one fetch response; a larger record still comes
	// back whole (the broker returns at least one batch).
	fetchMaxBytes = 1 << 20
	// maxFailure is how long Run (and the read in Load) keeps retrying a
	// partition whose fetches fail before it gives up.
	maxFailure = 5 * time.Minute
	// setupTimeout bounds the waits of Load that do not depend on the
	// table's size: metadata listing the topic, offsets answering.
	setupTimeout = 30 * time.Second
	// putBudget bounds how long one Put tries again after transient
	// failures (a broker restart, a leader election): past it, the write
	// fails and the consumer stops (fail-stop) rather than act unrecorded.
	putBudget = 30 * time.Second
)

// Config configures a Table.
type Config struct {
	Brokers   []string
	Transport *kafka.Transport // TLS/SASL shared with tripline's other clients; nil means kafka.DefaultTransport
	Topic     string           // required
	// Create creates the topic when missing, with cleanup.policy=compact.
	Create      bool
	Partitions  int // partitions when creating; 0 means 1
	Replication int // replication factor when creating; 0 or -1 means the broker default
	// MinInsyncReplicas, when positive, is the min.insync.replicas of the
	// topic when creating (0: the broker default).
	MinInsyncReplicas int
	// FetchMaxWait bounds how long a tail fetch waits for new records (0: 500ms).
	FetchMaxWait time.Duration
	// Logger for fetch retries (nil: discard).
	Logger *slog.Logger
}

// legalTopic matches the names Kafka accepts for a topic.
var legalTopic = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// validate reports every problem of cfg at once.
func (c Config) validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("no brokers"))
	}
	for i, b := range c.Brokers {
		if b == "" {
			errs = append(errs, fmt.Errorf("broker %d is empty", i))
		}
	}
	switch {
	case c.Topic == "":
		errs = append(errs, errors.New("no topic"))
	case !legalTopic.MatchString(c.Topic) || c.Topic == "." || c.Topic == "..":
		errs = append(errs, fmt.Errorf("topic %q is not a legal Kafka topic name", c.Topic))
	}
	if c.Partitions < 0 {
		errs = append(errs, fmt.Errorf("partitions %d is negative", c.Partitions))
	}
	if c.Replication < -1 {
		errs = append(errs, fmt.Errorf("replication %d is below -1", c.Replication))
	}
	if c.MinInsyncReplicas < 0 {
		errs = append(errs, fmt.Errorf("min insync replicas %d is negative", c.MinInsyncReplicas))
	}
	if c.FetchMaxWait < 0 {
		errs = append(errs, fmt.Errorf("fetch max wait %s is negative", c.FetchMaxWait))
	}
	return errors.Join(errs...)
}

// Table is a key/value table kept in a compacted Kafka topic. Call Load
// once, then Run in its own goroutine for the life of the process; Put may
// be called from many goroutines at once after Load.
type Table struct {
	cfg    Config
	client *kafka.Client
	log    *slog.Logger
	state  *state
	// maxFailure is the failure budget of a fetch loop; a test seam.
	maxFailure time.Duration

	loadMu  sync.Mutex // one Load at a time
	loaded  atomic.Bool
	running atomic.Bool
	// Set by Load before loaded is stored, read-only afterwards.
	partitions int
	// next is the next offset to fetch, by partition: written by Load,
	// then each element by the one Run goroutine that tails its partition.
	next []int64
	// applied mirrors next for readers other than the tail (Sync).
	applied []atomic.Int64
	// advanced is closed, and replaced, each time a tail moves applied
	// on: Sync waits on it rather than polling.
	advancedMu sync.Mutex
	advanced   chan struct{}
}

// New returns a Table over cfg.Topic that hands every record to apply. It
// validates cfg (reporting every problem at once) and does no I/O.
func New(cfg Config, apply ApplyFunc) (*Table, error) {
	err := cfg.validate()
	if apply == nil {
		err = errors.Join(err, errors.New("no apply function"))
	}
	if err != nil {
		return nil, fmt.Errorf("ledger config: %w", err)
	}
	if cfg.FetchMaxWait == 0 {
		cfg.FetchMaxWait = DefaultFetchMaxWait
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var transport kafka.RoundTripper = kafka.DefaultTransport
	if cfg.Transport != nil {
		transport = cfg.Transport
	}
	return &Table{
		cfg:        cfg,
		client:     &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Transport: transport, Timeout: requestTimeout},
		log:        log.With("topic", cfg.Topic),
		state:      newState(apply),
		maxFailure: maxFailure,
		advanced:   make(chan struct{}),
	}, nil
}

// Load makes sure the topic exists and is compacted, then reads every
// partition from its first offset up to its end as of the call (high-water
// mark), applying each record, and returns once caught up.
//
// If the topic exists and its cleanup.policy does not include "compact",
// Load fails with an error naming the topic, its policy and the fix. If it
// is missing and Config.Create is false, the error says so. A broker that
// cannot report the policy (DescribeConfigs unsupported or not authorized)
// is logged as a warning and the check skipped.
//
// Fetch failures while reading are retried with backoff, for at most five
// minutes per partition; ctx bounds the whole call. A failed Load may be
// called again (records it already applied are not applied twice); Load
// after a successful Load is an error.
func (t *Table) Load(ctx context.Context) error {
	t.loadMu.Lock()
	defer t.loadMu.Unlock()
	if t.loaded.Load() {
		return fmt.Errorf("ledger load %s: already loaded", t.cfg.Topic)
	}
	n, err := t.ensureTopic(ctx)
	if err != nil {
		return err
	}
	first, end, err := t.bounds(ctx, n)
	if err != nil {
		return fmt.Errorf("ledger load %s: %w", t.cfg.Topic, err)
	}
	next := make([]int64, n)
	g, gctx := errgroup.WithContext(ctx)
	for p := range n {
		g.Go(func() error {
			pos, err := t.catchUp(gctx, p, first[p], end[p])
			next[p] = pos
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("ledger load %s: %w", t.cfg.Topic, err)
	}
	t.partitions, t.next = n, next
	t.applied = make([]atomic.Int64, n)
	for p, pos := range next {
		t.applied[p].Store(pos)
	}
	t.loaded.Store(true)
	return nil
}

// Run tails every partition after Load, applying new records as they
// arrive, until ctx is done (then it returns nil). Transient fetch errors
// (broker restart, leader change) are retried with backoff and logged as
// warnings; Run returns an error only if fetching a partition keeps failing
// for longer than five minutes. It returns ErrNotLoaded before Load, and an
// error if another Run is active.
func (t *Table) Run(ctx context.Context) error {
	if !t.loaded.Load() {
		return ErrNotLoaded
	}
	if !t.running.CompareAndSwap(false, true) {
		return fmt.Errorf("ledger run %s: already running", t.cfg.Topic)
	}
	defer t.running.Store(false)
	g, gctx := errgroup.WithContext(ctx)
	for p := range t.partitions {
		g.Go(func() error { return t.tail(gctx, p) })
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("ledger run %s: %w", t.cfg.Topic, err)
	}
	return nil
}

// Put writes key=value (nil value: tombstone), with signature in the
// HeaderSignature header when it is not empty, to the key's partition with
// acks=all and, once acknowledged, applies it locally before returning, so
// a Get-after-Put on this instance sees it. An error means the record may
// not be durable; it may also have been written, in which case Run applies
// it when the tail reaches it.
//
// The partition is the FNV-1a hash of the key modulo the partition count,
// as kafka-go's kafka.Hash balancer computes it. A produce that fails with
// a transient error (a stale connection after a broker restart, a leader
// change) is tried again for up to 30 seconds, within ctx; a retried
// record may land twice, which the table absorbs (same key, same value).
//
// If a newer record of the key has already been applied (another instance
// wrote it and the tail delivered it first), Put does not apply its own and
// returns nil: the write is durable, just superseded. Put returns
// ErrNotLoaded before Load. It is safe for concurrent use; value should stay
// under a few hundred KiB (the broker's max.message.bytes bounds it).
func (t *Table) Put(ctx context.Context, key string, value []byte, signature string) error {
	if key == "" {
		return errEmptyKey
	}
	if !t.loaded.Load() {
		return ErrNotLoaded
	}
	value = bytes.Clone(value) // nil stays nil: a tombstone
	p := partitionFor(key, t.partitions)
	offset, err := t.produce(ctx, p, key, value, signature)
	if err != nil {
		return fmt.Errorf("ledger put %s to %s: %w", key, t.cfg.Topic, err)
	}
	t.state.offerWrite(p, key, value, signature, offset)
	return nil
}

// Sync waits until the table has applied every record written to the
// topic before the call, by any instance: a read after Sync sees what the
// others wrote until then. It needs Run; ctx bounds the wait. It costs one
// ListOffsets request (the end offsets), then waits for the tails to apply
// up to them, woken as they move on (see advance): it reads nothing itself,
// whatever the table holds.
func (t *Table) Sync(ctx context.Context) error {
	if !t.loaded.Load() {
		return ErrNotLoaded
	}
	reqs := make([]kafka.OffsetRequest, 0, t.partitions)
	for p := range t.partitions {
		reqs = append(reqs, kafka.LastOffsetOf(p))
	}
	res, err := t.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{t.cfg.Topic: reqs}})
	if err != nil {
		return fmt.Errorf("ledger sync %s: %w", t.cfg.Topic, err)
	}
	for _, po := range res.Topics[t.cfg.Topic] {
		if po.Error != nil {
			return fmt.Errorf("ledger sync %s/%d: %w", t.cfg.Topic, po.Partition, po.Error)
		}
		if po.Partition < 0 || po.Partition >= t.partitions {
			continue
		}
		if err := t.awaitApplied(ctx, po.Partition, po.LastOffset); err != nil {
			return fmt.Errorf("ledger sync %s: %w", t.cfg.Topic, err)
		}
	}
	return nil
}

// awaitApplied waits until partition p is applied up to offset end, or ctx
// is done.
func (t *Table) awaitApplied(ctx context.Context, p int, end int64) error {
	for {
		t.advancedMu.Lock()
		advanced := t.advanced
		t.advancedMu.Unlock()
		if t.applied[p].Load() >= end {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-advanced:
		}
	}
}

// advance notes that partition p is applied up to pos, and wakes the
// Syncs waiting when that moves it on.
func (t *Table) advance(p int, pos int64) {
	if t.applied[p].Swap(pos) == pos {
		return
	}
	t.advancedMu.Lock()
	close(t.advanced)
	t.advanced = make(chan struct{})
	t.advancedMu.Unlock()
}

// Ready reports whether Load completed.
func (t *Table) Ready() bool { return t.loaded.Load() }

// Stats counts what a Table has done so far.
type Stats struct {
	// Applied counts the records handed to the ApplyFunc.
	Applied int64
	// Skipped counts the records not applied because their key already
	// had a record at that offset or a later one (the tail delivering this
	// instance's own writes, mostly).
	Skipped int64
	// Partitions is the topic's partition count, 0 before Load.
	Partitions int
}

// Stats returns the table's counters. It is safe to call at any time.
func (t *Table) Stats() Stats {
	applied, skipped := t.state.counts()
	s := Stats{Applied: applied, Skipped: skipped}
	if t.loaded.Load() {
		s.Partitions = t.partitions
	}
	return s
}

// produce writes one record to partition p and returns its offset, trying
// again after transient failures.
func (t *Table) produce(ctx context.Context, p int, key string, value []byte, signature string) (int64, error) {
	start := time.Now()
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(50*time.Millisecond),
		backoff.WithMaxInterval(2*time.Second),
		backoff.WithMaxElapsedTime(0), // bounded by putBudget and ctx
	)
	for attempt := 1; ; attempt++ {
		offset, err := t.produceOnce(ctx, p, key, value, signature)
		if err == nil {
			return offset, nil
		}
		if ctx.Err() != nil || time.Since(start) > putBudget || !transient(err) {
			return 0, err
		}
		if werr := wait(ctx, b.NextBackOff()); werr != nil {
			return 0, err
		}
	}
}

func (t *Table) produceOnce(ctx context.Context, p int, key string, value []byte, signature string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	rec := kafka.Record{Key: kafka.NewBytes([]byte(key)), Value: kafka.NewBytes(value)}
	if signature != "" {
		rec.Headers = []kafka.Header{{Key: HeaderSignature, Value: []byte(signature)}}
	}
	res, err := t.client.Produce(ctx, &kafka.ProduceRequest{
		Topic:        t.cfg.Topic,
		Partition:    p,
		RequiredAcks: kafka.RequireAll,
		Records:      kafka.NewRecordReader(rec),
	})
	if err != nil {
		return 0, err
	}
	if res.Error != nil {
		return 0, res.Error
	}
	for _, err := range res.RecordErrors {
		return 0, err
	}
	return res.BaseOffset, nil
}

// transient reports whether an error of a produce or a request may go away
// when tried again: a Kafka error code marked temporary (leader change, not
// enough replicas, request timed out) or a connection the broker dropped.
func transient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		return kerr.Temporary()
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNREFUSED)
}

// wait blocks for d or until ctx is done, whichever comes first.
func wait(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
