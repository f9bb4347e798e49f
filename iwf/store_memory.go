package iwf

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"
)

// MemoryStore is a Store held in memory, for unit tests: the same semantics
// as the bbolt store (errors, revisions, ordering, time precision) without
// the durability. Safe for concurrent use.
type MemoryStore struct {
	mu      sync.Mutex
	closed  bool
	byKey   map[string]Trigger // trigger key → the stored copy
	bySMEAk map[string]string  // SMEA key → trigger key
	quota   memQuotas          // quota counters (quota.go)
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{byKey: map[string]Trigger{}, bySMEAk: map[string]string{}}
}

// stored is the copy the store keeps: times as they come back from a record.
func stored(t *Trigger) Trigger {
	c := *t
	c.AcceptedAt = normalize(c.AcceptedAt)
	c.ExpiresAt = normalize(c.ExpiresAt)
	c.NextAttemptAt = normalize(c.NextAttemptAt)
	return c
}

// lock takes the mutex unless ctx is done or the store is closed.
func (m *MemoryStore) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	return nil
}

// Create implements Store.
func (m *MemoryStore) Create(ctx context.Context, t *Trigger) error {
	if err := validate(t); err != nil {
		return err
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	k := string(triggerKey(t.SCS, t.Reference))
	if _, ok := m.byKey[k]; ok {
		return ErrDuplicate
	}
	if t.SMEA != "" {
		if _, ok := m.bySMEAk[string(smeaKey(t.SMEA, t.Reference))]; ok {
			return ErrDuplicate
		}
		m.bySMEAk[string(smeaKey(t.SMEA, t.Reference))] = k
	}
	c := stored(t)
	c.Revision = 1
	m.byKey[k] = c
	t.Revision = 1
	return nil
}

// Get implements Store.
func (m *MemoryStore) Get(ctx context.Context, scs string, ref uint32) (*Trigger, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	c, ok := m.byKey[string(triggerKey(scs, ref))]
	if !ok {
		return nil, ErrNotFound
	}
	return &c, nil
}

// BySMEA implements Store.
func (m *MemoryStore) BySMEA(ctx context.Context, smea string, ref uint32) (*Trigger, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	if smea == "" {
		return nil, ErrNotFound
	}
	k, ok := m.bySMEAk[string(smeaKey(smea, ref))]
	if !ok {
		return nil, ErrNotFound
	}
	c := m.byKey[k]
	return &c, nil
}

// Update implements Store.
func (m *MemoryStore) Update(ctx context.Context, t *Trigger) error {
	if err := validate(t); err != nil {
		return err
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	k := string(triggerKey(t.SCS, t.Reference))
	old, ok := m.byKey[k]
	switch {
	case !ok:
		return ErrNotFound
	case old.Revision != t.Revision:
		return ErrConflict
	}
	if t.SMEA != old.SMEA {
		if t.SMEA != "" {
			if _, taken := m.bySMEAk[string(smeaKey(t.SMEA, t.Reference))]; taken {
				return ErrDuplicate
			}
			m.bySMEAk[string(smeaKey(t.SMEA, t.Reference))] = k
		}
		if old.SMEA != "" {
			delete(m.bySMEAk, string(smeaKey(old.SMEA, old.Reference)))
		}
	}
	c := stored(t)
	c.Revision = old.Revision + 1
	m.byKey[k] = c
	t.Revision = c.Revision
	return nil
}

// CloseTrigger implements Store.
func (m *MemoryStore) CloseTrigger(ctx context.Context, scs string, ref uint32) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	k := string(triggerKey(scs, ref))
	old, ok := m.byKey[k]
	if !ok {
		return ErrNotFound
	}
	if old.SMEA != "" {
		delete(m.bySMEAk, string(smeaKey(old.SMEA, old.Reference)))
	}
	delete(m.byKey, k)
	return nil
}

// Pending implements Store.
func (m *MemoryStore) Pending(ctx context.Context, now time.Time, limit int) ([]*Trigger, error) {
	return m.list(ctx, limit, func(t *Trigger) (uint64, bool) {
		at := timeBits(t.NextAttemptAt)
		return at, t.State == TriggerReported && at <= timeBits(now)
	})
}

// Expired implements Store.
func (m *MemoryStore) Expired(ctx context.Context, before time.Time, limit int) ([]*Trigger, error) {
	return m.list(ctx, limit, func(t *Trigger) (uint64, bool) {
		at := timeBits(t.ExpiresAt)
		return at, t.State == TriggerAccepted && at != 0 && at < timeBits(before)
	})
}

// list returns up to limit triggers that match, in the order of the bbolt
// store's time index: by time, then by trigger key.
func (m *MemoryStore) list(ctx context.Context, limit int, match func(*Trigger) (uint64, bool)) ([]*Trigger, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	type hit struct {
		key []byte
		t   *Trigger
	}
	var hits []hit
	for _, c := range m.byKey {
		if at, ok := match(&c); ok {
			hits = append(hits, hit{timeKey(timeFromBits(at), triggerKey(c.SCS, c.Reference)), &c})
		}
	}
	m.mu.Unlock()
	slices.SortFunc(hits, func(a, b hit) int { return bytes.Compare(a.key, b.key) })
	out := make([]*Trigger, 0, min(limit, len(hits)))
	for _, h := range hits[:min(limit, len(hits))] {
		out = append(out, h.t)
	}
	return out, nil
}

// Open implements Store.
func (m *MemoryStore) Open(ctx context.Context) (int, error) {
	if err := m.lock(ctx); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	return len(m.byKey), nil
}

// Owed counts triggers whose delivery report is owed (metrics).
func (m *MemoryStore) Owed(ctx context.Context) (int, error) {
	if err := m.lock(ctx); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	n := 0
	for _, t := range m.byKey {
		if t.State == TriggerReported {
			n++
		}
	}
	return n, nil
}

// Close empties and closes the store; later calls return ErrClosed.
func (m *MemoryStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.byKey, m.bySMEAk = nil, nil
	return nil
}

var _ Store = (*MemoryStore)(nil)
