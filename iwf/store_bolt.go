package iwf

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// BoltOptions tunes a BoltStore. The zero value is the documented defaults.
type BoltOptions struct {
	// LockTimeout is how long OpenBoltStore waits for another process to
	// release the file before it fails with ErrLocked. Default 1s: long
	// enough for a restarting daemon's predecessor to let go, short enough
	// that a second daemon on the same file fails at once instead of hanging.
	LockTimeout time.Duration

	// MaxBatchSize caps how many writes share one transaction and fsync,
	// and is the length of the queue in front of the committer (writers
	// beyond it wait to queue). Default 1000, bbolt's own default: batches
	// only grow that large with a thousand writers waiting at once, and the
	// cap bounds the dirty pages and the time of one commit.
	MaxBatchSize int

	// Linger is how long the committer waits for more writes to join a
	// batch when the previous commit ended less than Linger ago (the store
	// is busy) and the batch is not full. A commit costs two fdatasyncs and
	// their CPU whatever its size; under load, waiting a little makes
	// fewer, larger commits. Default 0: no wait.
	Linger time.Duration
}

// Defaults for BoltOptions.
const (
	DefaultLockTimeout  = time.Second
	DefaultMaxBatchSize = 1000
)

// BoltStore is the default Store: one bbolt file, written by group commit.
//
// Writes go to one committer goroutine. It takes the first waiting write and
// every write that queued behind it (up to MaxBatchSize), runs them in one
// transaction and fsyncs once. There is no batching delay: while one commit
// is on its way to disk the next batch fills by itself, so a lone caller
// pays one fsync and many callers share each fsync.
//
// Why not bbolt's DB.Batch: it waits MaxBatchDelay before every batch, and
// batches that queue behind a running commit are not merged. A delay longer
// than the disk's fsync costs every lone write that delay; a shorter one
// splits concurrent writers into many small batches. Measured on the dev VM
// (fsync 0.2–20 ms; BenchmarkBoltCreate / BenchmarkBoltCreateParallel with
// 64 writers): DB.Batch at 10 ms gave 82 / 4,000 creates/s, at 2 ms 276 /
// 6,800, at 0.5 ms 433 / 4,100 (7 writes per fsync); group commit gave
// 700–1,900 / 5,700–10,000 (32 writes per fsync) with nothing to tune.
//
// Layout (meta "format" = 1):
//
//	triggers  trigger key → record (encodeTrigger)
//	smea      SMEA key → trigger key, for BySMEA
//	pending   NextAttemptAt | trigger key → "" for Reported triggers (Pending)
//	expiry    ExpiresAt | trigger key → "" for Accepted triggers with an expiry (Expired)
//	meta      "format" → 1, "open" → number of open triggers (8 bytes)
//	quota, quotaexp  quota counters and their expiry index (quota.go)
//
// Every index changes in the same transaction as its record, so they never
// disagree on disk; readers still skip an index entry whose record does not
// match it rather than trust it.
type BoltStore struct {
	db     *bolt.DB
	path   string
	max    int
	linger time.Duration

	mu     sync.RWMutex // guards closed and sends on queue
	closed bool
	queue  chan *writeOp
	done   chan struct{} // closed when the committer has returned

	onBatch func(size int) // test hook: called before each batch's transaction
}

var (
	bucketTriggers = []byte("triggers")
	bucketSMEA     = []byte("smea")
	bucketPending  = []byte("pending")
	bucketExpiry   = []byte("expiry")
	bucketMeta     = []byte("meta")
	metaFormat     = []byte("format")
	metaOpen       = []byte("open")
)

// boltFormat is the layout version in meta/format: buckets and key shapes.
// The record encoding has its own version byte in every record.
const boltFormat = 1

// OpenBoltStore opens (or creates) the store file at path. Missing parent
// directories are created 0700 and a new file 0600; an existing file that
// others may read is refused, since it holds IMSIs. If another process holds
// the file, it fails with ErrLocked after opts.LockTimeout.
func OpenBoltStore(path string, opts BoltOptions) (*BoltStore, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.MaxBatchSize <= 0 {
		opts.MaxBatchSize = DefaultMaxBatchSize
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("iwf store: %w", err)
	}
	fi, err := os.Stat(path)
	created := errors.Is(err, fs.ErrNotExist)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return nil, fmt.Errorf("iwf store: %s is not a regular file", path)
	case err == nil && fi.Mode().Perm()&0o077 != 0:
		return nil, fmt.Errorf("iwf store: %s has mode %v; it holds IMSIs, make it 0600", path, fi.Mode().Perm())
	case err != nil && !created:
		return nil, fmt.Errorf("iwf store: %w", err)
	}

	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: opts.LockTimeout,
		// The hashmap freelist stays fast when a large file has many free
		// pages (churn of create/close); the array one degrades.
		FreelistType: bolt.FreelistMapType,
		// NoFreelistSync (as etcd runs bbolt) was tried: ~20 % less CPU
		// per trigger in BenchmarkBoltLifecycleParallel, but bbolt then
		// rebuilds the freelist on open by reading every page, and with
		// 1,000,000 open triggers the daemon's RSS went from 23 MB to
		// 585 MB (the whole file) and its start from 0.5 s to 1 s. The RSS
		// bound matters more: the freelist stays synced.
	})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("iwf store: open %s: %w (waited %v for its lock)", path, ErrLocked, opts.LockTimeout)
	case err != nil:
		return nil, fmt.Errorf("iwf store: open %s: %w", path, err)
	}
	if created {
		// The new file's directory entry must survive a power cut too.
		if err := syncDir(dir); err != nil {
			db.Close()
			return nil, fmt.Errorf("iwf store: %w", err)
		}
	}
	if err := db.Update(initBuckets); err != nil {
		db.Close()
		return nil, fmt.Errorf("iwf store: %s: %w", path, err)
	}
	s := &BoltStore{
		db:     db,
		path:   path,
		max:    opts.MaxBatchSize,
		linger: opts.Linger,
		queue:  make(chan *writeOp, opts.MaxBatchSize),
		done:   make(chan struct{}),
	}
	go s.commitLoop()
	return s, nil
}

func initBuckets(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	switch v := meta.Get(metaFormat); {
	case v == nil:
		if tx.Bucket(bucketTriggers) != nil {
			return errors.New("file has triggers but no format version")
		}
		if err := meta.Put(metaFormat, []byte{boltFormat}); err != nil {
			return err
		}
		if err := meta.Put(metaOpen, make([]byte, 8)); err != nil {
			return err
		}
	case len(v) != 1 || v[0] != boltFormat:
		return fmt.Errorf("file format %v, this build reads %d", v, boltFormat)
	}
	for _, name := range [][]byte{bucketTriggers, bucketSMEA, bucketPending, bucketExpiry, bucketQuota, bucketQuotaExp} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Path is the file the store lives in.
func (s *BoltStore) Path() string { return s.path }

// Close waits for queued writes, then closes the file. Later calls return
// ErrClosed. Closing twice is harmless.
func (s *BoltStore) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.queue)
	s.mu.Unlock()
	<-s.done
	return s.db.Close()
}

// A writeOp is one Create, Update or CloseTrigger on its way through the
// committer. check only reads; an error from it is the op's outcome
// (ErrDuplicate, ErrConflict, ...) and nothing is written. apply writes; an
// error from it (bbolt refusing a Put) aborts the whole transaction.
type writeOp struct {
	check func(tx *bolt.Tx) error
	apply func(tx *bolt.Tx) error
	err   chan error // buffered 1: the outcome once committed
}

// write queues op and waits until it is committed (or refused). Once queued
// an op is not abandoned: ctx is looked at only before.
func (s *BoltStore) write(ctx context.Context, check, apply func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	op := &writeOp{check: check, apply: apply, err: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	s.queue <- op
	s.mu.RUnlock()
	return <-op.err
}

// commitLoop is the single writer: one transaction and one fsync for every
// batch of ops that queued while the previous batch was being committed.
func (s *BoltStore) commitLoop() {
	defer close(s.done)
	batch := make([]*writeOp, 0, s.max)
	var lastEnd time.Time
	var timer *time.Timer
	for op := range s.queue {
		batch = append(batch[:0], op)
		var deadline <-chan time.Time
		if s.linger > 0 && time.Since(lastEnd) < s.linger {
			if timer == nil {
				timer = time.NewTimer(s.linger)
			} else {
				timer.Reset(s.linger)
			}
			deadline = timer.C
		}
	fill:
		for len(batch) < s.max {
			select {
			case op, ok := <-s.queue:
				if !ok {
					break fill
				}
				batch = append(batch, op)
				continue
			default:
			}
			if deadline == nil {
				break
			}
			select {
			case op, ok := <-s.queue:
				if !ok {
					break fill
				}
				batch = append(batch, op)
			case <-deadline:
				break fill
			}
		}
		if timer != nil {
			timer.Stop()
		}
		if s.onBatch != nil {
			s.onBatch(len(batch))
		}
		s.commit(batch)
		lastEnd = time.Now()
		clear(batch)
	}
}

// commit runs ops in one transaction. If one op's apply fails, that op gets
// the error and the others are run again without it, like bbolt's Batch.
func (s *BoltStore) commit(ops []*writeOp) {
	outcome := make([]error, len(ops))
	for len(ops) > 0 {
		failed := -1
		err := s.db.Update(func(tx *bolt.Tx) error {
			for i, op := range ops {
				if outcome[i] = op.check(tx); outcome[i] != nil {
					continue
				}
				if err := op.apply(tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed >= 0 {
			ops[failed].err <- fmt.Errorf("iwf store: %s: %w", s.path, err)
			ops = append(ops[:failed:failed], ops[failed+1:]...)
			outcome = append(outcome[:failed:failed], outcome[failed+1:]...)
			continue
		}
		for i, op := range ops {
			switch {
			case err != nil:
				op.err <- fmt.Errorf("iwf store: commit %s: %w", s.path, err)
			default:
				op.err <- outcome[i]
			}
		}
		return
	}
}

// read runs a read-only transaction.
func (s *BoltStore) read(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.View(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Create implements Store.
func (s *BoltStore) Create(ctx context.Context, t *Trigger) error {
	if err := validate(t); err != nil {
		return err
	}
	c := *t
	c.Revision = 1
	tk := triggerKey(c.SCS, c.Reference)
	err := s.write(ctx,
		func(tx *bolt.Tx) error {
			if tx.Bucket(bucketTriggers).Get(tk) != nil {
				return ErrDuplicate
			}
			if c.SMEA != "" && tx.Bucket(bucketSMEA).Get(smeaKey(c.SMEA, c.Reference)) != nil {
				return ErrDuplicate
			}
			return nil
		},
		func(tx *bolt.Tx) error {
			if err := tx.Bucket(bucketTriggers).Put(tk, encodeTrigger(&c)); err != nil {
				return err
			}
			if err := putIndexes(tx, &c, tk); err != nil {
				return err
			}
			return addOpen(tx, 1)
		})
	if err == nil {
		t.Revision = 1
	}
	return err
}

// Update implements Store.
func (s *BoltStore) Update(ctx context.Context, t *Trigger) error {
	if err := validate(t); err != nil {
		return err
	}
	c := *t
	c.Revision++
	tk := triggerKey(c.SCS, c.Reference)
	var old *Trigger
	err := s.write(ctx,
		func(tx *bolt.Tx) error {
			v := tx.Bucket(bucketTriggers).Get(tk)
			if v == nil {
				return ErrNotFound
			}
			var err error
			if old, err = decodeTrigger(tk, v); err != nil {
				return &CorruptError{Key: "triggers/" + keyString(tk), Err: err}
			}
			if old.Revision != t.Revision {
				return ErrConflict
			}
			if c.SMEA != old.SMEA && c.SMEA != "" && tx.Bucket(bucketSMEA).Get(smeaKey(c.SMEA, c.Reference)) != nil {
				return ErrDuplicate
			}
			return nil
		},
		func(tx *bolt.Tx) error {
			if err := deleteIndexes(tx, old, tk); err != nil {
				return err
			}
			if err := tx.Bucket(bucketTriggers).Put(tk, encodeTrigger(&c)); err != nil {
				return err
			}
			return putIndexes(tx, &c, tk)
		})
	if err == nil {
		t.Revision = c.Revision
	}
	return err
}

// CloseTrigger implements Store. A record that cannot be decoded is removed
// all the same (its index entries, unknown, are skipped by readers).
func (s *BoltStore) CloseTrigger(ctx context.Context, scs string, ref uint32) error {
	tk := triggerKey(scs, ref)
	var old *Trigger
	return s.write(ctx,
		func(tx *bolt.Tx) error {
			v := tx.Bucket(bucketTriggers).Get(tk)
			if v == nil {
				return ErrNotFound
			}
			old, _ = decodeTrigger(tk, v)
			return nil
		},
		func(tx *bolt.Tx) error {
			if old != nil {
				if err := deleteIndexes(tx, old, tk); err != nil {
					return err
				}
			}
			if err := tx.Bucket(bucketTriggers).Delete(tk); err != nil {
				return err
			}
			return addOpen(tx, -1)
		})
}

// putIndexes adds the index entries t has; deleteIndexes removes them.
func putIndexes(tx *bolt.Tx, t *Trigger, tk []byte) error {
	if t.SMEA != "" {
		if err := tx.Bucket(bucketSMEA).Put(smeaKey(t.SMEA, t.Reference), tk); err != nil {
			return err
		}
	}
	if t.State == TriggerReported {
		if err := tx.Bucket(bucketPending).Put(timeKey(t.NextAttemptAt, tk), nil); err != nil {
			return err
		}
	}
	if t.State == TriggerAccepted && !t.ExpiresAt.IsZero() {
		if err := tx.Bucket(bucketExpiry).Put(timeKey(t.ExpiresAt, tk), nil); err != nil {
			return err
		}
	}
	return nil
}

func deleteIndexes(tx *bolt.Tx, t *Trigger, tk []byte) error {
	if t.SMEA != "" {
		if err := tx.Bucket(bucketSMEA).Delete(smeaKey(t.SMEA, t.Reference)); err != nil {
			return err
		}
	}
	if t.State == TriggerReported {
		if err := tx.Bucket(bucketPending).Delete(timeKey(t.NextAttemptAt, tk)); err != nil {
			return err
		}
	}
	if t.State == TriggerAccepted && !t.ExpiresAt.IsZero() {
		if err := tx.Bucket(bucketExpiry).Delete(timeKey(t.ExpiresAt, tk)); err != nil {
			return err
		}
	}
	return nil
}

// addOpen adjusts the open-trigger counter kept in meta, in the same
// transaction as the change it counts.
func addOpen(tx *bolt.Tx, delta int64) error {
	meta := tx.Bucket(bucketMeta)
	var n uint64
	if v := meta.Get(metaOpen); len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	n = uint64(max(int64(n)+delta, 0))
	return meta.Put(metaOpen, binary.BigEndian.AppendUint64(nil, n))
}

// Get implements Store.
func (s *BoltStore) Get(ctx context.Context, scs string, ref uint32) (*Trigger, error) {
	var t *Trigger
	err := s.read(ctx, func(tx *bolt.Tx) error {
		var err error
		t, err = getTrigger(tx, triggerKey(scs, ref))
		return err
	})
	return t, err
}

func getTrigger(tx *bolt.Tx, tk []byte) (*Trigger, error) {
	v := tx.Bucket(bucketTriggers).Get(tk)
	if v == nil {
		return nil, ErrNotFound
	}
	t, err := decodeTrigger(tk, v)
	if err != nil {
		return nil, &CorruptError{Key: "triggers/" + keyString(tk), Err: err}
	}
	return t, nil
}

// BySMEA implements Store.
func (s *BoltStore) BySMEA(ctx context.Context, smea string, ref uint32) (*Trigger, error) {
	if smea == "" {
		return nil, ErrNotFound
	}
	var t *Trigger
	err := s.read(ctx, func(tx *bolt.Tx) error {
		tk := tx.Bucket(bucketSMEA).Get(smeaKey(smea, ref))
		if tk == nil {
			return ErrNotFound
		}
		var err error
		if t, err = getTrigger(tx, tk); err != nil {
			return err
		}
		if t.SMEA != smea || t.Reference != ref {
			return ErrNotFound // a stale index entry
		}
		return nil
	})
	return t, err
}

// Pending implements Store.
func (s *BoltStore) Pending(ctx context.Context, now time.Time, limit int) ([]*Trigger, error) {
	return s.list(ctx, bucketPending, timeBits(now)+1, limit, func(t *Trigger) (uint64, bool) {
		return timeBits(t.NextAttemptAt), t.State == TriggerReported
	})
}

// Expired implements Store.
func (s *BoltStore) Expired(ctx context.Context, before time.Time, limit int) ([]*Trigger, error) {
	end := timeBits(before)
	if end == 0 {
		return nil, checkLimit(limit) // nothing expires before the zero time
	}
	return s.list(ctx, bucketExpiry, end, limit, func(t *Trigger) (uint64, bool) {
		return timeBits(t.ExpiresAt), t.State == TriggerAccepted
	})
}

// list walks a time index from the start up to (not including) end and
// returns up to limit triggers whose record still matches its entry.
// Undecodable records are reported as CorruptErrors alongside the result.
func (s *BoltStore) list(ctx context.Context, index []byte, end uint64, limit int, at func(*Trigger) (uint64, bool)) ([]*Trigger, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	var (
		out     []*Trigger
		corrupt []error
	)
	err := s.read(ctx, func(tx *bolt.Tx) error {
		triggers := tx.Bucket(bucketTriggers)
		c := tx.Bucket(index).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			if len(k) < 8+5 {
				corrupt = append(corrupt, &CorruptError{Key: fmt.Sprintf("%s/%q", index, k), Err: errors.New("short index key")})
				continue
			}
			when := binary.BigEndian.Uint64(k)
			if when >= end {
				break
			}
			tk := k[8:]
			v := triggers.Get(tk)
			if v == nil {
				continue // a stale index entry
			}
			t, err := decodeTrigger(tk, v)
			if err != nil {
				corrupt = append(corrupt, &CorruptError{Key: "triggers/" + keyString(tk), Err: err})
				continue
			}
			if got, ok := at(t); !ok || got != when {
				continue // a stale index entry
			}
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, errors.Join(corrupt...)
}

// Open implements Store.
func (s *BoltStore) Open(ctx context.Context) (int, error) {
	var n uint64
	err := s.read(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(metaOpen)
		if len(v) != 8 {
			return &CorruptError{Key: "meta/open", Err: fmt.Errorf("%d bytes, want 8", len(v))}
		}
		n = binary.BigEndian.Uint64(v)
		return nil
	})
	return int(n), err
}

// Owed counts triggers whose delivery report is owed to the SCS (the
// outbox depth, for metrics): the entries of the pending index.
func (s *BoltStore) Owed(ctx context.Context) (int, error) {
	var n int
	err := s.read(ctx, func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketPending).Stats().KeyN
		return nil
	})
	return n, err
}

var _ Store = (*BoltStore)(nil)
