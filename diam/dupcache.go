package diam

import (
	"encoding/binary"
	"sync"
	"time"
)

// DefaultDuplicateWindow is how long an answer is kept for duplicate
// detection. RFC 6733 5.5.4 asks that the End-to-End Identifier stay unique
// for at least 4 minutes, even across reboots; a retransmission (T flag)
// arriving inside that window is the same request.
const DefaultDuplicateWindow = 4 * time.Minute

// DefaultDuplicateCacheSize bounds the cache so a flood of requests cannot
// grow it without limit; the oldest entries are dropped first.
const DefaultDuplicateCacheSize = 100000

type dupKey struct {
	originHost string
	endToEnd   uint32
}

type dupEntry struct {
	key     dupKey
	created time.Time
	done    chan struct{} // closed when answer is set
	answer  []byte        // serialized answer; its Hop-by-Hop id is rewritten on replay
}

// dupCache remembers the answer to every request by (Origin-Host,
// End-to-End-Id) for a window, so a retransmitted request (T flag, RFC 6733
// 3 and 5.5.4) gets the first answer again instead of being executed twice.
// Bounded in count; entries expire by age. Safe for concurrent use.
type dupCache struct {
	mu      sync.Mutex
	window  time.Duration
	max     int
	now     func() time.Time
	entries map[dupKey]*dupEntry
	order   []*dupEntry // insertion order, a ring used as a FIFO
	head    int         // index of the oldest entry in order
	count   int
}

func newDupCache(window time.Duration, max int, now func() time.Time) *dupCache {
	if window <= 0 {
		window = DefaultDuplicateWindow
	}
	if max <= 0 {
		max = DefaultDuplicateCacheSize
	}
	if now == nil {
		now = time.Now
	}
	return &dupCache{window: window, max: max, now: now,
		entries: make(map[dupKey]*dupEntry), order: make([]*dupEntry, max)}
}

// begin registers a request about to be executed. If retransmitted is set
// and a live entry exists, it returns that entry and false: the caller must
// not execute the request but wait for the entry's answer. Otherwise it
// records a fresh entry (replacing any older one) and returns it and true.
func (c *dupCache) begin(originHost string, e2e uint32, retransmitted bool) (*dupEntry, bool) {
	k := dupKey{originHost, e2e}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expireLocked(now)
	if old, ok := c.entries[k]; ok {
		if retransmitted {
			return old, false
		}
		// Same key without the T flag: the peer reused an End-to-End id,
		// which RFC 6733 5.5.4 forbids within the window. Execute it (it is
		// not marked as a retransmission) and keep the newer answer.
		delete(c.entries, k)
	}
	e := &dupEntry{key: k, created: now, done: make(chan struct{})}
	if c.count == c.max {
		c.evictOldestLocked()
	}
	c.order[(c.head+c.count)%c.max] = e
	c.count++
	c.entries[k] = e
	return e, true
}

// finish stores the serialized answer of an entry and wakes any waiting
// duplicates. A nil answer (nothing was sent) is recorded as such.
func (c *dupCache) finish(e *dupEntry, answer []byte) {
	c.mu.Lock()
	e.answer = answer
	c.mu.Unlock()
	close(e.done)
}

func (c *dupCache) expireLocked(now time.Time) {
	for c.count > 0 {
		e := c.order[c.head]
		if now.Sub(e.created) < c.window {
			return
		}
		c.evictOldestLocked()
	}
}

func (c *dupCache) evictOldestLocked() {
	e := c.order[c.head]
	c.order[c.head] = nil
	c.head = (c.head + 1) % c.max
	c.count--
	if cur, ok := c.entries[e.key]; ok && cur == e {
		delete(c.entries, e.key)
	}
}

// replay returns a copy of the entry's stored answer carrying the
// Hop-by-Hop id of the retransmission (RFC 6733 6.2: the answer's
// Hop-by-Hop id is the one of the request it answers), or nil.
func (e *dupEntry) replay(hopByHop uint32) []byte {
	if len(e.answer) < frameHeaderLen {
		return nil
	}
	b := make([]byte, len(e.answer))
	copy(b, e.answer)
	binary.BigEndian.PutUint32(b[12:16], hopByHop)
	return b
}
