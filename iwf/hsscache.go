package iwf

import (
	"sync"
	"time"

	"github.com/mtciwf/mtciwf/diam/s6m"
	"github.com/mtciwf/mtciwf/diam/tsp"
)

// hssCacheMaxEntries bounds the HSS answer cache. A decoded SIA with its
// key takes about 3 KB, so a full cache stays under ~200 MB even with the
// largest answers; beyond it, expired entries go first, then arbitrary ones
// (a miss only costs one SIR).
const hssCacheMaxEntries = 65536

// hssCache keeps the HSS's answers to Subscriber-Information-Requests for a
// while, as TS 23.682 5.2.1 NOTE 2 allows: "the MTC-IWF may cache
// authorization and routing information for the UE" — so a burst of
// triggers for one device asks the HSS once. How long is the policy's per
// SCS (hss_cache.ttl, .negative_ttl); a policy reload empties it, so a
// tightened policy or TTL applies at once.
//
// What is kept is what resolve returns: the decoded SIA (IMSI, MSISDN,
// serving nodes), shared read-only by every trigger that hits it, or a
// permanent refusal (status and reason). Transient failures (3xxx/4xxx,
// timeouts, no HSS) are never cached.
type hssCache struct {
	mu sync.Mutex
	m  map[hssKey]hssEntry
	// minExpires is no later than the earliest expiry in m (the zero time
	// when unknown): before it nothing in m has expired, and a full cache
	// evicts without scanning every entry for expired ones.
	minExpires time.Time
	sweeps     int // full scans for expired entries (tests)
}

// hssKey is everything the SIR is built from that the HSS's authorization
// or routing answer can depend on: the SCS (policy entry and SCS-Identity,
// which also gives the SM-RP-SMEA), the UE (External-Identifier and/or
// MSISDN as the SCS named it) and the application port (a port may be
// provisioned per UE). Priority-Indication is left out: it asks the
// SMS-SC for priority handling and does not change who the UE is or
// where it is served.
type hssKey struct {
	scsID, scsIdentity string
	externalID, msisdn string
	port               uint32
	hasPort            bool
}

type hssEntry struct {
	sia     *s6m.SIA // nil for a refusal
	status  tsp.RequestStatus
	reason  string
	expires time.Time
}

func newHSSCache() *hssCache { return &hssCache{m: make(map[hssKey]hssEntry)} }

func hssKeyFor(scsID, scsIdentity string, da *tsp.DeviceAction) hssKey {
	k := hssKey{scsID: scsID, scsIdentity: scsIdentity, externalID: da.ExternalIdentifier, msisdn: da.MSISDN}
	if td := da.TriggerData; td != nil && td.ApplicationPortIdentifier != nil {
		k.port, k.hasPort = *td.ApplicationPortIdentifier, true
	}
	return k
}

// get returns the live entry for k.
func (c *hssCache) get(k hssKey, now time.Time) (hssEntry, bool) {
	c.mu.Lock()
	e, ok := c.m[k]
	if ok && !now.Before(e.expires) {
		delete(c.m, k)
		ok = false
	}
	c.mu.Unlock()
	return e, ok
}

// put keeps e for k until e.expires.
func (c *hssCache) put(k hssKey, e hssEntry, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= hssCacheMaxEntries {
		// Scanning all entries under the lock on every miss of a full cache
		// of live answers held every trigger up for the whole map: scan
		// only when something may have expired.
		if !now.Before(c.minExpires) {
			c.sweeps++
			var earliest time.Time
			for key, old := range c.m {
				switch {
				case !now.Before(old.expires):
					delete(c.m, key)
				case earliest.IsZero() || old.expires.Before(earliest):
					earliest = old.expires
				}
			}
			c.minExpires = earliest
		}
		for key := range c.m {
			if len(c.m) < hssCacheMaxEntries {
				break
			}
			delete(c.m, key) // map order: an arbitrary victim
		}
	}
	c.m[k] = e
	if e.expires.Before(c.minExpires) {
		c.minExpires = e.expires
	}
}

// purge forgets everything (policy reload).
func (c *hssCache) purge() {
	c.mu.Lock()
	clear(c.m)
	c.minExpires = time.Time{}
	c.mu.Unlock()
}

func (c *hssCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
