package iwf

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"go.uber.org/zap"

	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/dictionaries"
)

// CorePeers sends a request to the HSS or the SMS-SC: a diam.Pool (ordered
// peers, failover, ErrNoPeer when none is open).
type CorePeers interface {
	Request(ctx context.Context, req *godiam.Message) (*godiam.Message, *diam.Conn, error)
	// Up lists the Origin-Hosts of the open peers, the one requests go to
	// first.
	Up() []string
}

// SCSConns finds the connection on which an SCS can be reached: a
// diam.Server (its own connection, or that of an agent carrying it).
type SCSConns interface {
	ConnFor(host string) *diam.Conn
}

// Config configures a Gateway.
type Config struct {
	// Identity is ours (Origin-Host/Realm of S6m, T4 and DNR requests).
	Identity diam.Identity
	// Authorizer is the policy gate of step 5 (required).
	Authorizer Authorizer
	// HSSRealm and SMSCRealm are the Destination-Realm of SIR and DTR.
	HSSRealm, SMSCRealm string
	// MaxPayloadBytes and MaxValidity are the daemon-wide ceilings
	// (INVPAYLOAD 101, INVPERIOD 104) no policy entry can raise.
	// DefaultValidity applies when the DAR has none.
	MaxPayloadBytes              int
	MaxValidity, DefaultValidity time.Duration
	// RecallReplace: the SMS-SC supports Trigger-Action RECALL/REPLACE;
	// DAAs carry Feature-Supported-In-Final-Target bit 0 (TS 29.368).
	RecallReplace bool
	// ExpiryGrace: an accepted trigger with no delivery report by
	// validity + grace is reported EXPIRED to its SCS.
	ExpiryGrace time.Duration
	// ReportRetryMin/Max bound the backoff of unacknowledged DNRs.
	ReportRetryMin, ReportRetryMax time.Duration
	// Logger gets one line per transaction (logger "iwf"); identities
	// masked.
	Logger *zap.Logger
	// Now is the clock (tests inject one).
	Now func() time.Time
	// Metrics, when set, counts requests, reports and round trips.
	Metrics *Metrics
}

// Gateway runs the MTC-IWF procedures: device trigger, replace and recall
// (trigger.go, replace.go), delivery reports and their outbox (report.go).
type Gateway struct {
	cfg   Config
	auth  Authorizer
	store Store
	hss   CorePeers
	smsc  CorePeers
	conns SCSConns
	log   *zap.Logger

	tspDict, s6mDict, t4Dict *dict.Parser

	kick chan struct{} // wakes the outbox

	hssCache *hssCache // S6m answers per UE and SCS (policy hss_cache)

	// refs serializes procedures on the same (SCS, Reference-Number), so a
	// replace or recall cannot race the trigger it acts on.
	refs keyedMutex

	Stats Stats
}

// Stats counts procedure outcomes (exported by metrics, read by tests).
type Stats struct {
	Triggers       atomic.Uint64 // device-trigger DARs (Action-Type 1) handled; not replace or recall
	Accepted       atomic.Uint64 // triggers and replacements answered SUCCESS (each opened a trigger); not recalls
	Reports        atomic.Uint64 // DNRs acknowledged by the SCS
	EgressRefusals atomic.Uint64 // Tsp messages the egress check stopped (must stay 0)
	Expired        atomic.Uint64 // triggers reported EXPIRED by the sweep
	HSSCacheHits   atomic.Uint64 // SIRs not sent: a cached HSS answer was used
	HSSCacheMisses atomic.Uint64 // SIRs sent for an SCS whose policy enables the cache
}

// New builds a Gateway. SetSCSConns must be called before Run (the Tsp
// server is built with the gateway as its handler, so it comes second).
func New(cfg Config, store Store, hss, smsc CorePeers) (*Gateway, error) {
	if store == nil || hss == nil || smsc == nil || cfg.Authorizer == nil {
		return nil, errors.New("iwf: store, hss, smsc and an authorizer are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ReportRetryMin <= 0 {
		cfg.ReportRetryMin = time.Second
	}
	if cfg.ReportRetryMax < cfg.ReportRetryMin {
		cfg.ReportRetryMax = max(cfg.ReportRetryMin, 5*time.Minute)
	}
	g := &Gateway{cfg: cfg, auth: cfg.Authorizer, store: store, hss: hss, smsc: smsc, log: cfg.Logger,
		kick: make(chan struct{}, 1), hssCache: newHSSCache()}
	var err error
	if g.tspDict, err = dictionaries.Tsp(); err != nil {
		return nil, err
	}
	if g.s6mDict, err = dictionaries.S6m(); err != nil {
		return nil, err
	}
	if g.t4Dict, err = dictionaries.T4(); err != nil {
		return nil, err
	}
	return g, nil
}

// PolicyReloaded forgets every cached HSS answer: the new policy may have
// changed an SCS's cache TTL or who it may trigger, and a cached answer
// must not outlive the policy it was cached under. The daemon calls it
// from the policy watcher.
func (g *Gateway) PolicyReloaded() { g.hssCache.purge() }

// SetSCSConns tells the gateway where to find SCS connections for DNRs.
func (g *Gateway) SetSCSConns(c SCSConns) { g.conns = c }

// TspDict, S6mDict and T4Dict are the parsers the gateway encodes with; the
// daemon's listeners and pools must use the same ones.
func (g *Gateway) TspDict() *dict.Parser { return g.tspDict }

// S6mDict is the S6m parser.
func (g *Gateway) S6mDict() *dict.Parser { return g.s6mDict }

// T4Dict is the T4 parser.
func (g *Gateway) T4Dict() *dict.Parser { return g.t4Dict }

// keyedMutex is a set of mutexes by key, created on demand and dropped when
// unused.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.m == nil {
		k.m = make(map[string]*keyedEntry)
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

// refKey names (SCS, Reference-Number) for refs and the outbox. It runs
// for every DAR, DRR and DNR, so it is built without fmt.
func refKey(scs string, ref uint32) string {
	return strings.ToLower(scs) + "/" + strconv.FormatUint(uint64(ref), 10)
}
