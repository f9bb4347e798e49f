package policy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// QuotaStore keeps the quota counts: how many requests each SCS has spent
// in each quota window. The daemon's implementation lives with its durable
// store (iwf); MemoryQuotaStore is for tests.
//
// The contract:
//
//   - Increment is one atomic check-and-increment of the count of (scs,
//     window, windowStart): when the count is below limit it becomes count+1
//     and Increment returns (true, count+1, nil); otherwise nothing changes
//     and it returns (false, count, nil). Concurrent calls (and, for a store
//     shared by several daemons, calls from every daemon) must never let the
//     count pass limit.
//   - Counts survive a daemon restart: an allowed increment is durable
//     (committed, fsynced) before Increment returns, so a restart can never
//     hand an SCS a fresh quota in the middle of a window.
//   - windowStart identifies the window; it is a multiple of window since
//     the zero time (Time.Truncate). The count of a new windowStart starts
//     at 0. Counts of windows that have ended (windowStart+window in the
//     past) are never asked for again and may be deleted.
//   - limit is the policy's count at the time of the call; it may change
//     between calls when the policy is reloaded, and the store compares
//     against the limit it is given, not one it remembers.
//   - scs is the SCS entry's id in the policy.
//   - An error means the count could not be read or written; the Limiter
//     then refuses the request (fails closed) with Code Unavailable.
type QuotaStore interface {
	Increment(ctx context.Context, scs string, window time.Duration, windowStart time.Time, limit int) (allowed bool, count int, err error)
}

// Limiter applies each SCS's rate (token bucket) and quota (fixed windows)
// to requests its Policy allowed (TS 23.682 5.2.1: the MTC-IWF checks that
// the SCS has not exceeded its quota or rate of trigger submission): rate first, then each quota window,
// smallest first, so a request refused by rate spends no quota. (A request
// refused by a larger window has counted in the smaller ones it passed;
// with windows that divide each other, such as 1h and 24h, that never
// matters: the larger window stays used up until it ends, and the smaller
// ones end with it. A request refused by quota has spent its rate token.) It reads
// the limits from the Policy it is given on each call, so one Limiter
// serves every reloaded policy; a bucket keeps its tokens across reloads
// while its SCS stays (a changed rate or burst applies from the reload on).
// Safe for concurrent use.
type Limiter struct {
	store QuotaStore
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*rate.Limiter // by SCS id
}

// NewLimiter returns a Limiter counting quotas in store, reading the time
// from now (time.Now when nil; tests pass a fake clock). With a nil store,
// every request of an SCS that has a quota is refused (Unavailable).
func NewLimiter(store QuotaStore, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{store: store, now: now, buckets: map[string]*rate.Limiter{}}
}

// ErrNoQuotaStore is returned when an SCS has a quota and the Limiter no store.
var ErrNoQuotaStore = errors.New("policy: no quota store")

// Allow spends one request of SCS scsID (Decision.SCS of an allowed
// Decide) under p's limits. It returns an allowed Decision, or a refusal
// with Code RateExceeded (109) or QuotaExceeded (108); when the quota store
// fails, a refusal with Code Unavailable and the error.
func (l *Limiter) Allow(ctx context.Context, p *Policy, scsID string) (Decision, error) {
	sp := p.byID[scsID]
	if sp == nil {
		return Decision{Code: NotAuthorized, SCS: scsID, Rule: "no entry",
			Reason: fmt.Sprintf("SCS %s has no entry in the authorization policy", scsID)}, nil
	}
	now := l.now()
	if r := sp.Limits.Rate; r != nil && !l.bucket(scsID, r, now).AllowN(now, 1) {
		return Decision{Code: RateExceeded, SCS: scsID, Rule: sp.rateRule,
			Reason: fmt.Sprintf("SCS %s is sending faster than its rate of %s requests per second (burst %d); slow down and retry",
				scsID, strconv.FormatFloat(r.PerSecond, 'f', -1, 64), r.Burst)}, nil
	}
	for i, q := range sp.Limits.Quota {
		rule := sp.quotaRules[i]
		if l.store == nil {
			return Decision{Code: Unavailable, SCS: scsID, Rule: rule, Reason: "quota counts are unavailable; retry later"}, ErrNoQuotaStore
		}
		start := now.Truncate(q.Window)
		ok, _, err := l.store.Increment(ctx, scsID, q.Window, start, q.Count)
		if err != nil {
			return Decision{Code: Unavailable, SCS: scsID, Rule: rule, Reason: "quota counts are unavailable; retry later"},
				fmt.Errorf("policy: quota of %s for %s: %w", scsID, q.Window, err)
		}
		if !ok {
			return Decision{Code: QuotaExceeded, SCS: scsID, Rule: rule,
				Reason: fmt.Sprintf("SCS %s has used its quota of %d requests per %s; the window ends at %s",
					scsID, q.Count, q.Window, start.Add(q.Window).UTC().Format(time.RFC3339))}, nil
		}
	}
	return Decision{Allowed: true, Code: OK, SCS: scsID, Rule: sp.limitsRule, Reason: "allowed"}, nil
}

// bucket returns the SCS's token bucket, created full, or updated to r.
func (l *Limiter) bucket(id string, r *Rate, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[id]
	if b == nil {
		b = rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst)
		l.buckets[id] = b
		return b
	}
	if b.Limit() != rate.Limit(r.PerSecond) {
		b.SetLimitAt(now, rate.Limit(r.PerSecond))
	}
	if b.Burst() != r.Burst {
		b.SetBurstAt(now, r.Burst)
	}
	return b
}

// Sync brings the token buckets in line with p, the policy just loaded:
// buckets of SCSs p no longer has or no longer rate-limits are dropped (one
// that comes back starts full); a changed rate or burst applies from now on,
// time before now having refilled at the old rate. Call it from
// Watcher.OnChange; without it, Allow applies a change on the SCS's next
// request.
func (l *Limiter) Sync(p *Policy) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, b := range l.buckets {
		sp := p.byID[id]
		if sp == nil || sp.Limits.Rate == nil {
			delete(l.buckets, id)
			continue
		}
		if r := sp.Limits.Rate; b.Limit() != rate.Limit(r.PerSecond) || b.Burst() != r.Burst {
			b.SetLimitAt(now, rate.Limit(r.PerSecond))
			b.SetBurstAt(now, r.Burst)
		}
	}
}

// Tokens returns the tokens left in the SCS's bucket at the Limiter's now,
// and false when it has none (no rate limit, or no request yet).
func (l *Limiter) Tokens(scsID string) (float64, bool) {
	l.mu.Lock()
	b := l.buckets[scsID]
	l.mu.Unlock()
	if b == nil {
		return 0, false
	}
	return b.TokensAt(l.now()), true
}

// MemoryQuotaStore is a QuotaStore in memory, for tests: its counts do not
// survive a restart, which the contract requires of the daemon's store.
type MemoryQuotaStore struct {
	mu     sync.Mutex
	counts map[quotaKey]int
}

type quotaKey struct {
	scs    string
	window time.Duration
	start  int64 // Unix nanoseconds of the window start
}

// NewMemoryQuotaStore returns an empty store.
func NewMemoryQuotaStore() *MemoryQuotaStore {
	return &MemoryQuotaStore{counts: map[quotaKey]int{}}
}

// Increment implements QuotaStore.
func (s *MemoryQuotaStore) Increment(ctx context.Context, scs string, window time.Duration, windowStart time.Time, limit int) (bool, int, error) {
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := quotaKey{scs, window, windowStart.UnixNano()}
	n, seen := s.counts[k]
	if !seen {
		// A new window: forget the ended ones of this SCS and length.
		for old := range s.counts {
			if old.scs == scs && old.window == window && old.start+int64(window) <= k.start {
				delete(s.counts, old)
			}
		}
	}
	if n >= limit {
		return false, n, nil
	}
	s.counts[k] = n + 1
	return true, n + 1, nil
}

// Count returns the count of a window, for tests and inspection.
func (s *MemoryQuotaStore) Count(scs string, window time.Duration, windowStart time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[quotaKey{scs, window, windowStart.UnixNano()}]
}

var _ QuotaStore = (*MemoryQuotaStore)(nil)
