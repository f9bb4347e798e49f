package iwf

import (
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Quota counters: how many requests each SCS has spent in each fixed quota
// window, kept in the store so that a restart (or kill -9) never hands an
// SCS a fresh quota in the middle of a window. Both stores implement
// security/policy's QuotaStore:
//
//	Increment(ctx, scs, window, windowStart, limit) (allowed bool, count int, err error)
//
// A counter is named by (SCS, window length, window start). Counters do not
// pile up: a counter whose window ended more than one window length before
// the start of the window being counted is deleted by a later allowed
// Increment, at most quotaSweep counters per call (see sweepQuota).
//
// In the bbolt file (two buckets beside the trigger ones):
//
//	quota     quota key → count (8 bytes, big endian)
//	quotaexp  expiry (8 bytes, timeBits of start + 2×window) | quota key → ""
//
//	quota key  SCS | 0x00 | window (8 bytes, nanoseconds) | start (8 bytes, timeBits)

var (
	bucketQuota    = []byte("quota")
	bucketQuotaExp = []byte("quotaexp")
)

// quotaSweep is how many expired counters one allowed Increment deletes at
// most. Every allowed Increment creates at most one counter and may delete
// up to quotaSweep, so expired counters never accumulate while requests
// come, and no call pays for a long backlog at once.
const quotaSweep = 8

// errQuotaFull is the check outcome of a refused increment inside the
// committer; Increment turns it into (false, count, nil).
var errQuotaFull = errors.New("iwf store: quota reached")

// quotaKeys validates the arguments and returns the counter's key and the
// timeBits of its expiry (start + 2×window): the time from which the sweep
// may delete it.
func quotaKeys(scs string, window time.Duration, start time.Time) (key []byte, exp uint64, err error) {
	switch {
	case scs == "":
		return nil, 0, errors.New("iwf store: quota: no SCS")
	case len(scs) > maxFieldLen:
		return nil, 0, fmt.Errorf("iwf store: quota: SCS is %d bytes (limit %d)", len(scs), maxFieldLen)
	case strings.IndexByte(scs, 0) >= 0:
		return nil, 0, fmt.Errorf("iwf store: quota: SCS %q contains NUL", scs)
	case window <= 0 || window > math.MaxInt64/2:
		return nil, 0, fmt.Errorf("iwf store: quota: window %v out of range", window)
	case start.IsZero() || !time.Unix(0, start.UnixNano()).Equal(start):
		return nil, 0, fmt.Errorf("iwf store: quota: window start %v out of range", start)
	}
	ns := start.UnixNano()
	if ns > math.MaxInt64-2*int64(window) {
		return nil, 0, fmt.Errorf("iwf store: quota: window %v from %v ends out of range", window, start)
	}
	k := make([]byte, 0, len(scs)+17)
	k = append(k, scs...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, uint64(window))
	k = binary.BigEndian.AppendUint64(k, timeBits(start))
	return k, timeBits(time.Unix(0, ns+2*int64(window))), nil
}

// quotaKeyString names a quota key for error messages: "scs"/window@start.
func quotaKeyString(k []byte) string {
	if len(k) < 17 || k[len(k)-17] != 0 {
		return fmt.Sprintf("%q", k)
	}
	return fmt.Sprintf("%q/%v@%s", k[:len(k)-17], time.Duration(binary.BigEndian.Uint64(k[len(k)-16:])),
		timeFromBits(binary.BigEndian.Uint64(k[len(k)-8:])).UTC().Format(time.RFC3339Nano))
}

// Increment implements security/policy's QuotaStore: it atomically checks
// and counts one request of scs against the fixed window [windowStart,
// windowStart+window). If the count so far is below limit it is incremented
// and (true, newCount, nil) returned; otherwise (false, count, nil) and
// nothing changes. An allowed increment is committed and fsynced before
// Increment returns, in the same group commit as the trigger writes.
//
// A refusal the committed count already decides (the quota was full before
// the call) is answered from a read transaction, without queueing a write:
// an SCS hammering past its quota costs no fsyncs.
//
// windowStart is also the sweep's clock: it must not be in the future.
func (s *BoltStore) Increment(ctx context.Context, scs string, window time.Duration, windowStart time.Time, limit int) (allowed bool, count int, err error) {
	k, exp, err := quotaKeys(scs, window, windowStart)
	if err != nil {
		return false, 0, err
	}
	// Counts only grow within a window (and a counter is deleted only long
	// after its window), so a full committed count is a final refusal.
	var n int
	if err := s.read(ctx, func(tx *bolt.Tx) error {
		var err error
		n, err = getQuota(tx, k)
		return err
	}); err != nil {
		return false, 0, err
	}
	if n >= limit {
		return false, n, nil
	}
	now := timeBits(windowStart)
	err = s.write(ctx,
		func(tx *bolt.Tx) error {
			var err error
			if n, err = getQuota(tx, k); err != nil {
				return err
			}
			if n >= limit {
				return errQuotaFull
			}
			return nil
		},
		func(tx *bolt.Tx) error {
			if n == 0 {
				ek := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(k)), exp)
				if err := tx.Bucket(bucketQuotaExp).Put(append(ek, k...), nil); err != nil {
					return err
				}
			}
			if err := tx.Bucket(bucketQuota).Put(k, binary.BigEndian.AppendUint64(nil, uint64(n+1))); err != nil {
				return err
			}
			return sweepQuota(tx, now)
		})
	switch {
	case errors.Is(err, errQuotaFull):
		return false, n, nil
	case err != nil:
		return false, 0, err
	}
	return true, n + 1, nil
}

// getQuota reads a counter; a missing one is 0.
func getQuota(tx *bolt.Tx, k []byte) (int, error) {
	v := tx.Bucket(bucketQuota).Get(k)
	switch {
	case v == nil:
		return 0, nil
	case len(v) != 8 || binary.BigEndian.Uint64(v) > math.MaxInt32:
		return 0, &CorruptError{Key: "quota/" + quotaKeyString(k), Err: fmt.Errorf("count %x", v)}
	}
	return int(binary.BigEndian.Uint64(v)), nil
}

// sweepQuota deletes up to quotaSweep counters whose expiry is before now,
// earliest first, with their quotaexp entries. The keys are collected
// before anything is deleted (a bbolt cursor may skip after a Delete).
func sweepQuota(tx *bolt.Tx, now uint64) error {
	var old [][]byte
	c := tx.Bucket(bucketQuotaExp).Cursor()
	for k, _ := c.First(); k != nil && len(old) < quotaSweep; k, _ = c.Next() {
		if len(k) >= 8 && binary.BigEndian.Uint64(k) >= now {
			break
		}
		old = append(old, k) // valid for the life of the transaction
	}
	quota, exp := tx.Bucket(bucketQuota), tx.Bucket(bucketQuotaExp)
	for _, k := range old {
		if len(k) > 8 {
			if err := quota.Delete(k[8:]); err != nil {
				return err
			}
		}
		if err := exp.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// QuotaCount is the count of (scs, window, windowStart): 0 when nothing was
// counted in that window or its counter has been swept (metrics, tests).
func (s *BoltStore) QuotaCount(ctx context.Context, scs string, window time.Duration, windowStart time.Time) (int, error) {
	k, _, err := quotaKeys(scs, window, windowStart)
	if err != nil {
		return 0, err
	}
	var n int
	err = s.read(ctx, func(tx *bolt.Tx) error {
		var err error
		n, err = getQuota(tx, k)
		return err
	})
	return n, err
}

// memQuotas are a MemoryStore's quota counters, with the same keys, expiry
// order and sweep as the bbolt buckets.
type memQuotas struct {
	counts map[string]int // quota key → count
	exp    expHeap        // quotaexp keys, earliest first
}

// expHeap is a min-heap of quotaexp keys (expiry | quota key): byte order
// is the bbolt bucket's order.
type expHeap []string

func (h expHeap) Len() int           { return len(h) }
func (h expHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h expHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expHeap) Push(x any)        { *h = append(*h, x.(string)) }
func (h *expHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Increment implements security/policy's QuotaStore, like
// BoltStore.Increment without the durability.
func (m *MemoryStore) Increment(ctx context.Context, scs string, window time.Duration, windowStart time.Time, limit int) (allowed bool, count int, err error) {
	k, exp, err := quotaKeys(scs, window, windowStart)
	if err != nil {
		return false, 0, err
	}
	if err := m.lock(ctx); err != nil {
		return false, 0, err
	}
	defer m.mu.Unlock()
	q := &m.quota
	if q.counts == nil {
		q.counts = map[string]int{}
	}
	n := q.counts[string(k)]
	if n >= limit {
		return false, n, nil
	}
	if n == 0 {
		heap.Push(&q.exp, string(binary.BigEndian.AppendUint64(nil, exp))+string(k))
	}
	q.counts[string(k)] = n + 1
	now := timeBits(windowStart)
	for i := 0; i < quotaSweep && len(q.exp) > 0 && binary.BigEndian.Uint64([]byte(q.exp[0][:8])) < now; i++ {
		delete(q.counts, heap.Pop(&q.exp).(string)[8:])
	}
	return true, n + 1, nil
}

// QuotaCount is BoltStore.QuotaCount.
func (m *MemoryStore) QuotaCount(ctx context.Context, scs string, window time.Duration, windowStart time.Time) (int, error) {
	k, _, err := quotaKeys(scs, window, windowStart)
	if err != nil {
		return 0, err
	}
	if err := m.lock(ctx); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	return m.quota.counts[string(k)], nil
}
